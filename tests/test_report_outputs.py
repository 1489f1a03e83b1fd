"""The machine-readable report: a JSON Schema shipped with the package, YAML without anchors, the failover
timeline once per check, history.csv one row per figure per check, files readable by everyone (issue 23)."""

from __future__ import annotations

import copy
import csv
import json
import os
import stat

import jsonschema
import pytest

from pytest_lbconform import checks
from pytest_lbconform.paths import PACKAGE
from pytest_lbconform.report import conformance, files
from pytest_lbconform.report.conformance import CheckResult
from pytest_lbconform.verdicts.failover import degradation, garp_from_new_owner, within_budget
from tests.test_verdict_failover import recorded

VALIDATOR = jsonschema.Draft202012Validator(conformance.schema(), format_checker=jsonschema.FormatChecker())
FAILOVER = "pytest_lbconform/suites/test_failover.py::test_failover[lab-rr-node-stop-svc1]"


def entry(verdict, **context):
    """A verdict as evidence.record keeps it."""
    return json.loads(json.dumps({"check": verdict.check, "passed": verdict.passed, "expected": verdict.expected,
                                  "measured": verdict.measured, "category": verdict.category,
                                  "figures": verdict.figures, **context}, default=str))


def failover_result() -> CheckResult:
    """A failover check judged from the trace recorded on the lab (tests/data), as the suite records it."""
    raw, trace, probes, macs = recorded()
    from pytest_lbconform.verdicts.failover import build_timeline

    tl = build_timeline(trace, probes, fault_kind="node-stop", fault=raw["fault"], undo=None, victim=raw["victim"],
                        new_owner=raw["new_owner"], final_owner=None, node_macs=macs, old_dataplane_serves=False)
    verdicts = [within_budget(tl, 1.5), degradation(tl, 1 / 3, "one of three endpoints unreachable"),
                garp_from_new_owner(tl)]
    return CheckResult(FAILOVER, "failover", "passed", "", [entry(v, fault="node-stop", mode="rr") for v in verdicts],
                       2.0, profile="L2-FAILOVER", checks=["failover-budget", "failover-degradation", "garp-on-takeover"],
                       timeline=json.loads(json.dumps(tl.figures())))


def affinity_result() -> CheckResult:
    verdict = {"check": "affinity-sticky", "passed": True, "expected": "e", "measured": "m", "category": "", "mode": "rr",
               "figures": {"clients": 2, "answers": 200, "max_backends_per_client": 1,
                           "backends_over_all_clients": 1, "backends_by_client": {"mypc": {"webpod1": 100}}}}
    return CheckResult("pytest_lbconform/suites/test_balancing.py::test_clientip_affinity_sticks_per_client[lab-rr]",
                       "balancing", "passed", "", [verdict], profile="BALANCING", tier=checks.EXTENDED,
                       checks=["affinity-sticky"])


def report_of(*results: CheckResult) -> dict:
    report = conformance.build(list(results), {"project": "p", "provider": "keepalived",
                                               "version": "Keepalived v2.2.7 (01/16,2022)"}, {"platform": "lab"})
    VALIDATOR.validate(report)
    return report


def test_the_schema_ships_in_the_package_and_every_report_is_named_by_it(tmp_path):
    assert conformance.SCHEMA_PATH.is_relative_to(PACKAGE / "fixtures")  # package data (fixtures/**)
    jsonschema.Draft202012Validator.check_schema(conformance.schema())
    report = report_of(failover_result(), affinity_result())
    conformance.write(tmp_path, report)
    written = json.loads((tmp_path / "conformance.json").read_text())
    assert written["$schema"] == conformance.SCHEMA_FILE
    beside = json.loads((tmp_path / written["$schema"]).read_text())  # resolvable from the report's directory
    jsonschema.Draft202012Validator(beside).validate(written)


@pytest.mark.parametrize(("where", "value"), [
    (("profiles", 1, "checks", 0, "outcome"), "sort-of-passed"),
    (("profiles", 1, "result"), "great"),
    (("profiles", 1, "checks", 0, "evidence"), [{"name": "x", "path": "/etc/passwd", "kind": "pcap"}]),
    (("profiles", 1, "checks", 0, "timeline", "garp_frames"), [{"t_ms": 1, "op": "who-has", "arp_sender_mac": "m"}]),
    (("implementation", "version"), "Keepalived v2.2.7 (01/16,2022)\n\nCopyright"),
    (("apiVersion",), "lbconform.io/v2"),
])
def test_a_report_violating_the_schema_is_rejected(where, value):
    report = copy.deepcopy(report_of(failover_result()))
    node = report
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(report)


def test_garp_frames_of_the_timeline_are_allowed():
    result = failover_result()
    result.timeline = {**(result.timeline or {}), "garp_frames": [
        {"t_ms": 360.1, "op": "request", "arp_sender_mac": "02:42:ac:12:00:04", "ether_src": "02:42:ac:12:00:04",
         "node": "worker2", "credited": True, "why": "the new owner's MAC, after the fault"}]}
    report_of(result)


def test_yaml_has_no_anchors_even_for_an_object_referenced_twice(tmp_path):
    shared = {"answered_via": {"worker2": 239}}
    first, second = failover_result(), failover_result()
    second.nodeid = FAILOVER.replace("svc1", "svc2")
    first.verdicts[0]["figures"]["phases"] = second.verdicts[0]["figures"]["phases"] = shared
    report = report_of(first, second)
    conformance.write(tmp_path, report)
    text = (tmp_path / "conformance.yaml").read_text()
    assert "&id" not in text and "*id" not in text
    import yaml

    assert yaml.safe_load(text) == json.loads((tmp_path / "conformance.json").read_text())


def test_the_timeline_is_in_the_report_once_per_check_not_in_each_verdict():
    report = report_of(failover_result())
    chk = next(c for p in report["profiles"] for c in p["checks"] if c["id"] == FAILOVER)
    assert chk["timeline"]["phases"] and chk["timeline"]["outage_ms"] is not None
    for verdict in chk["verdicts"]:  # each verdict keeps its own key figures only
        assert "phases" not in verdict["figures"] and "end_ms" not in verdict["figures"], verdict["check"]
    assert json.dumps(report).count('"fault_to_takeover"') == 1
    assert chk["checks"] == ["failover-budget", "failover-degradation", "garp-on-takeover"]


def rows_of(report: dict) -> list[dict[str, str]]:
    header = conformance.HISTORY_HEADER
    return [dict(zip(header, map(str, row), strict=True)) for row in conformance.history_rows(report)]


def test_history_is_one_row_per_figure_per_check_with_commit_and_profile():
    result = failover_result()
    report = report_of(result, affinity_result())
    rows = rows_of(report)
    keys = [(r["test"], r["check"], r["nth"], r["figure"]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per (check, verdict, figure)
    assert {r["suite_commit"] for r in rows} == {report["suite"]["commit"]}
    assert {r["profile"] for r in rows} == {"L2-FAILOVER", "BALANCING"}
    assert {r["lb_version"] for r in rows} == {"Keepalived v2.2.7"}
    figures_per_check = {}
    for r in rows:
        figures_per_check.setdefault(r["check"], set()).add(r["figure"])
    assert "outage_ms" in figures_per_check["failover-budget"]
    assert "outage_ms" not in figures_per_check["failover-degradation"]  # no timeline copied into every verdict
    assert figures_per_check["affinity-sticky"] == {"clients", "answers", "max_backends_per_client",
                                                     "backends_over_all_clients"}
    assert len(rows) < 40


def test_a_figure_shared_by_verdicts_of_one_check_is_written_once_and_a_repeated_check_is_numbered():
    result = failover_result()
    result.verdicts[1]["figures"]["budget_ms"] = result.verdicts[0]["figures"]["budget_ms"]  # shared
    arp = {"check": "arp-ownership", "passed": True, "expected": "e", "measured": "m", "category": ""}
    result.verdicts += [{**arp, "figures": {"replies": 2}}, {**arp, "figures": {"replies": 3}}]
    rows = rows_of(report_of(result))
    assert [(r["check"], r["figure"]) for r in rows].count(("failover-budget", "budget_ms")) == 1
    assert not any(r["check"] == "failover-degradation" and r["figure"] == "budget_ms" for r in rows)
    assert [(r["nth"], r["value"]) for r in rows if r["check"] == "arp-ownership"] == [("1", "2"), ("2", "3")]


def test_booleans_never_become_history_figures():
    result = affinity_result()
    result.verdicts[0]["figures"].update(old_dataplane_serves=True, stuck=False, measured_ms=None)
    rows = rows_of(report_of(result))
    assert {r["figure"] for r in rows} >= {"clients", "measured_ms"}
    assert not {"old_dataplane_serves", "stuck"} & {r["figure"] for r in rows}
    assert not {"True", "False"} & {r["value"] for r in rows}


def test_a_tier_with_passes_and_skips_is_partial_not_success():
    passed, skipped = affinity_result(), affinity_result()
    skipped.nodeid, skipped.outcome, skipped.verdicts = skipped.nodeid.replace("rr", "random"), "skipped", []
    assert conformance.tier_result([passed, skipped]) == "partial"
    assert conformance.tier_result([passed]) == "success"
    balancing = next(p for p in report_of(passed, skipped)["profiles"] if p["name"] == "BALANCING")
    assert balancing["extended"]["result"] == "partial" and balancing["result"] == "partial"


def test_the_implementation_version_is_one_clean_line_and_the_banner_is_kept():
    impl = report_of(affinity_result())["implementation"]
    assert impl["version"] == "Keepalived v2.2.7" and impl["version_banner"] == "Keepalived v2.2.7 (01/16,2022)"
    assert conformance.clean_version("v0.16.1") == "v0.16.1"
    assert conformance.clean_version("\nKeepalived v2.2.7 (01/16,2022)\n\nCopyright (C) 2001-2021") == "Keepalived v2.2.7"


@pytest.fixture
def umask_077():
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_report_files_are_0644_and_directories_0755_whatever_the_umask(tmp_path, umask_077):
    report_dir = tmp_path / "reports" / "run"
    conformance.write(report_dir, report_of(failover_result()))
    files.replace_bytes(files.make_dir(report_dir / "evidence" / "t") / "a.pcap", b"x")
    files.append_text(report_dir / "new.csv", "a\n")
    for path in [report_dir, *report_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    assert stat.S_IMODE((tmp_path / "reports").stat().st_mode) == 0o755
    history = list(csv.reader((report_dir / "history.csv").open()))
    assert history[0] == conformance.HISTORY_HEADER


def test_history_rows_carry_the_checks_outcome_so_a_partial_verdict_of_an_inconclusive_check_is_not_read_as_a_pass():
    result = failover_result()
    result.outcome = "inconclusive"
    rows = rows_of(report_of(result))
    assert rows and {r["outcome"] for r in rows} == {"inconclusive"}
