"""The certification report ``conformance.json`` (+ ``.html``), modelled on Gateway API's ConformanceReport."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import platform as host_platform
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import __version__, checks, hostcmd
from ..errors import LbconformError
from ..paths import FIXTURES, ROOT
from . import files, page
from .evidence import EVIDENCE, META, NOT_TESTED, PROPERTY, TIMELINE


@dataclass
class CheckResult:
    nodeid: str
    family: str
    outcome: str  #: passed / failed / skipped / inconclusive / not-tested / not-applicable
    message: str = ""
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    profile: str = ""
    tier: str = checks.CORE
    checks: list[str] = field(default_factory=list)
    capabilities: list[str] = field(default_factory=list)
    evidence: list[dict[str, str]] = field(default_factory=list)  #: {"name", "path" (relative to the report dir), "kind"}
    timeline: dict[str, Any] | None = None  #: the check's timeline, once (failover: Timeline.figures(), garp_frames)

    @property
    def plots(self) -> list[str]:
        """The check's PNGs, relative to the report directory."""
        return [e["path"] for e in self.evidence if e.get("kind") == "png"]


#: a check's outcomes the report counts; not-tested: the run could not or was not allowed to run it (an existing
#: cluster without --allow-faults, nodes that are not containers, no client on the segment) — neither pass nor failure
OUTCOMES = ("passed", "failed", "inconclusive", "skipped", "not-tested")
ALL_OUTCOMES = (*OUTCOMES, "not-applicable")  #: every outcome a check can have


def family_of(nodeid: str) -> str:
    """``suites/test_arp_ownership.py::test_x[...]`` → ``arp_ownership``."""
    stem = Path(nodeid.split("::", 1)[0]).stem
    return stem.removeprefix("test_")


#: a test id's family parameter (``plugin.py``: ``v4``, ``v6``; the dual-stack check's ``v4+v6``) → the report's name
FAMILY_IDS = {"v4": "IPv4", "v6": "IPv6", "v4+v6": "IPv4+IPv6"}


def address_family(nodeid: str) -> str:
    """The IP family a check judged, from its test id (``…[lab-random-v6-svc1]`` → ``IPv6``); a check without one
    judges IPv4 (the ARP checks that have no IPv6 form, the Service API)."""
    params = nodeid.rsplit("[", 1)[1].rstrip("]") if nodeid.endswith("]") and "[" in nodeid else ""
    return next((FAMILY_IDS[p] for p in params.split("-") if p in FAMILY_IDS), "IPv4")


def outcome_of(report: Any, verdicts: list[dict[str, Any]], meta: dict[str, Any], not_tested: bool = False) -> str:
    """A test's outcome as the certification sees it.

    A failure is an LB failure only when a verdict failed; a test that failed or errored without a
    failing verdict (engine error, probe crash, set-up failure) is *inconclusive*: neither a pass nor
    a verdict on the LB. A skip of a profile that does not apply on the platform is *not-applicable*; a check
    the run could not or was not allowed to run (``not_tested``) is *not-tested*.
    """
    if report.passed:
        return "passed"
    if report.skipped:
        if not_tested:
            return "not-tested"
        return "not-applicable" if meta and not meta.get("applies", True) else "skipped"
    return "failed" if any(not v.get("passed", True) for v in verdicts) else "inconclusive"


def from_report(report: Any) -> CheckResult | None:
    """A CheckResult from a pytest TestReport of a suite test (None for other tests and phases)."""
    if "suites/" not in report.nodeid.replace("\\", "/") and not report.nodeid.startswith("test_"):
        return None
    if report.when != "call" and not (report.failed or report.skipped):
        return None
    props = list(report.user_properties)
    verdicts = [value for name, value in props if name == PROPERTY]
    meta: dict[str, Any] = next((value for name, value in props if name == META), {})
    timeline: dict[str, Any] | None = None
    for name, value in props:
        if name == TIMELINE:
            timeline = {**(timeline or {}), **value}
    withheld = next((str(value) for name, value in props if name == NOT_TESTED), "")
    message = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2]).removeprefix("Skipped: ").removeprefix("not tested: ")
    elif report.failed:
        lines = report.longreprtext.strip().splitlines()
        message = lines[-1] if lines else ""
    return CheckResult(report.nodeid, family_of(report.nodeid), outcome_of(report, verdicts, meta, bool(withheld)),
                       withheld if report.skipped and withheld else message, verdicts,
                       report.duration, profile=meta.get("profile", ""), tier=meta.get("tier", checks.CORE),
                       checks=list(meta.get("checks", [])), capabilities=list(meta.get("capabilities", [])),
                       evidence=[value for name, value in props if name == EVIDENCE], timeline=timeline)


def tier_result(results: list[CheckResult]) -> str:
    """failure > inconclusive > not-tested (a check the run could not or may not run: never success, never failure)
    > (partial: some skipped) > success; when nothing passed: not-supported (everything was skipped as unsupported)
    or not-tested (nothing ran)."""
    outcomes = {r.outcome for r in results}
    if "failed" in outcomes:
        return "failure"
    if "inconclusive" in outcomes:
        return "inconclusive"
    if "not-tested" in outcomes:
        return "not-tested"
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
    withheld = any(r.outcome == "not-tested" for r in mine)  # decided, not a run that stopped short
    if inconclusive_reason and applies and result in ("not-tested", "partial") and not withheld:
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
        "address_families": {name: {"result": tier_result(rs) if applies else "not-applicable", **counts(rs)}
                             for name, rs in by_family(mine).items()},
        "checks": [check_entry(r) for r in mine],
        "inconclusive": [{"id": r.nodeid, "reason": r.message} for r in mine if r.outcome == "inconclusive"],
        "skipped": [{"id": r.nodeid, "reason": r.message} for r in mine if r.outcome in ("skipped", "not-applicable")],
        "not_tested": [{"id": r.nodeid, "reason": r.message} for r in mine if r.outcome == "not-tested"],
    }


def by_family(results: list[CheckResult]) -> dict[str, list[CheckResult]]:
    """``results`` grouped by the IP family each judged, in the order IPv4, IPv6, IPv4+IPv6."""
    groups: dict[str, list[CheckResult]] = {name: [] for name in FAMILY_IDS.values()}
    for r in results:
        groups[address_family(r.nodeid)].append(r)
    return {name: rs for name, rs in groups.items() if rs}


def check_entry(r: CheckResult) -> dict[str, Any]:
    """One check (a test) in the report: its registry check ids, tier, outcome, verdicts, evidence and timeline."""
    return {"id": r.nodeid, "family": r.family, "checks": r.checks or sorted({v["check"] for v in r.verdicts}),
            "tier": r.tier, "outcome": r.outcome, "message": r.message, "verdicts": r.verdicts,
            "duration_s": round(r.duration, 3), "evidence": r.evidence, "plots": r.plots, "timeline": r.timeline}


def clean_version(banner: str) -> str:
    """An implementation's version in one clean line: ``keepalived --version``'s banner
    ``Keepalived v2.2.7 (01/16,2022)\\n\\nCopyright …`` → ``Keepalived v2.2.7``; ``v0.16.1`` stays."""
    first = next((line.strip() for line in banner.splitlines() if line.strip()), "")
    return " ".join(re.sub(r"\s*\([^()]*\)\s*$", "", first).split())


def build(results: list[CheckResult], implementation: dict[str, Any], environment: dict[str, str],
          budgets: dict[str, Any] | None = None, capabilities: list[str] | None = None,
          inconclusive_reason: str = "") -> dict[str, Any]:
    """The ConformanceReport: per profile of the registry, core and extended results and every check.

    ``inconclusive_reason``: the run could not judge everything (the environment did not come up):
    profiles left without a result read "inconclusive" with that reason, never "not-tested".
    """
    budgets = budgets or {}
    platform = environment.get("platform", "")
    banner = str(implementation.get("version", ""))
    if clean_version(banner) != banner:
        implementation = {**implementation, "version": clean_version(banner), "version_banner": banner}
    return {
        "$schema": SCHEMA_FILE,
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


SCHEMA_FILE = "conformance-v1alpha1.schema.json"  #: ``$schema`` of a report: the file written beside it
SCHEMA_PATH = FIXTURES / "schema" / SCHEMA_FILE  #: the schema as the package ships it


def schema() -> dict[str, Any]:
    """The JSON Schema of ``conformance.json`` (draft 2020-12), as shipped in the package."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


class _NoAliases(yaml.SafeDumper):
    """YAML without ``&id001`` anchors and ``*id001`` aliases: an object referenced twice is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(report: dict[str, Any]) -> str:
    return yaml.dump(report, Dumper=_NoAliases, sort_keys=False, allow_unicode=True)


def write(report_dir: Path, report: dict[str, Any]) -> Path:
    """Write conformance.json, .yaml (as Gateway API publishes its reports), .html, the schema they follow and
    a history row per figure; never through a symlink."""
    files.make_dir(report_dir)
    path = report_dir / "conformance.json"
    files.replace_text(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    files.replace_text(report_dir / "conformance.yaml", to_yaml(report))
    files.replace_text(report_dir / SCHEMA_FILE, SCHEMA_PATH.read_text(encoding="utf-8"))
    files.replace_text(report_dir / "conformance.html", page.render(report))
    _append_history(report_dir / "history.csv", report)
    return path


#: ``outcome`` is the check's (passed, failed, inconclusive …): an inconclusive check's partial verdict says "passed"
HISTORY_HEADER = ["run_id", "date", "suite_version", "suite_commit", "lb", "lb_version", "platform", "profile", "mode",
                  "test", "outcome", "check", "nth", "verdict", "figure", "value", "unit"]


def unit_of(figure: str) -> str:
    """The unit a figure's name states (``outage_ms`` → ms); empty for counts and other plain numbers."""
    for suffix, unit in (("_ms", "ms"), ("_s", "s"), ("_share", "ratio"), ("_pct", "%")):
        if figure.endswith(suffix):
            return unit
    return ""


def is_figure(value: Any) -> bool:
    """A history figure: a number, or None (not measured); never a boolean, a text or a container."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def history_rows(report: dict[str, Any]) -> list[list[object]]:
    """One row per (test, check, nth judgement of that check in the test, figure) of this run.

    Only numbers (and None: not measured) are figures. A figure several verdicts of one test share (same
    name, same value, e.g. the budget of failover-budget and failback) is written once, under the first.
    """
    impl, env, suite = report["implementation"], report["environment"], report.get("suite", {})
    head = [report.get("run_id", ""), report["date"], suite.get("version", ""), suite.get("commit", ""),
            impl.get("provider", ""), impl.get("version", ""), env.get("platform", "")]
    rows: list[list[object]] = []
    for prof in report["profiles"]:
        for chk in prof["checks"]:
            nth: Counter[str] = Counter()
            written: dict[str, tuple[str, object]] = {}  #: figure → (check that wrote it, value)
            for verdict in chk["verdicts"]:
                check_id = verdict.get("check", "")
                nth[check_id] += 1
                for key, value in verdict.get("figures", {}).items():
                    if not is_figure(value):
                        continue
                    first = written.setdefault(key, (check_id, value))
                    if first != (check_id, value) and first[1] == value:
                        continue  # shared with an earlier verdict of another check
                    rows.append([*head, prof["name"], verdict.get("mode", ""), chk["id"], chk["outcome"], check_id,
                                 nth[check_id],
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
            path.replace(_unused(path.with_name(path.stem + ".old.csv")))
    if path.is_symlink() or not path.exists():
        files.replace_text(path, header.getvalue())
    buffer = io.StringIO()
    csv.writer(buffer).writerows(history_rows(report))
    files.append_text(path, buffer.getvalue())


def _unused(path: Path) -> Path:
    """``path``, or ``<stem>.1<suffix>``, ``.2`` … — the first name nothing holds (a file of the user's is never
    overwritten)."""
    candidate, n = path, 0
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate


def render_html(report: dict[str, Any]) -> str:
    """The certification page (``report/page.py``)."""
    return page.render(report)
