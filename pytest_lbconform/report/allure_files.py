"""``categories.json`` and ``environment.properties`` in the allure results directory.

Verdict messages start with ``[category]`` (``Verdict.message``), which the categories match.
"""

from __future__ import annotations

import json
from pathlib import Path

CATEGORIES = ("multiple ARP owners", "no ARP owner", "ARP owner is not a node", "owner report mismatch",
              "GARP missing", "GARP from wrong MAC", "failover over budget", "SNAT mismatch", "balancing skew",
              "affinity broken")


def write(results_dir: Path, environment: dict[str, str]) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    categories = [{"name": name, "matchedStatuses": ["failed"], "messageRegex": rf".*\[{name}\].*"}
                  for name in CATEGORIES]
    categories.append({"name": "infrastructure (not a verdict on the LB)", "matchedStatuses": ["broken", "failed"],
                       "messageRegex": ".*(InfrastructureError|cannot set up|not reached within).*"})
    (results_dir / "categories.json").write_text(json.dumps(categories, indent=1) + "\n")
    lines = [f"{key}={value}" for key, value in environment.items()]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n")
