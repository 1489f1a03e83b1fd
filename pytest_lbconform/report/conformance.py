"""The certification report ``conformance.json`` (+ ``.html``), modelled on Gateway API's ConformanceReport."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import platform as host_platform
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import __version__, checks, hostcmd
from ..errors import LbconformError
from ..paths import ROOT
from . import files
from .evidence import META, PLOT, PROPERTY


@dataclass
class CheckResult:
    nodeid: str
    family: str
    outcome: str  #: passed / failed / skipped / inconclusive / not-applicable
    message: str = ""
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    profile: str = ""
    tier: str = checks.CORE
    checks: list[str] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  #: PNGs relative to the report directory


OUTCOMES = ("passed", "failed", "inconclusive", "skipped")  #: a check's outcomes the report counts


def family_of(nodeid: str) -> str:
    """``suites/test_arp_ownership.py::test_x[...]`` → ``arp_ownership``."""
    stem = Path(nodeid.split("::", 1)[0]).stem
    return stem.removeprefix("test_")


def outcome_of(report: Any, verdicts: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """A test's outcome as the certification sees it.

    A failure is an LB failure only when a verdict failed; a test that failed or errored without a
    failing verdict (engine error, probe crash, set-up failure) is *inconclusive*: neither a pass nor
    a verdict on the LB. A skip of a profile that does not apply on the platform is *not-applicable*.
    """
    if report.passed:
        return "passed"
    if report.skipped:
        return "not-applicable" if meta and not meta.get("applies", True) else "skipped"
    return "failed" if any(not v.get("passed", True) for v in verdicts) else "inconclusive"


def from_report(report: Any) -> CheckResult | None:
    """A CheckResult from a pytest TestReport of a suite test (None for other tests and phases)."""
    if "suites/" not in report.nodeid.replace("\\", "/") and not report.nodeid.startswith("test_"):
        return None
    if report.when != "call" and not (report.failed or report.skipped):
        return None
    verdicts = [value for name, value in report.user_properties if name == PROPERTY]
    meta: dict[str, Any] = next((value for name, value in report.user_properties if name == META), {})
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ")
    elif report.failed:
        lines = report.longreprtext.strip().splitlines()
        message = lines[-1] if lines else ""
    return CheckResult(report.nodeid, family_of(report.nodeid), outcome_of(report, verdicts, meta), message, verdicts,
                       report.duration, profile=meta.get("profile", ""), tier=meta.get("tier", checks.CORE),
                       checks=list(meta.get("checks", [])), capabilities=list(meta.get("capabilities", [])),
                       plots=[value for name, value in report.user_properties if name == PLOT])


def tier_result(results: list[CheckResult]) -> str:
    """failure > inconclusive > (partial: some skipped) > success; when nothing passed: not-supported
    (everything was skipped as unsupported) or not-tested (nothing ran)."""
    outcomes = {r.outcome for r in results}
    if "failed" in outcomes:
        return "failure"
    if "inconclusive" in outcomes:
        return "inconclusive"
    if "passed" not in outcomes:
        return "not-supported" if "skipped" in outcomes else "not-tested"
    return "partial" if "skipped" in outcomes else "success"


def profile_report(profile: checks.Profile, results: list[CheckResult], platform: str,
                   budgets: dict[str, Any], inconclusive_reason: str = "") -> dict[str, Any]:
    mine = [r for r in results if r.profile == profile.name]
    core = [r for r in mine if r.tier == checks.CORE]
    extended = [r for r in mine if r.tier == checks.EXTENDED]
    core_ids = sorted(c.id for c in checks.CHECKS.values() if c.profile == profile.name and c.tier == checks.CORE)
    judged = {v["check"] for r in core if r.outcome == "passed" for v in r.verdicts}
    not_run = [c for c in core_ids if c not in judged]
    applies = checks.profile_applies(profile.name, platform)
    if not applies:
        result = "not-applicable"
    elif core_ids:
        result = tier_result(core)
        if result == "success" and not_run:
            result = "partial"
    else:
        result = tier_result(extended)
    if inconclusive_reason and applies and result in ("not-tested", "partial"):
        result = "inconclusive"
    judges_budgets = any(c.profile == profile.name and c.id == "failover-budget" for c in checks.CHECKS.values())
    overridden = bool(budgets.get("overridden"))
    if result == "success" and overridden and judges_budgets:
        result = "success (custom budgets)"

    def counts(rs: list[CheckResult]) -> dict[str, int]:
        return {k: sum(r.outcome == k for r in rs) for k in OUTCOMES}

    return {
        "name": profile.name, "description": profile.description, "result": result,
        "not_applicable_reason": "" if applies else profile.not_applicable,
        "inconclusive_reason": inconclusive_reason if result == "inconclusive" else "",
        **({"budgets": {"used": budgets.get("used", {}), "unit": budgets.get("unit", "s"), "overridden": overridden,
                        "overrides": budgets.get("overridden", {})}} if judges_budgets else {}),
        "core": {"result": tier_result(core) if applies else "not-applicable", **counts(core),
                 "checks_not_run": not_run if applies else []},
        "extended": {"result": tier_result(extended) if applies else "not-applicable", **counts(extended),
                     "supported": sorted({c for r in extended if r.outcome == "passed" for c in r.capabilities
                                          if checks.capability_tier(c) == checks.EXTENDED}),
                     "unsupported": [{"id": r.nodeid, "reason": r.message} for r in extended
                                     if r.outcome == "skipped"]},
        "checks": [{"id": r.nodeid, "family": r.family, "tier": r.tier, "outcome": r.outcome, "message": r.message,
                    "verdicts": r.verdicts, "duration_s": round(r.duration, 3), "plots": r.plots} for r in mine],
        "inconclusive": [{"id": r.nodeid, "reason": r.message} for r in mine if r.outcome == "inconclusive"],
        "skipped": [{"id": r.nodeid, "reason": r.message} for r in mine if r.outcome in ("skipped", "not-applicable")],
    }


def build(results: list[CheckResult], implementation: dict[str, Any], environment: dict[str, str],
          budgets: dict[str, Any] | None = None, capabilities: list[str] | None = None,
          inconclusive_reason: str = "") -> dict[str, Any]:
    """The ConformanceReport: per profile of the registry, core and extended results and every check.

    ``inconclusive_reason``: the run could not judge everything (the environment did not come up):
    profiles left without a result read "inconclusive" with that reason, never "not-tested".
    """
    budgets = budgets or {}
    platform = environment.get("platform", "")
    return {
        "apiVersion": "lbconform.io/v1alpha1", "kind": "ConformanceReport",
        "run_id": uuid.uuid4().hex[:12],
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "suite": suite_info(),
        "implementation": implementation, "environment": {"host": host_platform.platform(), **environment},
        "capabilities": sorted(capabilities or []),
        "budgets": budgets,
        **({"inconclusive_reason": inconclusive_reason} if inconclusive_reason else {}),
        "profiles": [profile_report(p, results, platform, budgets, inconclusive_reason) for p in checks.PROFILES.values()],
    }


def suite_info() -> dict[str, Any]:
    """This suite's name, version, and the commit it runs from (a checkout; empty for an installed wheel)."""
    commit, dirty = "", False
    if (ROOT / ".git").exists():
        try:
            commit = hostcmd.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], "git rev-parse", check=False,
                                 timeout=10).stdout.strip()
            dirty = bool(hostcmd.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                     "git status", check=False, timeout=10).stdout.strip())
        except LbconformError:
            commit = ""
    return {"name": "pytest-lbconform", "version": __version__, "commit": commit, "modified": dirty}


def write(report_dir: Path, report: dict[str, Any]) -> Path:
    """Write conformance.json, .yaml (as Gateway API publishes its reports), .html and a history row;
    never through a symlink."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "conformance.json"
    files.replace_text(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    files.replace_text(report_dir / "conformance.yaml", yaml.safe_dump(report, sort_keys=False, allow_unicode=True))
    files.replace_text(report_dir / "conformance.html", render_html(report))
    _append_history(report_dir / "history.csv", report)
    return path


HISTORY_HEADER = ["run_id", "date", "suite_version", "lb", "lb_version", "platform", "mode", "test", "check",
                  "verdict", "figure", "value", "unit"]


def unit_of(figure: str) -> str:
    """The unit a figure's name states (``outage_ms`` → ms); empty for counts and other plain numbers."""
    for suffix, unit in (("_ms", "ms"), ("_s", "s"), ("_share", "ratio"), ("_pct", "%")):
        if figure.endswith(suffix):
            return unit
    return ""


def history_rows(report: dict[str, Any]) -> list[list[object]]:
    """One row per numeric (or null) figure of every verdict of this run; lists and texts are left out."""
    impl, env = report["implementation"], report["environment"]
    rows: list[list[object]] = []
    for prof in report["profiles"]:
        for chk in prof["checks"]:
            for verdict in chk["verdicts"]:
                for key, value in verdict.get("figures", {}).items():
                    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                        continue
                    rows.append([report.get("run_id", ""), report["date"], report.get("suite", {}).get("version", ""),
                                 impl.get("provider", ""), impl.get("version", ""), env.get("platform", ""),
                                 verdict.get("mode", ""), chk["id"], verdict.get("check", ""),
                                 "passed" if verdict.get("passed") else "failed", key,
                                 "" if value is None else value, unit_of(key)])
    return rows


def _append_history(path: Path, report: dict[str, Any]) -> None:
    """Append this run's rows; a history with other columns (an older version's) is moved aside first."""
    header = io.StringIO()
    csv.writer(header).writerow(HISTORY_HEADER)
    if path.exists() and not path.is_symlink():
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
        if first.rstrip("\r\n") != ",".join(HISTORY_HEADER):
            path.replace(path.with_name(path.stem + ".old.csv"))
    if path.is_symlink() or not path.exists():
        files.replace_text(path, header.getvalue())
    buffer = io.StringIO()
    csv.writer(buffer).writerows(history_rows(report))
    files.append_text(path, buffer.getvalue())


LEGEND = ("<p class='legend'>outcomes: <span class='passed'>passed</span> the LB did what the check expects; "
          "<span class='failed'>failed</span> a verdict on the LB failed; <span class='inconclusive'>inconclusive"
          "</span> the environment failed (engine, cluster, probe), no verdict on the LB; <span class='skipped'>"
          "skipped</span> an extended feature the provider does not declare, or a profile that does not apply. "
          "A core check cannot be skipped: a missing core capability is a failure.</p>")


def _check_rows(checks_: list[dict[str, Any]]) -> list[str]:
    esc = html.escape
    rows = ["<table><tr><th>check</th><th>tier</th><th>outcome</th><th>expected</th>"
            "<th>measured / reason</th><th>evidence</th></tr>"]
    for chk in checks_:
        expected = "; ".join(str(v.get("expected", "")) for v in chk["verdicts"])
        measured = "; ".join(v["measured"] for v in chk["verdicts"]) or chk["message"]
        links = " ".join(f"<a href='{esc(p)}'>plot {i}</a>" for i, p in enumerate(chk.get("plots", []), 1))
        rows.append(f"<tr class='{esc(chk['outcome'])}'><td title='{esc(chk['id'])}'>{esc(chk['id'].split('::')[-1])}"
                    f"</td><td>{esc(chk['tier'])}</td>"
                    f"<td>{esc(chk['outcome'])}</td><td>{esc(expected)}</td>"
                    f"<td>{esc(measured)}</td><td>{links}</td></tr>")
        for plot in chk.get("plots", []):
            rows.append(f"<tr class='plot'><td colspan='6'><img src='{esc(plot)}' alt='plot of {esc(chk['id'])}' "
                        "style='max-width:100%'></td></tr>")
    rows.append("</table>")
    return rows


def _budgets_html(budgets: dict[str, Any]) -> str:
    esc = html.escape
    used = budgets.get("used", {})
    if not used:
        return ""
    unit = budgets.get("unit", "s")
    overridden, spec = budgets.get("overridden", {}), budgets.get("spec", {})

    def source(fault: str) -> str:
        return f"overridden (the spec says {spec.get(fault, '?')} {unit})" if fault in overridden else "the spec"

    cells = "".join(f"<tr><td>{esc(k)}</td><td>{esc(str(v))} {esc(unit)}</td><td>{esc(source(k))}</td></tr>"
                    for k, v in sorted(used.items()))
    return f"<h3>failover budgets</h3><table><tr><th>fault</th><th>budget</th><th>source</th></tr>{cells}</table>"


def render_html(report: dict[str, Any]) -> str:
    """The certification page: per profile its result and counts, the checks grouped by family with counts,
    expected and measured per check, the plots and links to them, the budgets used, and a legend."""
    esc = html.escape
    rows = []
    for prof in report["profiles"]:
        tally = ", ".join(f"{sum(prof[t][k] for t in ('core', 'extended'))} {k}" for k in OUTCOMES)
        rows.append(f"<h2>{esc(prof['name'])}: {esc(prof['result'])}</h2><p>{esc(prof['description'])} "
                    f"<small>({esc(tally)})</small></p>")
        if prof["not_applicable_reason"]:
            rows.append(f"<p>Not applicable: {esc(prof['not_applicable_reason'])}</p>")
        if prof.get("inconclusive_reason"):
            rows.append(f"<p>Inconclusive: {esc(prof['inconclusive_reason'])}</p>")
        if prof["core"]["checks_not_run"]:
            rows.append(f"<p>Core checks not run: {esc(', '.join(prof['core']['checks_not_run']))}</p>")
        families: dict[str, list[dict[str, Any]]] = {}
        for chk in prof["checks"]:
            families.setdefault(chk.get("family", ""), []).append(chk)
        for family, members in families.items():
            counts = ", ".join(f"{n} {k}" for k in OUTCOMES if (n := sum(c["outcome"] == k for c in members)))
            rows.append(f"<h3 class='family'>{esc(checks.FAMILIES.get(family, family))} <small>({esc(counts)})</small>"
                        "</h3>")
            rows.extend(_check_rows(members))
    budgets = _budgets_html(report.get("budgets", {}))
    impl = report["implementation"]
    env = ", ".join(f"{k}={v}" for k, v in report["environment"].items())
    suite = report.get("suite", {})
    contact = ", ".join(impl.get("contact", []))
    about = (f"<p>{esc(impl.get('organization', ''))} <a href='{esc(impl.get('url', ''))}'>{esc(impl.get('url', ''))}"
             f"</a>{' — contact: ' + esc(contact) if contact else ''}</p>"
             f"<p>certified with {esc(suite.get('name', ''))} {esc(suite.get('version', ''))}"
             f"{' commit ' + esc(suite.get('commit', '')[:12]) if suite.get('commit') else ''}"
             f"{' (modified)' if suite.get('modified') else ''}; capabilities declared: "
             f"{esc(', '.join(report.get('capabilities', [])))}</p>")
    return (
        "<!doctype html><meta charset='utf-8'><title>LB conformance report</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}"
        ".failed{background:#fdd}.inconclusive{background:#ffd}.skipped{background:#eee}.passed{background:#dfd}</style>"
        f"<h1>{esc(impl.get('project', ''))} {esc(impl.get('version', ''))}</h1><p>{esc(env)}</p>"
        f"<p>provider spec: {esc(impl.get('spec', 'built-in'))}</p>" + about +
        f"<p>{esc(report['date'])}</p>" + LEGEND + budgets + "".join(rows)
    )
