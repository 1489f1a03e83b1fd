"""What Allure needs beside the results: categories, environment, executor, history, and the Allure 3
config file.

Verdict messages start with ``[category]`` (``Verdict.message``); the categories come from the
check registry (``checks.CATEGORIES``), so a new failure class needs no change here. Allure 2 reads
``categories.json`` and ``executor.json`` from the results directory and its history from
``allure-results/history/`` (copied here from the last Allure 2 report in the report directory);
Allure 3 ignores ``categories.json`` and reads its categories, grouping, report name and history file
from ``allurerc.json``, written into the report directory so that ``npx allure generate`` run there
finds it (the Allure 3 CLI looks for its config in the working directory).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

from ..checks import CATEGORIES, INFRASTRUCTURE
from . import files

ALLURE3_CONFIG = "allurerc.json"
ALLURE3_REPORT = "allure-report"  #: Allure 3's single-file HTML: <report dir>/allure-report/index.html
ALLURE3_HISTORY = "allure-history.jsonl"
ALLURE2_REPORT = "allure2-report"  #: where the README's Allure 2 command writes; its history/ is carried over
GROUP_BY = ("epic", "feature", "story")  #: LB → check family → check, as the labels are set
#: labels allure-pytest adds that say nothing about the LB (the same on every result of a run)
HIDDEN_LABELS = ("thread", "framework", "language")
ANY = r"[\s\S]*"  #: any text across lines, the same in Java (Allure 2 matches whole messages) and JavaScript


def categories() -> list[dict[str, object]]:
    """Allure 2 categories: one per registry failure class, plus infrastructure (inconclusive)."""
    rows: list[dict[str, object]] = [
        {"name": c.name, "description": c.meaning, "matchedStatuses": ["failed"],
         "messageRegex": rf"{ANY}\[{_escape(c.name)}\]{ANY}"} for c in CATEGORIES.values()]
    rows.append({"name": INFRASTRUCTURE, "matchedStatuses": ["broken", "failed"],
                 "messageRegex": f"{ANY}(InfrastructureError|cannot set up|not reached within|did not start){ANY}"})
    return rows


def _escape(text: str) -> str:
    """Escape regex metacharacters only: ``re.escape`` also escapes spaces, which a JavaScript regex
    with the ``u`` flag refuses."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def allure3_config(report_name: str, results_dir: str) -> dict[str, object]:
    """Allure 3's config: the same categories as Allure 2 (Allure 3 reads them only from here), the
    behaviour tree (epic/feature/story), one self-contained HTML file, history kept beside it."""
    rules = [{"name": c["name"], "matchedStatuses": c["matchedStatuses"], "messageRegex": c["messageRegex"]}
             for c in categories()]
    return {
        "name": report_name,
        "resultsDir": results_dir,
        "output": ALLURE3_REPORT,
        "historyPath": ALLURE3_HISTORY,
        "hideLabels": list(HIDDEN_LABELS),
        "categories": {"rules": rules},
        "plugins": {"awesome": {"options": {"reportName": report_name, "singleFile": True,
                                            "groupBy": list(GROUP_BY)}}},
    }


def executor(report_name: str, run_id: str, build_order: int) -> dict[str, object]:
    """Allure's executor (both versions): who ran it; a CI job's address when the CI says so."""
    info: dict[str, object] = {"name": "pytest-lbconform", "type": "local", "reportName": report_name,
                               "buildName": f"{report_name} · run {run_id}", "buildOrder": build_order}
    server, repo, job = (os.environ.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and job:
        info.update(type="github", buildUrl=f"{server}/{repo}/actions/runs/{job}")
    elif os.environ.get("CI_JOB_URL"):  # GitLab
        info.update(type="gitlab", buildUrl=os.environ["CI_JOB_URL"])
    return info


def build_order(history_csv: Path) -> int:
    """How many runs ``history.csv`` records (this one included): Allure 2's trend axis."""
    if not history_csv.is_file():
        return 1
    with history_csv.open(newline="", encoding="utf-8") as fh:
        return max(1, len({row.get("run_id", "") for row in csv.DictReader(fh)}))


def carry_allure2_history(report_dir: Path, results_dir: Path) -> bool:
    """Copy the last Allure 2 report's ``history/`` into the results, as Allure 2 expects for trends."""
    source = report_dir / ALLURE2_REPORT / "history"
    if source.is_symlink() or not source.is_dir():
        return False
    target = results_dir / "history"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.is_file() and not item.is_symlink():
            files.replace_bytes(target / item.name, item.read_bytes())
    return True


#: a finalizer pytest registers itself (a lambda or partial around a fixture's teardown): allure-pytest records
#: it as ``<fixture>::<lambda>`` or ``<fixture>::<n>`` with no status, which Allure shows as "Unknown"
INTERNAL_FINALIZER = re.compile(r"^\w+::(<lambda>|\d+)$")


def drop_unnamed_finalizers(results_dir: Path) -> int:
    """Remove the status-less, empty records of pytest's own finalizers from the containers (they carry no
    step, attachment or outcome); a finalizer that did something keeps its record. Returns how many went."""
    dropped = 0
    for path in results_dir.glob("*-container.json"):
        if path.is_symlink():
            continue
        try:
            container = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        afters = container.get("afters") or []
        kept = [a for a in afters if not (INTERNAL_FINALIZER.match(str(a.get("name", ""))) and "status" not in a
                                          and not a.get("steps") and not a.get("attachments"))]
        if len(kept) != len(afters):
            dropped += len(afters) - len(kept)
            container["afters"] = kept
            files.replace_text(path, json.dumps(container, ensure_ascii=False))
    return dropped


def write(results_dir: Path, environment: dict[str, str], *, report_dir: Path | None = None,
          report_name: str = "pytest-lbconform", run_id: str = "", order: int = 1) -> None:
    """Everything beside the results; with ``report_dir`` also the Allure 3 config and carried history."""
    results_dir.mkdir(parents=True, exist_ok=True)
    files.replace_text(results_dir / "categories.json", json.dumps(categories(), indent=1, ensure_ascii=False) + "\n")
    lines = [f"{key}={value}" for key, value in environment.items()]
    files.replace_text(results_dir / "environment.properties", "\n".join(lines) + "\n")
    drop_unnamed_finalizers(results_dir)
    files.replace_text(results_dir / "executor.json",
                       json.dumps(executor(report_name, run_id, order), indent=1, ensure_ascii=False) + "\n")
    if report_dir is None:
        return
    report_dir.mkdir(parents=True, exist_ok=True)
    carry_allure2_history(report_dir, results_dir)
    relative = os.path.relpath(results_dir, report_dir)  # absolute when the results lie outside the report dir
    where = relative if not relative.startswith("..") else str(results_dir)
    files.replace_text(report_dir / ALLURE3_CONFIG,
                       json.dumps(allure3_config(report_name, where), indent=1, ensure_ascii=False) + "\n")
