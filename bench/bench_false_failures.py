"""False-failure rate on the healthy reference LB, idle or with the machine busy.

    .venv/bin/python bench/bench_false_failures.py [--runs 20] [--load 1] [--suite main|mutants] [--xdist]

``--suite main`` (default): the README's main command (`pytest --lb=keepalived`, both modes) in a
child process per run; every failed or inconclusive check on the healthy reference is a false
failure. It also collects, per traffic check, the connections that failed in healthy runs: the
figure the registry's error bound (``checks.STEADY``) rests on.
``--suite mutants``: `pytest tests/test_mutants.py` per run (every mutant caught by its target and
nothing unexpected, the healthy reference clean in 2 runs); every failing test is a false failure.
``--load N``: N busy-looping processes (one core each) for the whole bench. ``--xdist``: the main command as
``-n 2 --dist worksteal`` (two labs side by side).

Writes ``reports/bench-false-failures-<suite>[-xdist]-<idle|loadN>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOG = "while True: pass"
MUTANTS_HEALTHY_REPEATS = 2  #: healthy whole-suite runs per --suite mutants run (`pytest tests` runs 1)


@contextmanager
def cpu_load(processes: int):
    """``processes`` busy loops, each pinned to nothing in particular, for the duration of the block."""
    hogs = [subprocess.Popen([sys.executable, "-c", HOG]) for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def connection_failures(report: dict) -> list[dict[str, object]]:
    rows = []
    for profile in report["profiles"]:
        for chk in profile["checks"]:
            for verdict in chk["verdicts"]:
                figures = verdict.get("figures", {})
                if "connections" in figures:
                    rows.append({"id": chk["id"], "check": verdict["check"], "failed": figures["failed"],
                                 "connections": figures["connections"], "by_kind": figures.get("failed_by_kind", {})})
                for client, f in (figures.get("failures_by_client") or {}).items():
                    rows.append({"id": f"{chk['id']}:{client}", "check": verdict["check"], "failed": f["failed"],
                                 "connections": f["connections"], "by_kind": f.get("failed_by_kind", {})})
    return rows


def judge_report(report: dict, returncode: int, output: str) -> tuple[list[dict], list[str]]:
    """The checks of a healthy run's report and its false failures: every failed or inconclusive check,
    and a run that ended otherwise than passed/failed or judged nothing."""
    checks = [c for p in report["profiles"] for c in p["checks"]]
    bad = [f"{c['id']}: {c['message']}" for c in checks if c["outcome"] in ("failed", "inconclusive")]
    if returncode not in (0, 1) or not checks:
        bad.append(f"run ended with exit {returncode}: {output.strip()[-300:]}")
    return checks, bad


def main_run(index: int, extra: tuple[str, ...] = ()) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lbc-ff-") as tmp:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lb=keepalived",
                               f"--report-dir={tmp}", *extra], cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        report_path = Path(tmp) / "conformance.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else {"profiles": []}
    checks, bad = judge_report(report, proc.returncode, proc.stdout + proc.stderr)
    return {"run": index, "args": list(extra), "exit": proc.returncode, "checks": len(checks),
            "passed": sum(c["outcome"] == "passed" for c in checks), "false_failures": bad, "wall_s": round(wall, 1),
            "failure_output": _failure_sections(proc.stdout.strip().splitlines()) if bad else [],
            "connection_failures": [r for r in connection_failures(report) if r["failed"]],
            "connections_judged": sum(int(r["connections"]) for r in connection_failures(report))}


def mutants_run(index: int) -> dict[str, object]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf",
                           "tests/test_mutants.py"], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "LBCONFORM_HEALTHY_REPEATS": str(MUTANTS_HEALTHY_REPEATS)})
    wall = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    bad = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    if proc.returncode != 0 and not bad:
        bad.append(f"exit {proc.returncode}: {lines[-1:] or proc.stderr[-300:]}")
    return {"run": index, "exit": proc.returncode, "false_failures": bad, "wall_s": round(wall, 1),
            "tail": lines[-1:], "failure_output": _failure_sections(lines) if bad else []}


def _failure_sections(lines: list[str], keep: int = 80) -> list[str]:
    """The last ``keep`` lines of each failure section pytest printed (its ``___ test ___`` headers), so a
    false failure can be explained from the bench's JSON alone."""
    starts = [i for i, line in enumerate(lines) if line.startswith("_") and line.rstrip().endswith("_")
              and " test" in line]
    ends = [*starts[1:], len(lines)]
    return [line for a, b in zip(starts, ends, strict=True) for line in lines[a:b][-keep:]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes for the whole bench")
    parser.add_argument("--suite", choices=("main", "mutants"), default="main")
    parser.add_argument("--xdist", action="store_true",
                        help="main: run it as README's faster command (-n 2 --dist worksteal: two labs side by side)")
    args = parser.parse_args()
    xdist = ("-n", "2", "--dist", "worksteal") if args.xdist else ()
    one = (lambda i: main_run(i, xdist)) if args.suite == "main" else mutants_run
    runs = []
    with cpu_load(args.load):
        for i in range(1, args.runs + 1):
            result = one(i)
            runs.append(result)
            print(f"run {i}/{args.runs} (load {args.load}): {len(result['false_failures'])} false failures, "  # type: ignore[arg-type]
                  f"{result['wall_s']} s", flush=True)
            for failure in result["false_failures"]:  # type: ignore[attr-defined]
                print(f"   {failure}", flush=True)
    total = sum(len(r["false_failures"]) for r in runs)  # type: ignore[arg-type]
    summary: dict[str, object] = {
        "suite": args.suite, "runs": len(runs), "load_processes": args.load, "cores": os.cpu_count(),
        "false_failures": total, "runs_with_a_false_failure": sum(bool(r["false_failures"]) for r in runs),
        "wall_s_mean": round(sum(r["wall_s"] for r in runs) / len(runs), 1) if runs else 0,  # type: ignore[misc]
        "detail": runs}
    if args.suite == "main":
        failures = [f for r in runs for f in r["connection_failures"]]  # type: ignore[attr-defined]
        summary["healthy_connection_failures"] = {
            "connections_judged": sum(r["connections_judged"] for r in runs),  # type: ignore[misc]
            "failed": sum(f["failed"] for f in failures),
            "worst_share": max((f["failed"] / f["connections"] for f in failures), default=0.0)}
    name = f"{args.suite}{'-xdist' if args.xdist else ''}-{'load' + str(args.load) if args.load else 'idle'}"
    out = ROOT / "reports" / f"bench-false-failures-{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{total} false failures in {len(runs)} runs ({args.suite}, load {args.load}); written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
