"""``categories.json`` and ``environment.properties`` in the allure results directory.

Verdict messages start with ``[category]`` (``Verdict.message``); the categories come from the
check registry (``checks.CATEGORIES``), so a new failure class needs no change here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..checks import CATEGORIES, INFRASTRUCTURE
from . import files


def categories() -> list[dict[str, object]]:
    """Allure 2 categories: one per registry failure class, plus infrastructure (inconclusive)."""
    rows: list[dict[str, object]] = [
        {"name": c.name, "description": c.meaning, "matchedStatuses": ["failed"],
         "messageRegex": rf".*\[{re.escape(c.name)}\].*"} for c in CATEGORIES.values()]
    rows.append({"name": INFRASTRUCTURE, "matchedStatuses": ["broken", "failed"],
                 "messageRegex": ".*(InfrastructureError|cannot set up|not reached within|did not start).*"})
    return rows


def write(results_dir: Path, environment: dict[str, str]) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    files.replace_text(results_dir / "categories.json", json.dumps(categories(), indent=1, ensure_ascii=False) + "\n")
    lines = [f"{key}={value}" for key, value in environment.items()]
    files.replace_text(results_dir / "environment.properties", "\n".join(lines) + "\n")
