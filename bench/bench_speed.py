"""The main job's time, side by side with an earlier commit in one run, and each check's time next to its floor.

    .venv/bin/python bench/bench_speed.py [--baseline 9a7e0c7] [--runs 1]

For each run, one after another on this machine: the baseline commit's main command (`pytest --lb=keepalived`,
both modes, serial; from a `git worktree` of that commit, its own code imported through PYTHONPATH), this
checkout's main command serial, and with `-n 2 --dist worksteal` (two labs, one per xdist worker). Prints
the wall times and their ratios, then per check of this checkout's serial run its time next to its floor:

- failover: the baseline before the fault + the takeover (first answer through the new owner) + the probes the
  degradation bound needs (``settle.degradation_probes``) + the undo as it took + the failback (first answer
  through the final owner after the undo) + the run of answers the failback wait asks for, all as measured in
  that check's own timeline;
- ARP checks: the who-has rounds of the ARP burst they share (rounds × window), for the check that made it;
- everything else: its time (connection bursts of well under a second; no floor stated); the lab's set-up and
  teardown (fixture phases over 0.2 s, from pytest's ``--durations=0``) are listed after the checks.

Writes ``reports/bench-speed.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_lbconform import settle  # noqa: E402
from pytest_lbconform.environment import ARP_ROUNDS, ARP_WINDOW  # noqa: E402

BASELINE = "9a7e0c7"  #: the commit issue 24 measured (144–148 s)


def worktree(commit: str) -> Path:
    """A checkout of ``commit`` beside this one (kept between benches: ``git worktree remove`` it by hand)."""
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", commit], capture_output=True, text=True,
                         check=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"lbconform-bench-{sha}"
    if not (path / "pytest_lbconform").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), sha], check=True,
                       capture_output=True)
    return path


def phases(output: str) -> list[dict[str, object]]:
    """The set-up and teardown phases pytest's ``--durations=0`` printed (the lab's set-up is a fixture's)."""
    rows = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].endswith("s") and parts[1] in ("setup", "teardown"):
            with contextlib.suppress(ValueError):
                if float(parts[0][:-1]) >= 0.2:
                    rows.append({"phase": parts[1], "test": parts[2].split("::")[-1], "time_s": float(parts[0][:-1])})
    return rows


#: what this checkout's runs add to judge what the baseline judges (it predates IPv6)
SAME_WORK = ("--address-families=4",)


def run_job(tree: Path, *extra: str,
            evidence: Callable[[Path], dict[str, object]] | None = None) -> dict[str, object]:
    """The main command from ``tree`` (its own package first on the path); wall time and the report, plus what
    ``evidence`` reads from the run's report directory before it is removed."""
    with tempfile.TemporaryDirectory(prefix="lbc-speed-") as tmp:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lb=keepalived",
                               "--durations=0", f"--report-dir={tmp}", *extra], cwd=tree, capture_output=True,
                              text=True, check=False, env={**os.environ, "PYTHONPATH": str(tree)})
        wall = time.perf_counter() - start
        path = Path(tmp) / "conformance.json"
        report = json.loads(path.read_text()) if path.exists() else {"profiles": []}
        read = evidence(Path(tmp)) if evidence else {}
    checks = [c for p in report["profiles"] for c in p["checks"]]
    return {**read, "args": list(extra), "exit": proc.returncode, "wall_s": round(wall, 1),
            "passed": sum(c["outcome"] == "passed" for c in checks),
            "failed": [c["id"] for c in checks if c["outcome"] in ("failed", "inconclusive")],
            "failures": [failure(c) for c in checks if c["outcome"] in ("failed", "inconclusive")],
            "tail": proc.stdout.strip().splitlines()[-1:], "checks": checks, "phases": phases(proc.stdout)}


def failure(check: dict) -> dict[str, object]:
    """What a failed or inconclusive check said (kept in the JSON: a false failure must be explainable afterwards)."""
    return {"id": check["id"], "outcome": check["outcome"], "message": check.get("message"),
            "verdicts": [{k: v.get(k) for k in ("check", "expected", "measured", "category", "figures")}
                         for v in check.get("verdicts", []) if not v.get("passed")],
            "timeline": check.get("timeline")}


def failover_floor(check: dict) -> dict[str, float] | None:
    """The parts of a failover check's floor (seconds), from its own timeline and verdict figures."""
    tl = check.get("timeline") or {}
    need = ("first_via_new_ms", "undo_ms", "undone_ms", "first_via_final_ms", "resolution_ms")
    if any(tl.get(k) is None for k in need):
        return None
    expected = next((v["figures"].get("expected_failed_share") for v in check["verdicts"]
                     if v["check"] == "failover-degradation"), 0.0) or 0.0
    interval = tl["resolution_ms"] / 1000
    return {"baseline": settle.BASELINE_PROBES * interval, "takeover": tl["first_via_new_ms"] / 1000,
            "degradation probes": settle.degradation_probes(float(expected)) * interval,
            "undo": (tl["undone_ms"] - tl["undo_ms"]) / 1000,
            "failback": (tl["first_via_final_ms"] - tl["undone_ms"]) / 1000,
            "failback run": settle.FAILBACK_RUN * interval}


def floors(checks: list[dict]) -> list[dict[str, object]]:
    rows = []
    burst_charged: set[str] = set()
    for chk in checks:
        if chk["outcome"] != "passed":
            continue
        name = chk["id"].split("::")[-1]
        parts = failover_floor(chk) if "test_failover" in chk["id"] else None
        mode = name.split("[", 1)[1].rstrip("]").split("-")[1] if "[" in name else ""
        if parts is None and "test_arp_ownership" in chk["id"] and "reannouncement" not in name \
                and mode not in burst_charged:
            burst_charged.add(mode)  # the first ARP check of a mode asks the wire; the others reuse its burst
            parts = {"ARP burst": ARP_ROUNDS * ARP_WINDOW}
        floor = round(sum(parts.values()), 2) if parts else None
        rows.append({"check": name, "time_s": chk["duration_s"], "floor_s": floor,
                     "ratio": round(chk["duration_s"] / floor, 2) if floor else None,
                     "parts": {k: round(v, 3) for k, v in (parts or {}).items()}})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help=f"the commit to compare with (default {BASELINE})")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    old = worktree(args.baseline)
    runs = []
    for i in range(1, args.runs + 1):
        # like with like: the baseline judges IPv4 only, so this checkout's runs do too (the main command's
        # dual-stack default judges twice the checks; README "Speed" gives that figure apart)
        row = {"run": i, "baseline": run_job(old), "serial": run_job(ROOT, *SAME_WORK),
               "xdist": run_job(ROOT, *SAME_WORK, "-n", "2", "--dist", "worksteal")}
        for key in ("baseline", "serial", "xdist"):
            print(f"run {i}: {key}: {row[key]['wall_s']} s, exit {row[key]['exit']}, {row[key]['tail']}", flush=True)
        row["serial_ratio"] = round(row["serial"]["wall_s"] / row["baseline"]["wall_s"], 3)
        row["xdist_ratio"] = round(row["xdist"]["wall_s"] / row["baseline"]["wall_s"], 3)
        print(f"run {i}: serial {row['serial_ratio']}×, -n 2 {row['xdist_ratio']}× of {args.baseline}", flush=True)
        runs.append(row)
    last = floors(runs[-1]["serial"]["checks"])
    print(f"\n{'check':<78} {'time s':>7} {'floor s':>8} {'×':>5}")
    for row in last:
        print(f"{row['check']:<78} {row['time_s']:>7.2f} {row['floor_s'] if row['floor_s'] is not None else '—':>8} "
              f"{row['ratio'] if row['ratio'] is not None else '':>5}")
    for row in runs[-1]["serial"]["phases"]:
        print(f"{row['phase'] + ' of ' + row['test']:<78} {row['time_s']:>7.2f} {'—':>8}")
    for run in runs:
        for key in ("baseline", "serial", "xdist"):
            run[key].pop("checks")
    out = ROOT / "reports" / "bench-speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"baseline": args.baseline, "cores": os.cpu_count(), "runs": runs,
                               "checks": last}, indent=1) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
