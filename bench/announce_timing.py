"""IPv6 next to IPv4 on the same run: when the new owner's first unsolicited NA and first gratuitous ARP were seen after
each fault, when the client's neighbour entry flipped, and the outage — from one ``conformance.json``.

    .venv/bin/python bench/announce_timing.py reports/        # after a dual-stack run (the lab's default)

Prints a Markdown table, one row per failover check (mode, fault, service) that ran in both families, and the
medians; every figure comes from the check's recorded timeline (ms after the fault). Nothing is run here: the figures
are the run's own, so IPv4 and IPv6 were measured on the same lab, the same services and the same machine load.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

FIGURES = (("garp_from_new_owner_ms", "announced"), ("neighbour_to_new_owner_ms", "neighbour entry"),
           ("outage_ms", "outage"))
ID = re.compile(r"test_failover\[(?P<platform>[^-]+)-(?P<mode>[^-]+)-v(?P<family>[46])-(?P<fault>.+)-(?P<svc>svc\d)\]$")


def rows(report: dict[str, Any]) -> dict[tuple[str, str, str], dict[int, dict[str, Any]]]:
    """(mode, fault, service) → family → the failover timeline of that check."""
    found: dict[tuple[str, str, str], dict[int, dict[str, Any]]] = {}
    for profile in report["profiles"]:
        for check in profile["checks"]:
            match = ID.search(check["id"])
            if match and check.get("timeline"):
                key = (match["mode"], match["fault"], match["svc"])
                found.setdefault(key, {})[int(match["family"])] = check["timeline"]
    return found


def table(report: dict[str, Any]) -> str:
    """The Markdown table (and medians) of the checks that ran in both families."""
    pairs = {k: v for k, v in sorted(rows(report).items()) if set(v) == {4, 6}}
    head = "| mode | fault | service | " + " | ".join(f"{name} v4 / v6 (ms)" for _, name in FIGURES) + " |"
    lines = [head, "|" + "---|" * (3 + len(FIGURES))]
    for (mode, fault, svc), by in pairs.items():
        cells = [f"{_ms(by[4].get(key))} / {_ms(by[6].get(key))}" for key, _ in FIGURES]
        lines.append(f"| {mode} | {fault} | {svc} | " + " | ".join(cells) + " |")
    medians = []
    for key, name in FIGURES:
        v4 = [by[4][key] for by in pairs.values() if by[4].get(key) is not None]
        v6 = [by[6][key] for by in pairs.values() if by[6].get(key) is not None]
        if v4 and v6:
            medians.append(f"{name}: median {statistics.median(v4):.0f} ms (IPv4, n={len(v4)}) vs "
                           f"{statistics.median(v6):.0f} ms (IPv6, n={len(v6)})")
    return "\n".join(lines) + "\n\n" + ("\n".join(medians) if medians else "no check ran in both families") + "\n"


def _ms(value: object) -> str:
    return "–" if value is None else f"{float(value):.0f}"  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: announce_timing.py REPORT_DIR (the --report-dir of a dual-stack run)", file=sys.stderr)
        return 2
    path = Path(argv[1]) / "conformance.json"
    if not path.is_file():
        print(f"announce_timing: {path} does not exist; run the suites first (pytest --lb=keepalived)", file=sys.stderr)
        return 2
    sys.stdout.write(table(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
