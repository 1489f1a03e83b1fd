"""bench/probe_starvation.py counts late answers and failures by kind from a run's probe evidence."""

from __future__ import annotations

from tests.bench_modules import load_bench


def test_late_answers_and_failures_are_counted_from_the_samples(tmp_path):
    bench = load_bench("probe_starvation")
    check = tmp_path / "evidence" / "test_failover_lab-random-v4-agent-kill-svc1"
    check.mkdir(parents=True)
    (check / "failover_timeline_agent-kill_svc1_random_IPv4_samples.csv").write_text(
        "t_s,ok,via,latency_ms,error\n-0.19,1,worker,3.40,\n0.10,0,,200.50,TimeoutError: read timed out\n"
        "0.11,1,worker2,412.00,\n0.12,0,,1.2,ConnectionRefusedError: [Errno 111] Connection refused\n")
    (tmp_path / "evidence" / "test_snat_x").mkdir()
    (tmp_path / "evidence" / "test_snat_x" / "burst_samples.csv").write_text("t_s,ok,via,latency_ms,error\n0,0,,1,x\n")
    assert bench.probes(tmp_path) == {"probes": 4, "late_answers": 1,
                                      "failed_by_kind": {"TimeoutError": 1, "ConnectionRefusedError": 1}}
