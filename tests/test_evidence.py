"""Evidence a person reads: a burst as a summary and a CSV, not kilobytes of raw JSON."""

import json

import allure
import pytest

from pytest_lbconform.probes.records import Sample
from pytest_lbconform.report import evidence


def test_a_burst_is_a_summary_that_counts_every_failure_and_a_csv_of_every_sample(monkeypatch):
    seen: dict[str, object] = {}
    monkeypatch.setattr(evidence, "attach_json", seen.__setitem__)
    monkeypatch.setattr(allure, "attach", lambda body, name, attachment_type: seen.__setitem__(name, body))
    samples = [Sample(100.0, True, "webpod1", "172.28.0.3", 0.0021, None, 40001),
               Sample(100.5, False, None, None, None, "timed out", 40002),
               Sample(100.25, True, "webpod2", "172.28.0.3", 0.0015, None, 40003),
               Sample(100.75, False, None, None, None, "refused, then reset", 40004)]
    evidence.attach_burst("4 connections from mypc", samples)
    summary = seen["4 connections from mypc: summary"]
    assert summary == {"connections": 4, "ok": 2, "failed": {"timed out": 1, "refused, then reset": 1},
                       "source addresses seen by the backends": {"172.28.0.3": 2},
                       "answers per backend": {"webpod1": 1, "webpod2": 1}}
    rows = str(seen["4 connections from mypc (t in s from the first).csv"]).splitlines()
    assert rows[0] == "t_s,ok,backend,source_seen,latency_ms,client_port,error"
    assert rows[1:] == ["0.0000,1,webpod1,172.28.0.3,2.10,40001,", "0.2500,1,webpod2,172.28.0.3,1.50,40003,",
                        "0.5000,0,,,,40002,timed out", "0.7500,0,,,,40004,refused; then reset"]


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
