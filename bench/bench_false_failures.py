"""False-failure rate of the suite on the healthy reference LB: the main job repeated N times.

    .venv/bin/python bench/bench_false_failures.py [--runs 20]

Each run is the README's main command (`pytest --lb=keepalived`, both modes) in a child process.
Every failed or errored check on the healthy reference is a false failure. Writes
``reports/bench-false-failures.json`` with the per-run counts, wall times and failing check ids.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(index: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lbc-ff-") as tmp:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lb=keepalived",
                               f"--report-dir={tmp}"], cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        report_path = Path(tmp) / "conformance.json"
        report = json.loads(report_path.read_text()) if report_path.exists() else {"profiles": []}
    checks = [c for p in report["profiles"] for c in p["checks"]]
    bad = [f"{c['id']}: {c['message']}" for c in checks if c["outcome"] in ("failed", "error")]
    passed = sum(c["outcome"] == "passed" for c in checks)
    return {"run": index, "exit": proc.returncode, "checks": len(checks), "passed": passed,
            "false_failures": bad, "wall_s": round(wall, 1),
            "tail": proc.stdout.strip().splitlines()[-1:] if proc.stdout else proc.stderr[-300:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    runs = []
    for i in range(1, args.runs + 1):
        result = one_run(i)
        runs.append(result)
        print(f"run {i}/{args.runs}: {result['passed']}/{result['checks']} passed, "
              f"{len(result['false_failures'])} false failures, {result['wall_s']} s", flush=True)
        for failure in result["false_failures"]:  # type: ignore[attr-defined]
            print(f"   {failure}", flush=True)
    total = sum(len(r["false_failures"]) for r in runs)  # type: ignore[arg-type]
    summary = {"runs": len(runs), "checks_per_run": runs[0]["checks"] if runs else 0, "false_failures": total,
               "runs_with_a_false_failure": sum(bool(r["false_failures"]) for r in runs),
               "wall_s_mean": round(sum(r["wall_s"] for r in runs) / len(runs), 1) if runs else 0,  # type: ignore[misc]
               "detail": runs}
    out = ROOT / "reports" / "bench-false-failures.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{total} false failures in {len(runs)} healthy runs ({summary['checks_per_run']} checks each); written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
