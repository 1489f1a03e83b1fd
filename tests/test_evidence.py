"""Evidence a person reads, in Allure and beside the certification page: a burst as a summary and a CSV, a
capture as pcap and text, the timeline once per check; every file recorded for the page."""

import json
from types import SimpleNamespace

import allure
import pytest

from pytest_lbconform.probes.records import Sample
from pytest_lbconform.report import conformance, evidence

NODEID = "pytest_lbconform/suites/test_snat.py::test_cluster_policy_snats_to_a_node_address[lab-random-mypc]"


@pytest.fixture
def attached(monkeypatch):
    """What went to Allure: name → (body, type)."""
    seen: dict[str, tuple[object, object]] = {}
    monkeypatch.setattr(allure, "attach",
                        lambda body, name, attachment_type: seen.__setitem__(name, (body, attachment_type)))
    return seen


def request_for(nodeid=NODEID):
    return SimpleNamespace(node=SimpleNamespace(nodeid=nodeid, user_properties=[]))


def test_a_burst_is_a_summary_that_counts_every_failure_and_a_csv_of_every_sample(tmp_path, attached):
    samples = [Sample(100.0, True, "webpod1", "172.28.0.3", 0.0021, None, 40001),
               Sample(100.5, False, None, None, None, "timed out", 40002),
               Sample(100.25, True, "webpod2", "172.28.0.3", 0.0015, None, 40003),
               Sample(100.75, False, None, None, None, "refused, then reset", 40004)]
    request = request_for()
    evidence.attach_burst(request, tmp_path, "4 connections from mypc", samples)
    summary = json.loads(attached["4 connections from mypc summary.json"][0])
    assert summary == {"connections": 4, "ok": 2, "failed": {"timed out": 1, "refused, then reset": 1},
                       "source addresses seen by the backends": {"172.28.0.3": 2},
                       "answers per backend": {"webpod1": 1, "webpod2": 1}}
    rows = attached["4 connections from mypc (t in s from the first).csv"][0].decode().splitlines()
    assert rows[0] == "t_s,ok,backend,source_seen,latency_ms,client_port,error"
    assert rows[1:] == ["0.0000,1,webpod1,172.28.0.3,2.10,40001,", "0.2500,1,webpod2,172.28.0.3,1.50,40003,",
                        "0.5000,0,,,,40002,timed out", "0.7500,0,,,,40004,refused; then reset"]
    recorded = [v for k, v in request.node.user_properties if k == evidence.EVIDENCE]
    assert [(e["name"], e["kind"]) for e in recorded] == [("4 connections from mypc summary.json", "json"), (
        "4 connections from mypc (t in s from the first).csv", "csv")]
    for e in recorded:  # the same bytes beside the page, under the test's slug
        assert e["path"].startswith("evidence/test_cluster_policy_snats_to_a_node_address_lab-random-mypc/")
        assert (tmp_path / e["path"]).read_bytes() == attached[e["name"]][0]


def test_any_file_is_evidence_with_its_kind_from_its_name(tmp_path, attached):
    request = request_for()
    path = evidence.attach_file(request, tmp_path, "gratuitous ARP frames.pcap", b"\xd4\xc3\xb2\xa1")
    assert path == "evidence/test_cluster_policy_snats_to_a_node_address_lab-random-mypc/gratuitous_ARP_frames.pcap"
    assert attached["gratuitous ARP frames.pcap"][1] == allure.attachment_type.PCAP
    assert request.node.user_properties == [(evidence.EVIDENCE, {"name": "gratuitous ARP frames.pcap", "path": path,
                                                                 "kind": "pcap"})]
    with pytest.raises(ValueError, match="kind 'exe'"):
        evidence.attach_file(request, tmp_path, "tool.exe", b"")


def test_the_timeline_is_recorded_once_and_merged(attached):
    request = request_for()
    shared = {"worker": 3}
    evidence.record_timeline(request, {"fault": "node-stop", "outage_ms": 350.0, "phases": {"before": shared}})
    evidence.record_timeline(request, {"garp_frames": [{"t_ms": 360.0, "op": "request", "arp_sender_mac": "m"}]})
    timelines = [v for k, v in request.node.user_properties if k == evidence.TIMELINE]
    assert len(timelines) == 1 and set(timelines[0]) == {"fault", "outage_ms", "phases", "garp_frames"}


def test_the_report_collects_evidence_and_the_timeline_of_a_check():
    props = [(evidence.EVIDENCE, {"name": "a.png", "path": "evidence/t/a.png", "kind": "png"}),
             (evidence.EVIDENCE, {"name": "a samples.csv", "path": "evidence/t/a_samples.csv", "kind": "csv"}),
             (evidence.TIMELINE, {"fault": "node-stop"}),
             (evidence.PROPERTY, {"check": "failover-budget", "passed": True, "figures": {}})]
    report = SimpleNamespace(nodeid="pytest_lbconform/suites/test_failover.py::test_failover[x]", when="call",
                             passed=True, failed=False, skipped=False, user_properties=props, duration=1.0,
                             longrepr=None)
    result = conformance.from_report(report)
    assert result is not None and result.timeline == {"fault": "node-stop"}
    assert [e["kind"] for e in result.evidence] == ["png", "csv"] and result.plots == ["evidence/t/a.png"]


def test_results_of_one_check_in_two_modes_are_two_allure_tests_not_a_retry(pytester, tmp_path):
    """Allure 2 and 3 fold results with the same name and the same non-excluded parameters into one test with
    "retries": the mode must be part of the identity, and pytest's own ``lb`` parameter (the mode) must survive."""
    pytester.makepyfile(test_two_modes="""
        import pytest
        from pytest_lbconform.report.evidence import label

        @pytest.mark.parametrize("lb", ["random", "rr"])
        def test_check(request, lb):
            label(request, "ARP ownership", "one owner", provider="keepalived", platform="lab", mode=lb,
                  vip="172.28.0.250")
    """)
    results = tmp_path / "allure"
    pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--alluredir={results}").assert_outcomes(passed=2)
    found = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    params = [{p["name"]: (p["value"], bool(p.get("excluded"))) for p in r["parameters"]} for r in found]
    assert sorted(p["lb"] for p in params) == [("'random'", False), ("'rr'", False)]
    assert sorted(p["mode"] for p in params) == [("'random'", False), ("'rr'", False)]
    assert all(p["provider"] == ("'keepalived'", False) and p["vip"][1] for p in params)
    identities = {(r["name"].split("[")[0], tuple(sorted((p["name"], p["value"]) for p in r["parameters"]
                                                         if not p.get("excluded")))) for r in found}
    assert len(identities) == 2 and len({r["historyId"] for r in found}) == 2


def test_label_refuses_to_overwrite_pytests_lb_parameter():
    with pytest.raises(ValueError, match="provider="):
        evidence.label(None, "ARP ownership", "x", lb="keepalived")  # type: ignore[arg-type]


def test_a_long_evidence_name_keeps_its_extension():
    name = evidence.file_name("gratuitous ARP frames (t in ms after the agent was stopped; credited: ARP sender and "
                              "Ethernet source are the node's MAC).json")
    assert name.endswith(".json") and len(name) <= 120
    assert evidence.file_name("arp who-has 172.28.0.243.pcap") == "arp_who-has_172.28.0.243.pcap"
