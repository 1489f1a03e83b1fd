"""bench/bench_speed.py keeps what a failed check said (a false failure there must be explainable afterwards)."""

from __future__ import annotations

from tests.bench_modules import load_bench


def test_a_failed_check_keeps_its_failing_verdicts_and_timeline():
    bench = load_bench("bench_speed")
    check = {"id": "suites/test_failover.py::test_failover[lab-random-agent-kill-svc1]", "outcome": "failed",
             "message": "failover-degradation: 17 of 134 probes failed",
             "verdicts": [{"check": "failover-budget", "passed": True, "expected": "≤ 3 s", "measured": "16 ms"},
                          {"check": "failover-degradation", "passed": False, "expected": "≤ 0.5 %",
                           "measured": "17 of 134", "category": "degraded", "figures": {"failed": 17}}],
             "timeline": {"undo_ms": 900}}
    kept = bench.failure(check)
    assert kept["message"] == check["message"] and kept["timeline"] == {"undo_ms": 900}
    assert [v["check"] for v in kept["verdicts"]] == ["failover-degradation"]
    assert kept["verdicts"][0]["figures"] == {"failed": 17}
