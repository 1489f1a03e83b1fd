"""The certification report from synthetic results."""

import json

from pytest_lbconform.report import conformance
from pytest_lbconform.report.conformance import CheckResult


def r(nodeid, outcome, message=""):
    verdicts = [{"measured": "x", "figures": {"outage_ms": 350.0, "vip": "v"}}] if outcome == "passed" else []
    return CheckResult(nodeid, conformance.family_of(nodeid), outcome, message, verdicts)


def test_profiles_are_success_partial_failure_or_not_tested(tmp_path):
    results = [r("suites/test_arp_ownership.py::t[a]", "passed"), r("suites/test_snat.py::t[b]", "passed"),
               r("suites/test_failover.py::t[c]", "skipped", "provider x does not declare capability failover:node-freeze"),
               r("suites/test_failover.py::t[d]", "passed")]
    report = conformance.build(results, {"project": "p", "version": "1"}, {"platform": "lab"})
    by_name = {p["name"]: p for p in report["profiles"]}
    assert by_name["L2-CORE"]["result"] == "partial"
    assert by_name["L2-CORE"]["skipped"][0]["reason"].startswith("provider x does not declare")
    assert by_name["L2-EXTENDED"]["result"] == "not-tested"
    assert set(by_name["L2-EXTENDED"]["families_not_run"]) == {"vip_allocation", "balancing"}
    results.append(r("suites/test_snat.py::t[e]", "failed", "SNAT mismatch"))
    assert conformance.build(results, {}, {})["profiles"][0]["result"] == "failure"


def test_write_produces_json_html_and_a_history_of_numeric_figures(tmp_path):
    report = conformance.build([r("suites/test_failover.py::t[a]", "passed")], {"project": "p", "version": "1"}, {})
    path = conformance.write(tmp_path, report)
    assert json.loads(path.read_text())["kind"] == "ConformanceReport"
    assert "<table>" in (tmp_path / "conformance.html").read_text()
    conformance.write(tmp_path, report)
    rows = (tmp_path / "history.csv").read_text().splitlines()
    assert rows[0].startswith("date,") and len(rows) == 3 and "outage_ms,350.0" in rows[1]
