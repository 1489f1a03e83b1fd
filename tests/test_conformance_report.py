"""The certification report from synthetic results: profiles with teeth (issue: every answer judged)."""

import csv
import json

import jsonschema

from pytest_lbconform import checks
from pytest_lbconform.report import conformance
from pytest_lbconform.report.conformance import CheckResult

VALIDATOR = jsonschema.Draft202012Validator(conformance.schema(), format_checker=jsonschema.FormatChecker())


def build(*args, **kwargs):
    """conformance.build, and the report it built validated against the schema the package ships."""
    report = conformance.build(*args, **kwargs)
    VALIDATOR.validate(report)
    return report


def r(nodeid, outcome, check_id, tier=None, message="", passed=None, capabilities=()):
    row = checks.CHECKS[check_id]
    ok = outcome == "passed" if passed is None else passed
    verdicts = [{"check": check_id, "passed": ok, "expected": "e", "measured": "x", "category": "" if ok else
                 checks.CHECKS[check_id].categories[0], "figures": {"outage_ms": 350.0, "vip": "v"}}]
    if outcome in ("skipped", "inconclusive", "not-applicable"):
        verdicts = []
    return CheckResult(nodeid, conformance.family_of(nodeid), outcome, message, verdicts, profile=row.profile,
                       tier=tier or row.tier, checks=[check_id], capabilities=list(capabilities))


def healthy():
    return [r("suites/test_arp_ownership.py::a", "passed", "arp-ownership"),
            r("suites/test_arp_ownership.py::g", "passed", "garp-on-announcement"),
            r("suites/test_failover.py::f[stop]", "passed", "failover-budget"),
            r("suites/test_failover.py::t[stop]", "passed", "garp-on-takeover"),
            r("suites/test_failover.py::d[stop]", "passed", "failover-degradation"),
            r("suites/test_failover.py::b[stop]", "passed", "failback"),
            r("suites/test_snat.py::c", "passed", "snat-cluster"), r("suites/test_snat.py::l", "passed", "snat-local"),
            r("suites/test_balancing.py::l", "passed", "balancing-local-only"),
            r("suites/test_balancing.py::u", "passed", "balancing-uniform", capabilities=["balancing"])]


def profiles(results, platform="lab", budgets=None):
    report = build(results, {"project": "p", "version": "1"}, {"platform": platform}, budgets=budgets)
    return {p["name"]: p for p in report["profiles"]}


def test_every_registry_profile_is_reported():
    assert set(profiles(healthy())) == set(checks.PROFILES)


def test_healthy_results_are_success_and_service_api_does_not_apply_on_the_lab():
    by_name = profiles(healthy())
    for name in ("L2-ANNOUNCE", "L2-FAILOVER", "SERVICE-TRAFFIC", "BALANCING"):
        assert by_name[name]["result"] == "success", (name, by_name[name])
    assert by_name["SERVICE-API"]["result"] == "not-applicable"
    assert "no Kubernetes API" in by_name["SERVICE-API"]["not_applicable_reason"]
    assert by_name["BALANCING"]["extended"]["supported"] == ["balancing"]


def test_a_core_check_cannot_be_opted_out_of():
    """A provider without a core capability gets a failed check (plugin) and so a failed profile."""
    results = [*healthy()[1:], r("suites/test_arp_ownership.py::a", "failed", "arp-ownership", passed=False,
                                 message="[unsupported core capability] provider x does not declare capability arp")]
    assert profiles(results)["L2-ANNOUNCE"]["result"] == "failure"


def test_an_extended_skip_is_an_unsupported_feature_not_a_core_gap():
    results = [*healthy(), r("suites/test_failover.py::f[freeze]", "skipped", "failover-budget", tier="extended",
                             message="provider x does not declare capability failover:node-freeze")]
    prof = profiles(results)["L2-FAILOVER"]
    assert prof["result"] == "success"
    assert prof["extended"]["result"] == "not-supported"
    assert prof["extended"]["unsupported"][0]["reason"].endswith("failover:node-freeze")


def test_inconclusive_is_neither_a_pass_nor_a_failure():
    results = [*healthy(), r("suites/test_snat.py::c2", "inconclusive", "snat-cluster", message="InfrastructureError")]
    prof = profiles(results)["SERVICE-TRAFFIC"]
    assert prof["result"] == "inconclusive"
    assert prof["core"]["failed"] == 0 and prof["core"]["inconclusive"] == 1
    assert prof["inconclusive"] == [{"id": "suites/test_snat.py::c2", "reason": "InfrastructureError"}]


def test_a_core_check_that_never_ran_makes_the_profile_partial():
    results = [x for x in healthy() if x.checks != ["snat-local"]]
    prof = profiles(results)["SERVICE-TRAFFIC"]
    assert prof["result"] == "partial" and prof["core"]["checks_not_run"] == ["snat-local"]


def test_overridden_budgets_never_read_as_plain_success():
    budgets = {"unit": "s", "used": {"node-stop": 9.0}, "spec": {"node-stop": 1.5}, "overridden": {"*": 9.0}}
    by_name = profiles(healthy(), budgets=budgets)
    assert by_name["L2-FAILOVER"]["result"] == "success (custom budgets)"
    assert by_name["L2-ANNOUNCE"]["result"] == "success"  # no budget judged there
    report = build(healthy(), {}, {"platform": "lab"}, budgets=budgets)
    assert report["budgets"]["overridden"] == {"*": 9.0}


def test_nothing_passed_is_not_tested():
    assert profiles([])["L2-ANNOUNCE"]["result"] == "not-tested"


def test_outcome_of_a_failure_without_a_failing_verdict_is_inconclusive():
    class Report:
        passed, skipped = False, False

    assert conformance.outcome_of(Report(), [], {}) == "inconclusive"
    assert conformance.outcome_of(Report(), [{"check": "snat-local", "passed": True}], {}) == "inconclusive"
    assert conformance.outcome_of(Report(), [{"check": "snat-local", "passed": False}], {}) == "failed"
    Report.skipped = True
    assert conformance.outcome_of(Report(), [], {"applies": False}) == "not-applicable"
    assert conformance.outcome_of(Report(), [], {"applies": True}) == "skipped"


def test_write_produces_json_html_and_a_history_of_numeric_figures(tmp_path):
    report = build([r("suites/test_failover.py::t[a]", "passed", "failover-budget")],
                               {"project": "p", "version": "1"}, {})
    path = conformance.write(tmp_path, report)
    assert json.loads(path.read_text())["kind"] == "ConformanceReport"
    assert "<table class='summary'" in (tmp_path / "conformance.html").read_text()
    conformance.write(tmp_path, report)
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert len(rows) == 2  # one figure per run (the text figure "vip" is left out), two runs
    assert rows[0]["figure"] == "outage_ms" and rows[0]["value"] == "350.0" and rows[0]["unit"] == "ms"
    assert rows[0]["check"] == "failover-budget" and rows[0]["verdict"] == "passed" and rows[0]["run_id"]
    assert rows[0]["profile"] == "L2-FAILOVER" and rows[0]["nth"] == "1"
    assert rows[0]["suite_commit"] == report["suite"]["commit"]


def test_history_keeps_nulls_and_moves_an_older_history_aside(tmp_path):
    (tmp_path / "history.csv").write_text("date,lb,version,check_id,figure,value\nx,y,z,c,f,1\n")
    result = r("suites/test_failover.py::t[a]", "passed", "failover-budget")
    result.verdicts[0]["figures"] = {"garp_from_new_owner_ms": None, "probes": 80, "macs": ["a"]}
    conformance.write(tmp_path, build([result], {"provider": "p", "version": "1"}, {"platform": "lab"}))
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [(x["figure"], x["value"], x["unit"]) for x in rows] == [("garp_from_new_owner_ms", "", "ms"),
                                                                   ("probes", "80", "")]
    assert (tmp_path / "history.old.csv").read_text().startswith("date,lb,version")


def test_a_run_whose_environment_did_not_come_up_is_inconclusive_not_untested():
    report = build([], {}, {"platform": "lab"}, inconclusive_reason="lbconform: cannot set up: engine gone")
    by_name = {p["name"]: p for p in report["profiles"]}
    assert by_name["L2-ANNOUNCE"]["result"] == "inconclusive"
    assert by_name["L2-ANNOUNCE"]["inconclusive_reason"].endswith("engine gone")
    assert by_name["SERVICE-API"]["result"] == "not-applicable"
    assert report["inconclusive_reason"].endswith("engine gone")


def test_the_failover_profile_carries_the_budgets_it_judged_by():
    budgets = {"unit": "s", "used": {"node-stop": 1.5}, "spec": {"node-stop": 1.5}, "overridden": {}}
    by_name = profiles(healthy(), budgets=budgets)
    assert by_name["L2-FAILOVER"]["budgets"] == {"used": {"node-stop": 1.5}, "unit": "s", "overridden": False,
                                                 "overrides": {}}
    assert "budgets" not in by_name["SERVICE-TRAFFIC"]


def test_a_vendor_can_submit_it_json_yaml_and_a_page_that_says_who_what_and_why(tmp_path):
    import yaml

    results = healthy()
    results[2].evidence = [{"name": "failover timeline.png", "path": "evidence/f_stop/failover_timeline.png",
                            "kind": "png"}]
    impl = {"project": "MyLB", "version": "1.2", "organization": "Acme", "url": "https://mylb.example/",
            "contact": ["@acme/lb-maintainers"], "provider": "mylb", "spec": "custom: mylb.yaml"}
    report = build(results, impl, {"platform": "lab"}, capabilities=["arp", "garp"])
    conformance.write(tmp_path, report)
    assert report["suite"]["name"] == "pytest-lbconform" and report["suite"]["version"]
    assert len(report["suite"]["commit"]) in (0, 40)  # 40 in a checkout, empty for an installed wheel
    assert yaml.safe_load((tmp_path / "conformance.yaml").read_text()) == json.loads(
        (tmp_path / "conformance.json").read_text())
    page = (tmp_path / "conformance.html").read_text()
    for shown in ("Acme", "https://mylb.example/", "@acme/lb-maintainers", "arp, garp", "LB: MyLB · 1.2",
                  "<span class='label'>expected</span> ", "class='legend'",
                  "<img class='plot' src='evidence/f_stop/failover_timeline.png'", "<small>2 passed</small>"):
        assert shown in page, shown


def test_the_page_groups_checks_by_family_with_counts_budgets_and_links_to_the_evidence(tmp_path):
    results = healthy()
    results[2].evidence = [{"name": "failover timeline.png", "path": "evidence/f_stop/failover_timeline.png",
                            "kind": "png"}]
    results[2].verdicts[0]["fault"] = "node-stop"
    results[6].outcome = "failed"
    budgets = {"unit": "s", "used": {"node-stop": 5.0, "agent-kill": 2.0}, "spec": {"node-stop": 2.0, "agent-kill": 2.0},
               "overridden": {"node-stop": 5.0}}
    report = build(results, {"project": "p", "version": "1"}, {"platform": "lab"}, budgets=budgets)
    page = conformance.render_html(report)
    # families in registry names, each with its own counts; a family's checks follow its heading
    assert "<h3 class='family'>Failover <small>(4 passed)</small></h3>" in page
    assert "<h3 class='family'>SNAT <small>(1 passed, 1 failed)</small></h3>" in page
    assert page.index("class='family'>SNAT") < page.index("suites/test_snat.py::c") < page.index("class='family'>Balancing")
    assert "<a href='evidence/f_stop/failover_timeline.png' data-kind='png'>failover timeline.png</a>" in page
    # only the fault kinds that ran: node-stop, not agent-kill
    assert "<td>node-stop</td><td>5.0 s</td><td>overridden (the spec says 2.0 s)</td>" in page
    assert "<td>agent-kill</td>" not in page
    assert {c["family"] for p in report["profiles"] for c in p["checks"]} <= set(checks.FAMILIES)


def test_an_older_history_moved_aside_never_overwrites_a_file_already_there(tmp_path):
    (tmp_path / "history.old.csv").write_text("the user's own\n")
    (tmp_path / "history.csv").write_text("date,lb,version,check_id,figure,value\nx,y,z,c,f,1\n")
    result = r("suites/test_failover.py::t[a]", "passed", "failover-budget")
    conformance.write(tmp_path, build([result], {"provider": "p", "version": "1"}, {"platform": "lab"}))
    assert (tmp_path / "history.old.csv").read_text() == "the user's own\n"
    assert (tmp_path / "history.old.1.csv").read_text().startswith("date,lb,version")
