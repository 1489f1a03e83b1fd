"""Failover timelines judged by who forwards, on a recorded trace and on synthetic ones.

``tests/data/lab_rr_node_stop_trace.json`` was recorded on the lab (rr mode, svc1, node-stop on the
owner; the availability probe every 10 ms): after ``docker kill`` the dying node kept forwarding for
109 ms, and the new owner's first gratuitous ARP came at 373 ms. The heuristic the suite used
before ("recovered at the first success from which 5 of the next 10 succeed") called the dying
node's last answers a recovery; judged by who forwards, the VIP is restored only through the new owner.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_lbconform.probes.records import AvailabilityTrace, GarpFrame, NeighbourEntry, Sample
from pytest_lbconform.verdicts.failover import (
    attribute,
    build_timeline,
    degradation,
    expected_degradation,
    failback,
    garp_from_new_owner,
    within_budget,
)

DATA = Path(__file__).parent / "data" / "lab_rr_node_stop_trace.json"
NEW, OLD, THIRD = "02:42:ac:12:00:04", "02:42:ac:12:00:03", "02:42:ac:12:00:05"
MACS = {"worker": OLD, "worker2": NEW, "worker3": THIRD}
IPS = {"10.0.0.3": "worker", "10.0.0.4": "worker2", "10.0.0.5": "worker3"}
T0, FAULT = 1000.0, 1001.0


def recorded():
    raw = json.loads(DATA.read_text())
    trace = AvailabilityTrace("vip", raw["interval"], raw["timeout"], raw["start"], raw["end"],
                              tuple(Sample(**s) for s in raw["samples"]), tuple(GarpFrame(**g) for g in raw["garps"]),
                              tuple(NeighbourEntry(**n) for n in raw["neighbour"]))
    owners = {v["ip"]: k for k, v in raw["nodes"].items()}
    macs = {k: v["mac"] for k, v in raw["nodes"].items()}
    probes = attribute(trace.samples, "Cluster", owners, raw["backends"])
    return raw, trace, probes, macs


def old_heuristic_outage_ms(trace, fault, k=5):
    """What the suite reported before: first success after the first failure with k of the next 2k ok."""
    samples = sorted(trace.samples, key=lambda s: s.t)
    start = next(i for i, s in enumerate(samples) if s.t >= fault)
    first_fail = next(i for i in range(start, len(samples)) if not samples[i].ok)
    for i in range(first_fail, len(samples)):
        if samples[i].ok and sum(s.ok for s in samples[i:i + 2 * k]) >= k:
            return (samples[i].t - fault) * 1000
    return None


def test_the_recorded_dying_node_is_not_a_recovery():
    raw, trace, probes, macs = recorded()
    tl = build_timeline(trace, probes, fault_kind="node-stop", fault=raw["fault"], undo=None, victim=raw["victim"],
                        new_owner=raw["new_owner"], final_owner=None, node_macs=macs, old_dataplane_serves=False)
    garp_ms = tl.ms(tl.garp_from_new_owner)
    assert garp_ms == pytest.approx(373, abs=5)
    assert tl.ms(tl.last_via_old) == pytest.approx(109, abs=5)  # the dying node's last answer
    assert old_heuristic_outage_ms(trace, raw["fault"]) < garp_ms - 100  # the heuristic called that "recovered"
    assert tl.outage_ms >= garp_ms - tl.resolution * 1000  # nothing through the new owner before its GARP
    assert tl.outage_ms == pytest.approx(garp_ms, abs=60)
    verdict = within_budget(tl, 1.5)
    assert verdict.passed and "service restored through the new owner worker2" in verdict.measured
    assert "the old owner worker last answered: 10" in verdict.measured


def probes_of(pattern, interval=0.01, policy="Cluster"):
    """``pattern``: one entry per probe from T0: None (failed) or the node short name that forwarded it."""
    samples = []
    for i, via in enumerate(pattern):
        ip = {v: k for k, v in IPS.items()}.get(via or "")
        samples.append(Sample(t=T0 + i * interval, ok=via is not None, backend=f"webpod-{via}" if via else None,
                              remote=ip, error=None if via else "TimeoutError"))
    trace_ = AvailabilityTrace("vip", interval, 0.2, T0, T0 + len(pattern) * interval, tuple(samples))
    backends = {f"webpod-{n}": n for n in MACS}
    return trace_, attribute(samples, policy, IPS, backends)


def with_l2(trace_, garps=(), neighbour=()):
    return AvailabilityTrace(trace_.vip, trace_.interval, trace_.timeout, trace_.start, trace_.end, trace_.samples,
                             tuple(garps), tuple(neighbour))


def timeline(pattern, kind="node-stop", undo_at=None, final="worker", new="worker2", serves=False, garps=(),
             neighbour=()):
    trace_, probes = probes_of(pattern)
    return build_timeline(with_l2(trace_, garps, neighbour), probes, fault_kind=kind, fault=FAULT,
                          undo=None if undo_at is None else T0 + undo_at, victim="worker", new_owner=new,
                          final_owner=final if undo_at is not None else None, node_macs=MACS, old_dataplane_serves=serves)


def test_attribution_per_policy():
    s = [Sample(t=1, ok=True, backend="webpod1", remote="10.0.0.4"), Sample(t=0, ok=False, error="x")]
    assert [p.via for p in attribute(s, "Cluster", IPS, {"webpod1": "worker"})] == [None, "worker2"]
    assert [p.via for p in attribute(s, "Local", IPS, {"webpod1": "worker"})] == [None, "worker"]
    assert attribute([Sample(t=0, ok=True, remote="9.9.9.9")], "Cluster", IPS, {})[0].via is None


def test_restored_through_the_new_owner_when_the_old_data_plane_is_gone():
    pattern = ["worker"] * 100 + ["worker"] * 5 + [None] * 30 + ["worker2"] * 65  # dying node for 50 ms
    tl = timeline(pattern)
    assert tl.outage_ms == pytest.approx(350) and tl.ms(tl.last_via_old) == pytest.approx(40)
    assert tl.gap_ms == pytest.approx(310)  # between answers: the gap alone would say 310, the outage says 350
    v = within_budget(tl, 0.35)
    assert v.passed and v.measured.startswith("outage 350 ms: service restored through the new owner worker2 at 350.0")
    assert not within_budget(tl, 0.349).passed


def test_old_data_plane_serving_is_judged_by_the_longest_gap():
    pattern = ["worker"] * 120 + [None] * 2 + ["worker2"] * 78  # agent-kill: the old node forwards until the GARP
    tl = timeline(pattern, kind="agent-kill", serves=True)
    assert tl.outage_ms == pytest.approx(30) and tl.ms(tl.first_via_new) == pytest.approx(220)
    v = within_budget(tl, 1.5)
    assert v.passed and "the old data plane kept serving until clients moved: longest gap without an answer 30 ms" \
        in v.measured and "first answer through worker2 at 220.0 ms" in v.measured


def test_no_answer_through_the_new_owner_fails_even_if_the_old_one_serves():
    tl = timeline(["worker"] * 300, kind="agent-kill", serves=True)
    v = within_budget(tl, 1.5)
    assert (v.passed, v.category) == (False, "failover over budget")
    assert v.measured.startswith("no probe answered through the new owner worker2 before the undo; the old owner worker "
                                 "last answered at 1990.0 ms")


def test_no_takeover_at_all():
    v = within_budget(timeline(["worker"] * 100 + [None] * 100, new=None), 1.5)
    assert not v.passed and v.measured.startswith("no other node took the VIP over; answered via nobody")


def test_degradation_expected_share_and_bound():
    assert expected_degradation(1, 3, "Cluster") == pytest.approx(1 / 3)
    assert expected_degradation(1, 3, "Local") == 0.0 and expected_degradation(0, 0, "Cluster") == 0.0
    third = ["worker"] * 100 + [None] * 20 + [("worker2" if i % 3 else None) for i in range(300)]
    tl = timeline(third, undo_at=4.2)
    v = degradation(tl, 1 / 3, "the victim's endpoints stay in the map")
    assert v.passed and v.measured.startswith("99 of 299 probes failed (33%) to the undo")
    healthy_expectation = degradation(tl, 0.0, "every endpoint stays reachable")
    assert (healthy_expectation.passed, healthy_expectation.category) == (False, "degraded after takeover")
    assert healthy_expectation.expected.startswith("after the takeover at most 5% of probes fail")


def test_degradation_without_a_takeover_fails():
    v = degradation(timeline(["worker"] * 100 + [None] * 100, new="worker2"), 0.0, "x")
    assert not v.passed and v.measured == "no takeover through the new owner to measure from"


def test_garp_from_new_owner_after_the_fault_only():
    tl = timeline(["worker"] * 100 + [None] * 30 + ["worker2"] * 70,
                  garps=[GarpFrame(FAULT - 0.5, 1, NEW), GarpFrame(FAULT + 0.28, 1, NEW)])
    v = garp_from_new_owner(tl)
    assert v.passed and v.measured == f"first GARP from {NEW} at 280.0 ms"
    wrong = garp_from_new_owner(timeline(["worker"] * 200, garps=[GarpFrame(FAULT + 0.1, 1, OLD)]))
    assert (wrong.passed, wrong.category) == (False, "GARP from wrong MAC")
    assert garp_from_new_owner(timeline(["worker"] * 200)).category == "GARP missing"
    assert garp_from_new_owner(timeline(["worker"] * 200, new=None)).measured == "no new owner was found"


FAILBACK = ["worker"] * 100 + [None] * 30 + ["worker2"] * 270 + ["worker"] * 200  # undo at 4.0 s, back at 4.0


def test_failback_announced_and_followed_passes():
    tl = timeline(FAILBACK, undo_at=3.9, garps=[GarpFrame(T0 + 3.95, 1, OLD)],
                  neighbour=[NeighbourEntry(FAULT + 0.3, NEW), NeighbourEntry(T0 + 3.96, OLD)])
    v = failback(tl, 1.5)
    assert v.passed, v.message
    assert v.measured == f"final owner worker (moved back); GARP at 50.0 ms after the undo; neighbour entry {OLD}; " \
                         "longest gap 10 ms"
    assert tl.ms(tl.first_via_final) == pytest.approx(3000)


def test_a_silent_returning_owner_fails_failback():
    tl = timeline(FAILBACK, undo_at=3.9, neighbour=[NeighbourEntry(T0 + 3.96, OLD)])
    v = failback(tl, 1.5)
    assert (v.passed, v.category) == (False, "failback not announced")
    assert v.measured.startswith("the returning owner was silent: final owner worker (moved back); no GARP after the undo")


def test_a_client_still_pointing_at_the_former_owner_fails_failback():
    tl = timeline(FAILBACK, undo_at=3.9, garps=[GarpFrame(T0 + 3.95, 1, OLD)], neighbour=[NeighbourEntry(T0 + 1.3, NEW)])
    v = failback(tl, 1.5)
    assert not v.passed and v.measured.startswith("the client still points elsewhere")


def test_failback_gap_over_budget_and_missing_undo():
    gap = ["worker"] * 100 + [None] * 30 + ["worker2"] * 270 + [None] * 60 + ["worker"] * 140
    tl = timeline(gap, undo_at=4.0, garps=[GarpFrame(T0 + 4.5, 1, OLD)], neighbour=[NeighbourEntry(T0 + 4.6, OLD)])
    v = failback(tl, 0.5)
    assert (v.passed, v.category) == (False, "failback over budget") and "longest gap 600 ms" in v.measured
    assert failback(timeline(FAILBACK), 1.5).measured == "the recording ended before the undo"
    stayed = failback(timeline(FAILBACK, undo_at=4.0, final="worker2", neighbour=[NeighbourEntry(T0 + 1.3, NEW)]), 9)
    assert "(stayed)" in stayed.measured and not stayed.passed  # worker2 stayed, but probes after the undo went to worker
    assert stayed.measured.startswith("no probe answered through the final owner after the undo")


def test_a_fault_outside_the_recording_is_refused():
    trace_, probes = probes_of(["worker"] * 10)
    with pytest.raises(ValueError, match="outside the recording"):
        build_timeline(trace_, probes, fault_kind="node-stop", fault=T0 + 99, undo=None, victim="worker",
                       new_owner=None, final_owner=None, node_macs=MACS, old_dataplane_serves=False)
