"""Concurrent runs on one engine, measured side by side in one bench run.

    .venv/bin/python bench/bench_concurrency.py

Three ways of running the README's main command (`pytest --lb=keepalived`, both modes), one after another:
``alone`` (the baseline), ``two-at-once`` (two independent runs started together, each with its own lab
and report directory) and ``xdist`` (`-n 2`: one lab per worker). For each: wall time, its ratio to the
baseline, and false failures (every failed or inconclusive check of the healthy reference; every run must
also leave nothing labelled behind). Writes ``reports/bench-concurrency.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
from bench_false_failures import judge_report  # the same judgement of a healthy run

ROOT = Path(__file__).resolve().parent.parent
MAIN = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lb=keepalived"]


def start(extra: list[str], report_dir: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*MAIN, *extra, f"--report-dir={report_dir}"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def judge(proc: subprocess.Popen[str], report_dir: str) -> dict[str, object]:
    out, _ = proc.communicate()
    path = Path(report_dir) / "conformance.json"
    report = json.loads(path.read_text()) if path.exists() else {"profiles": []}
    checks, bad = judge_report(report, proc.returncode or 0, out)
    return {"exit": proc.returncode, "checks": len(checks), "passed": sum(c["outcome"] == "passed" for c in checks),
            "false_failures": bad}


def scenario(name: str, runs: list[list[str]]) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="lbc-conc-") as tmp:
        dirs = [f"{tmp}/r{i}" for i in range(len(runs))]
        t0 = time.perf_counter()
        procs = [start(extra, d) for extra, d in zip(runs, dirs, strict=True)]
        results = [judge(p, d) for p, d in zip(procs, dirs, strict=True)]
        wall = time.perf_counter() - t0
    left = docker.from_env().containers.list(all=True, filters={"label": "io.lbconform.run"})
    result = {"scenario": name, "wall_s": round(wall, 1), "runs": results,
              "false_failures": sum(len(r["false_failures"]) for r in results),  # type: ignore[arg-type]
              "left_behind": [c.name for c in left]}
    print(f"{name}: {result['wall_s']} s, {result['false_failures']} false failures, "
          f"{len(result['left_behind'])} objects left", flush=True)
    return result


def main() -> int:
    rows = [scenario("alone", [[]]), scenario("two-at-once", [[], []]), scenario("xdist", [["-n", "2"]])]
    base = float(rows[0]["wall_s"])  # type: ignore[arg-type]
    for row in rows:
        row["ratio_to_alone"] = round(float(row["wall_s"]) / base, 2)  # type: ignore[arg-type]
    out = ROOT / "reports" / "bench-concurrency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    for row in rows:
        print(f"{row['scenario']:12} {row['wall_s']:>7} s  ×{row['ratio_to_alone']}  false failures "
              f"{row['false_failures']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
