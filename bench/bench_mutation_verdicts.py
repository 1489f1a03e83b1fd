"""Code-level mutation testing of the pure verdicts (``pytest_lbconform/verdicts/``) with mutmut.

    .venv/bin/python bench/bench_mutation_verdicts.py [--max-children 2]

Runs ``mutmut run`` from scratch (configuration: ``[tool.mutmut]`` in pyproject.toml: only
``verdicts/`` is mutated, only the verdict unit and property tests run), then prints the score by
module and every survivor with its diff, classed as *string-only* (the mutant changes nothing but a
string literal, e.g. a word of a message no test pins) or *logic* (a comparison, a boundary, a
boolean, an argument: these must be killed, or be explained as equivalent in a test file). Writes
``reports/mutation-verdicts.json``. Takes a few minutes on two cores: not in the per-commit CI path.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          37: "caught by type check", None: "not checked"}
STRING = re.compile(r"""(?:[rbfu]{0,2})("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def mutmut(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutmut", *args], cwd=ROOT, capture_output=True, text=True,
                          check=check)


def diff_of(name: str) -> str:
    return mutmut("show", name, check=False).stdout


def string_only(diff: str) -> bool:
    """The mutant changed only string literals (removed and added lines equal once strings are blanked)."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    if not removed or len(removed) != len(added):
        return False
    blank = [STRING.sub('""', line).strip() for line in removed] == [STRING.sub('""', line).strip() for line in added]
    return blank and removed != added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args()
    shutil.rmtree(MUTANTS, ignore_errors=True)
    start = time.perf_counter()
    run = mutmut("run", "--max-children", str(args.max_children), check=False)
    wall = time.perf_counter() - start
    metas = sorted((MUTANTS / "pytest_lbconform" / "verdicts").glob("*.py.meta"))
    if not metas:
        print(run.stdout[-2000:], run.stderr[-2000:])
        print("mutmut produced no results (see above)")
        return 1
    modules: dict[str, dict[str, object]] = {}
    survivors = []
    for meta in metas:
        module = meta.name.removesuffix(".py.meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        statuses = Counter(STATUS.get(code, "suspicious") for code in codes.values())
        names = [name for name, code in sorted(codes.items()) if STATUS.get(code) == "survived"]
        with ThreadPoolExecutor(max_workers=4) as pool:  # `mutmut show` is slow to start: run several at once
            for name, diff in zip(names, pool.map(diff_of, names), strict=True):
                survivors.append({"module": module, "mutant": name, "kind": "string-only" if string_only(diff) else "logic",
                                  "diff": diff.strip()})
        judged = statuses["killed"] + statuses["survived"] + statuses["timeout"]
        modules[module] = {**statuses, "total": len(codes),
                           "score": round((statuses["killed"] + statuses["timeout"]) / judged, 3) if judged else None}
    total = Counter()
    for row in modules.values():
        total.update({k: v for k, v in row.items() if isinstance(v, int) and k != "total"})
    logic = [s for s in survivors if s["kind"] == "logic"]
    summary = {"wall_s": round(wall, 1), "modules": modules, "killed": total["killed"], "survived": total["survived"],
               "logic_survivors": len(logic), "string_only_survivors": len(survivors) - len(logic),
               "survivors": survivors}
    out = ROOT / "reports" / "mutation-verdicts.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    print(f"{'module':<14} {'mutants':>8} {'killed':>7} {'survived':>9} {'score':>6}")
    for module, row in modules.items():
        print(f"{module:<14} {row['total']:>8} {row.get('killed', 0):>7} {row.get('survived', 0):>9} {row['score']!s:>6}")
    print(f"survivors: {len(logic)} logic, {len(survivors) - len(logic)} string-only; {wall:.0f} s; written {out}")
    for s in logic:
        print(f"\n--- {s['mutant']} (logic)\n{s['diff']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
