"""The availability probe on a busy machine: the failover checks side by side with a baseline commit, under CPU load.

    .venv/bin/python bench/probe_starvation.py --baseline 7c9c261 [--load 2] [--runs 3]

For each run, one after the other with ``--load`` busy loops beside the whole bench: the baseline commit's failover
checks (IPv4, random mode: ``-k test_failover``; from a ``git worktree``, its own code through PYTHONPATH) and this
checkout's. Per side it counts, from each check's probes (the ``*_samples.csv`` evidence) and verdicts:

- the probes and the failed ones by kind (a timeout: no answer within the probe timeout, 200 ms);
- **late answers**: answered probes whose latency exceeded the timeout. Since 8f59b57 a probe thread that the machine
  schedules only after its deadline first reads what arrived; each late answer would have been a TimeoutError
  before (the baseline, if older, has none: they are among its timeouts);
- the failover-degradation verdicts and the probes that failed after the takeover (what that verdict judges).

Writes ``reports/bench-probe-starvation-load<N>.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

from bench_false_failures import cpu_load  # noqa: E402
from bench_speed import run_job, worktree  # noqa: E402

TIMEOUT_MS = 200.0  #: the failover checks' probe timeout (suites/test_failover.py PROBE_TIMEOUT)


def probes(report_dir: Path) -> dict[str, Any]:
    """Every failover probe of a run's evidence: counted, failed by kind, answered later than the timeout."""
    total, late, failed = 0, 0, Counter[str]()
    for path in report_dir.glob("evidence/test_failover_*/*_samples.csv"):
        with path.open() as fh:
            for row in csv.DictReader(fh):
                total += 1
                if row["ok"] == "1":
                    late += float(row["latency_ms"] or 0) > TIMEOUT_MS
                else:
                    failed[(row["error"] or "unknown").split(":", 1)[0]] += 1
    return {"probes": total, "late_answers": late, "failed_by_kind": dict(failed)}


def degradation(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """The failover-degradation verdicts of a run: how many, which failed, the probes failed after each takeover."""
    verdicts = [(c["id"], v) for c in checks for v in c["verdicts"] if v["check"] == "failover-degradation"]
    return {"verdicts": len(verdicts), "failed": [f"{cid}: {v['measured']}" for cid, v in verdicts if not v["passed"]],
            "failed_after_takeover": sum(int(v.get("figures", {}).get("failed_after_takeover") or 0)
                                         for _, v in verdicts)}


def run_side(tree: Path) -> dict[str, Any]:
    """The failover checks from ``tree`` (its own package first on the path), judged as above."""
    job: dict[str, Any] = run_job(tree, "--proxy-mode=random", "--address-families=4", "-k", "test_failover",
                                  evidence=probes)
    return {"exit": job["exit"], "wall_s": job["wall_s"], "tail": job["tail"], "probes": job["probes"],
            "late_answers": job["late_answers"], "failed_by_kind": job["failed_by_kind"],
            "degradation": degradation(job["checks"])}


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    rows = ["| side | run | probes | failed (by kind) | late answers | degradation verdicts failed | probes failed "
            "after the takeover |", "|---|---|---|---|---|---|---|"]
    for side, runs in results.items():
        for i, r in enumerate(runs, 1):
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(r["failed_by_kind"].items())) or "0"
            rows.append(f"| {side} | {i} | {r['probes']} | {sum(r['failed_by_kind'].values())} ({kinds}) | "
                        f"{r['late_answers']} | {len(r['degradation']['failed'])} of {r['degradation']['verdicts']} | "
                        f"{r['degradation']['failed_after_takeover']} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with (e.g. the one before a change)")
    parser.add_argument("--load", type=int, default=2, help="busy-looping processes beside the bench (default 2)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sides = {f"baseline {args.baseline}": worktree(args.baseline), "this checkout": ROOT}
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    with cpu_load(args.load):
        for run in range(1, args.runs + 1):
            for side, tree in sides.items():
                print(f"run {run}/{args.runs}: {side} ({tree})", file=sys.stderr, flush=True)
                results[side].append(run_side(tree))
    out = ROOT / "reports" / f"bench-probe-starvation-load{args.load}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"load": args.load, "runs": args.runs, "results": results}, indent=1) + "\n")
    print(table(results))
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
