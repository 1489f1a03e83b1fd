"""The certification report ``conformance.json`` (+ ``.html``), modelled on Gateway API's ConformanceReport."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import platform as host_platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..paths import FIXTURES
from .evidence import PROPERTY


@dataclass
class CheckResult:
    nodeid: str
    family: str
    outcome: str  # passed / failed / skipped / error
    message: str = ""
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0


def family_of(nodeid: str) -> str:
    """``suites/test_arp_ownership.py::test_x[...]`` → ``arp_ownership``."""
    stem = Path(nodeid.split("::", 1)[0]).stem
    return stem.removeprefix("test_")


def from_report(report: Any) -> CheckResult | None:
    """A CheckResult from a pytest TestReport of a suite test (None for other tests)."""
    if "suites/" not in report.nodeid.replace("\\", "/") and not report.nodeid.startswith("test_"):
        return None
    if report.when != "call" and not (report.failed or report.skipped):
        return None
    outcome = report.outcome
    if report.when != "call" and report.failed:
        outcome = "error"
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed:
        lines = report.longreprtext.strip().splitlines()
        message = lines[-1] if lines else ""
    verdicts = [value for name, value in report.user_properties if name == PROPERTY]
    return CheckResult(report.nodeid, family_of(report.nodeid), outcome, message, verdicts, report.duration)


def load_profiles() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = yaml.safe_load((FIXTURES / "profiles.yaml").read_text())
    return loaded


def profile_result(results: list[CheckResult], families: list[str]) -> str:
    mine = [r for r in results if r.family in families]
    if any(r.outcome in ("failed", "error") for r in mine):
        return "failure"
    if not any(r.outcome == "passed" for r in mine):
        return "not-tested"
    if any(r.outcome == "skipped" for r in mine) or any(f not in {r.family for r in mine} for f in families):
        return "partial"
    return "success"


def build(results: list[CheckResult], implementation: dict[str, str], environment: dict[str, str]) -> dict[str, Any]:
    profiles = []
    for name, prof in load_profiles().items():
        families = list(prof["families"])
        mine = [r for r in results if r.family in families]
        profiles.append({
            "name": name, "description": prof.get("description", ""), "result": profile_result(results, families),
            "summary": {k: sum(r.outcome == k for r in mine) for k in ("passed", "failed", "error", "skipped")},
            "families_not_run": [f for f in families if f not in {r.family for r in mine}],
            "checks": [{"id": r.nodeid, "outcome": r.outcome, "message": r.message, "verdicts": r.verdicts,
                        "duration_s": round(r.duration, 3)} for r in mine],
            "skipped": [{"id": r.nodeid, "reason": r.message} for r in mine if r.outcome == "skipped"],
        })
    return {
        "apiVersion": "lbconform.io/v1alpha1", "kind": "ConformanceReport",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "implementation": implementation, "environment": {"host": host_platform.platform(), **environment},
        "profiles": profiles,
    }


def write(report_dir: Path, report: dict[str, Any]) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "conformance.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    (report_dir / "conformance.html").write_text(render_html(report))
    _append_history(report_dir / "history.csv", report)
    return path


def _append_history(path: Path, report: dict[str, Any]) -> None:
    """One row per measured figure per run (numbers only), to see drift between runs."""
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(["date", "lb", "version", "check_id", "figure", "value"])
        for prof in report["profiles"]:
            for chk in prof["checks"]:
                for verdict in chk["verdicts"]:
                    for key, value in verdict.get("figures", {}).items():
                        if isinstance(value, (int, float)) and not isinstance(value, bool):
                            writer.writerow([report["date"], report["implementation"].get("project", ""),
                                             report["implementation"].get("version", ""), chk["id"], key, value])


def render_html(report: dict[str, Any]) -> str:
    esc = html.escape
    rows = []
    for prof in report["profiles"]:
        rows.append(f"<h2>{esc(prof['name'])}: {esc(prof['result'])}</h2><p>{esc(prof['description'])}</p>")
        if prof["families_not_run"]:
            rows.append(f"<p>Not run: {esc(', '.join(prof['families_not_run']))}</p>")
        rows.append("<table><tr><th>check</th><th>outcome</th><th>measured / reason</th></tr>")
        for chk in prof["checks"]:
            measured = "; ".join(v["measured"] for v in chk["verdicts"]) or chk["message"]
            rows.append(f"<tr class='{esc(chk['outcome'])}'><td>{esc(chk['id'])}</td><td>{esc(chk['outcome'])}</td>"
                        f"<td>{esc(measured)}</td></tr>")
        rows.append("</table>")
    impl = report["implementation"]
    env = ", ".join(f"{k}={v}" for k, v in report["environment"].items())
    return (
        "<!doctype html><meta charset='utf-8'><title>LB conformance report</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
        ".failed,.error{background:#fdd}.skipped{background:#eee}.passed{background:#dfd}</style>"
        f"<h1>{esc(impl.get('project', ''))} {esc(impl.get('version', ''))}</h1><p>{esc(env)}</p>"
        f"<p>{esc(report['date'])}</p>" + "".join(rows)
    )
