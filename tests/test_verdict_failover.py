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


def test_a_node_that_held_the_vip_on_the_way_to_the_new_owner_restored_the_service():
    """The case of a clean-clone CI run (owner-collapse mutant, node-isolate svc2, Local, 10 ms probes): worker2
    and worker3 both took over, the client's neighbour entry pointed at worker3 and was answered through it from
    531 ms; the reported owner worker2 served only from 1869 ms, after the client re-resolved the VIP. Clients were
    served from 531 ms: the outage is 531 ms, not 1869 ms, and the failures before it are counted as before."""
    pattern = ["worker"] * 100 + ["worker"] * 15 + [None] * 38 + ["worker3"] * 134 + ["worker2"] * 64
    tl = timeline(pattern, kind="node-isolate")
    assert tl.outage_ms == pytest.approx(530) and tl.ms(tl.first_via_new) == pytest.approx(1870)
    assert tl.first_other == "worker3" and tl.phases["fault_to_takeover"]["failed"] == 38
    assert tl.phases["after_takeover"]["answered_via"] == {"worker3": 134, "worker2": 64}
    v = within_budget(tl, 1.5)
    assert v.passed and v.measured.startswith(
        "outage 530 ms: service restored through worker3 at 530.0 ms, which held the VIP before the new owner worker2 "
        "(first answer through it at 1870.0 ms; the old owner worker last answered: 140.0 ms)")
    assert not within_budget(tl, 0.529).passed
    f = tl.figures()
    assert (f["first_other"], f["first_via_other_ms"], f["outage_ms"]) == ("worker3", pytest.approx(530), 530.0)
    # failures after another node served are the takeover's degradation, judged, not dropped
    broken = timeline(["worker"] * 100 + [None] * 50 + ["worker3"] * 10 + [None] * 40 + ["worker2"] * 50,
                      kind="node-isolate")
    assert broken.phases["after_takeover"]["failed"] == 40 and not degradation(broken, 0.0, "Local").passed
    # the new owner never serving stays a failure, whoever else answered, and no takeover phase begins
    never = timeline(["worker"] * 100 + [None] * 20 + ["worker3"] * 80, kind="node-isolate")
    assert not within_budget(never, 9).passed and never.outage_ms is None
    assert never.phases["after_takeover"]["probes"] == 0 and never.phases["fault_to_takeover"]["probes"] == 100


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
    assert v.passed and v.measured.startswith("99 of 299 probes failed (33%: TimeoutError 99) to the undo")
    healthy_expectation = degradation(tl, 0.0, "every endpoint stays reachable")
    assert (healthy_expectation.passed, healthy_expectation.category) == (False, "degraded after takeover")
    assert healthy_expectation.expected.startswith("after the takeover at most 5% of probes fail")


def test_degradation_without_a_takeover_fails():
    v = degradation(timeline(["worker"] * 100 + [None] * 100, new="worker2"), 0.0, "x")
    assert not v.passed and v.measured == "no takeover through the new owner to measure from"


def test_garp_from_new_owner_after_the_fault_only():
    tl = timeline(["worker"] * 100 + [None] * 30 + ["worker2"] * 70,
                  garps=[GarpFrame(FAULT - 0.5, 1, NEW, NEW), GarpFrame(FAULT + 0.28, 1, NEW, NEW)])
    v = garp_from_new_owner(tl)
    assert v.passed and v.measured == f"first GARP from {NEW} at 280.0 ms"
    wrong = garp_from_new_owner(timeline(["worker"] * 200, garps=[GarpFrame(FAULT + 0.1, 1, OLD, OLD)]))
    assert (wrong.passed, wrong.category) == (False, "GARP from wrong MAC")
    assert garp_from_new_owner(timeline(["worker"] * 200)).category == "GARP missing"
    assert garp_from_new_owner(timeline(["worker"] * 200, new=None)).measured == "no new owner was found"


FAILBACK = ["worker"] * 100 + [None] * 30 + ["worker2"] * 270 + ["worker"] * 200  # undo at 4.0 s, back at 4.0


def test_failback_announced_and_followed_passes():
    tl = timeline(FAILBACK, undo_at=3.9, garps=[GarpFrame(T0 + 3.95, 1, OLD, OLD)],
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
    tl = timeline(FAILBACK, undo_at=3.9, garps=[GarpFrame(T0 + 3.95, 1, OLD, OLD)],
                  neighbour=[NeighbourEntry(T0 + 1.3, NEW)])
    v = failback(tl, 1.5)
    assert not v.passed and v.measured.startswith("the client still points elsewhere")


def test_failback_gap_over_budget_and_missing_undo():
    gap = ["worker"] * 100 + [None] * 30 + ["worker2"] * 270 + [None] * 60 + ["worker"] * 140
    tl = timeline(gap, undo_at=4.0, garps=[GarpFrame(T0 + 4.5, 1, OLD, OLD)], neighbour=[NeighbourEntry(T0 + 4.6, OLD)])
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


# -- boundaries and branches pinned for mutation testing (bench/bench_mutation_verdicts.py) ----------------------
# Equivalent mutants, explained: `_longest_gap`'s `p.t > end` → `>=` gives the same gap (the probe at `end`
# closes it either way); `tl.undo is None or tl.failback_gap is None` → `and`, and `first_via_new is None or
# n == 0` → `and`: both operands are None (or 0) together by construction; `if tl.phases` → `or True`: phases are
# always filled by build_timeline.
def tl_at(pattern, undo_at=None, garps=(), neighbour=(), final="worker", new="worker2", serves=False, fault=FAULT,
          macs=MACS):
    trace_, probes = probes_of(pattern)
    return build_timeline(with_l2(trace_, garps, neighbour), probes, fault_kind="node-stop", fault=fault,
                          undo=None if undo_at is None else T0 + undo_at, victim="worker", new_owner=new,
                          final_owner=final if undo_at is not None else None, node_macs=macs,
                          old_dataplane_serves=serves)


def test_fault_exactly_at_either_end_of_the_recording_is_accepted():
    trace_, probes = probes_of(["worker"] * 10)
    for t in (trace_.start, trace_.end):
        assert build_timeline(trace_, probes, fault_kind="node-stop", fault=t, undo=None, victim="worker",
                              new_owner=None, final_owner=None, node_macs=MACS, old_dataplane_serves=False).fault == t


def test_a_probe_exactly_at_the_fault_belongs_to_the_fault_phase():
    tl = tl_at(["worker"] * 101 + [None] * 29 + ["worker2"] * 70)  # index 100 is at the fault, answered by worker
    assert tl.ms(tl.last_success_before) == pytest.approx(-10) and tl.ms(tl.last_via_old) == pytest.approx(0)
    assert tl.phases["before"]["probes"] == 100


def test_probes_exactly_at_the_takeover_and_at_the_undo_belong_to_the_later_phase():
    tl = tl_at(["worker"] * 100 + [None] * 30 + ["worker2"] * 270 + ["worker"] * 200, undo_at=4.0,
               garps=[GarpFrame(T0 + 4.0, 1, OLD, OLD)], neighbour=[NeighbourEntry(T0 + 4.0, OLD)])
    assert tl.phases["fault_to_takeover"]["probes"] == 30 and tl.phases["after_takeover"]["probes"] == 270
    assert tl.phases["after_undo"]["probes"] == 200 and tl.ms(tl.first_via_final) == pytest.approx(3000)
    assert tl.ms(tl.garp_from_final_owner) == pytest.approx(3000)  # a GARP exactly at the undo counts


def test_garp_exactly_at_the_fault_or_at_the_undo_counts_for_the_new_owner():
    tl = tl_at(["worker"] * 100 + ["worker2"] * 100, undo_at=2.0,
               garps=[GarpFrame(FAULT, 1, NEW, NEW), GarpFrame(T0 + 2.0, 1, OLD, OLD)])
    assert tl.ms(tl.garp_from_new_owner) == 0.0 and tl.garp_macs == (OLD, NEW)  # a GARP exactly at the fault counts
    late = tl_at(["worker"] * 100 + ["worker2"] * 100, undo_at=2.0, garps=[GarpFrame(T0 + 2.0, 1, NEW, NEW)])
    assert late.ms(late.garp_from_new_owner) == pytest.approx(1000)  # exactly at the undo: still the fault phase


def test_the_longest_gap_keeps_the_first_of_equal_gaps_and_counts_an_answer_at_the_fault():
    pattern = ["worker"] * 101 + [None] * 9 + ["worker"] + [None] * 9 + ["worker2"] * 80
    tl = tl_at(pattern, serves=True)
    assert tl.gap_ms == pytest.approx(100) and tl.ms(tl.gap[0]) == pytest.approx(0)


def test_degradation_exactly_at_the_bound_passes():
    pattern = ["worker"] * 100 + [None] * 10 + ["worker2"] * 19 + [None]  # 1 of 20 after the takeover: 5 %
    tl = tl_at(pattern)
    v = degradation(tl, 0.0, "every endpoint stays reachable")
    assert v.figures["bound_failed_share"] == 0.05 and v.figures["failed_share_after_takeover"] == 0.05
    assert v.passed and v.measured == "1 of 20 probes failed (5%: TimeoutError 1) until 290.0 ms, answered via worker2: 19"
    assert tl.ms(tl.degraded_until) == pytest.approx(290)


def test_degradation_bound_includes_three_sigma_and_the_no_failure_text():
    tl = tl_at(["worker"] * 100 + [None] * 10 + ["worker2"] * 90)
    v = degradation(tl, 1 / 3, "x")
    assert v.figures["bound_failed_share"] == pytest.approx(1 / 3 + 0.05 + 3 * (2 / 9 / 90) ** 0.5, abs=1e-4)
    assert v.measured == "0 of 90 probes failed (0%), answered via worker2: 90"


def test_phase_counts_unattributed_answers():
    trace_, _ = probes_of(["worker"] * 200)
    probes = attribute(trace_.samples, "Cluster", {}, {})  # no address known: every answer unattributed
    tl = build_timeline(trace_, probes, fault_kind="agent-kill", fault=FAULT, undo=None, victim="worker",
                        new_owner="worker2", final_owner=None, node_macs=MACS, old_dataplane_serves=True)
    assert tl.phases["before"]["answered_via"] == {"unattributed": 100}


def test_failback_exactly_at_the_budget_passes_and_unknown_final_mac_fails():
    gap = ["worker"] * 100 + [None] * 30 + ["worker2"] * 270 + [None] * 50 + ["worker"] * 150
    tl = tl_at(gap, undo_at=4.0, garps=[GarpFrame(T0 + 4.5, 1, OLD, OLD)], neighbour=[NeighbourEntry(T0 + 4.6, OLD)])
    assert tl.figures()["failback_longest_gap_ms"] == 500.0
    assert failback(tl, 0.5).passed
    ghost = tl_at(gap, undo_at=4.0, final="ghost")
    v = failback(ghost, 9)
    assert (v.passed, v.category, v.measured) == (False, "failback not announced", "no single final owner after the undo")
    assert tl_at(FAILBACK).figures()["failback_longest_gap_ms"] is None


def test_garp_texts_and_a_new_owner_without_a_known_mac():
    wrong = garp_from_new_owner(tl_at(["worker"] * 200, garps=[GarpFrame(FAULT + 0.1, 1, OLD, OLD)]))
    assert wrong.measured == f"GARP from other ARP senders only: {OLD}"
    none_seen = garp_from_new_owner(tl_at(["worker"] * 200))
    assert none_seen.measured == "GARP none credited to it"
    unknown = garp_from_new_owner(tl_at(["worker"] * 200, new="ghost"))
    assert (unknown.passed, unknown.measured) == (False, "no new owner was found")


def test_a_garp_claiming_the_new_owners_mac_from_elsewhere_is_not_credited():
    """The issue-23 case: the owner's own GARP never reached the client, another host sent frames with the new
    owner's MAC as ARP sender and its own MAC as Ethernet source. Before, garp-on-takeover passed ("first GARP
    from <owner MAC>"); the takeover and the failback are now judged without them, and they are named."""
    spoof = "02:00:00:00:be:ef"
    tl = tl_at(FAILBACK, undo_at=4.0, garps=[GarpFrame(FAULT + 0.28, 1, NEW, spoof),
                                             GarpFrame(T0 + 4.05, 1, OLD, spoof)],
               neighbour=[NeighbourEntry(FAULT + 0.3, NEW), NeighbourEntry(T0 + 4.06, OLD)])
    assert tl.garp_from_new_owner is None and tl.garp_from_final_owner is None
    claim = f"1 frame with ARP sender {NEW} (worker2) from Ethernet source {spoof}"
    assert claim in tl.garp_claims
    v = garp_from_new_owner(tl)
    assert (v.passed, v.category) == (False, "GARP missing") and claim in v.measured
    back = failback(tl, 1.5)
    assert (back.passed, back.category) == (False, "failback not announced")
    assert back.measured.startswith("the returning owner was silent") and claim not in back.measured  # per phase
    assert f"1 frame with ARP sender {OLD} (worker) from Ethernet source {spoof}" in back.measured
    rows = tl.figures()["garp_frames"]
    assert [(r["arp_sender_mac"], r["ether_src"], r["credited"], r["node"]) for r in rows] == [
        (NEW, spoof, False, None), (OLD, spoof, False, None)]
    assert rows[0]["t_ms"] == 280.0 and rows[0]["why"] == "claims worker2's MAC from another Ethernet source"


def test_a_credited_garp_beside_a_claim_from_elsewhere_is_a_source_mismatch():
    tl = tl_at(["worker"] * 100 + [None] * 30 + ["worker2"] * 70,
               garps=[GarpFrame(FAULT + 0.28, 1, NEW, NEW), GarpFrame(FAULT + 0.29, 1, NEW, OLD)])
    v = garp_from_new_owner(tl)
    assert (v.passed, v.category) == (False, "ARP source mismatch")
    assert v.measured == (f"first GARP from {NEW} at 280.0 ms; not credited: 1 frame with ARP sender {NEW} (worker2) "
                          f"from Ethernet source {OLD}")
    assert [r["credited"] for r in tl.figures()["garp_frames"]] == [True, False]


def test_within_budget_texts_name_who_served():
    never = within_budget(tl_at(["worker"] * 100 + [None] * 30 + ["worker2"] * 70), 1.5)
    assert "(the old owner worker last answered: never after the fault)" in never.measured
    no_old = within_budget(tl_at(["worker"] * 100 + [None] * 100), 1.5)
    assert no_old.measured == ("no probe answered through the new owner worker2 before the undo; answered via "
                               "nobody before the takeover")
    assert no_old.expected == "another node takes node-stop of worker over and the VIP serves through it within 1500 ms"


# More equivalent mutants, explained: `after = … if (undo is not None) or True` (with no undo, `stop` is the end
# of the recording and no probe lies at or after it); `round(x, None)` of the 10 ms resolution (10 == 10.0);
# `tl.phases.get("after_takeover", None)` (build_timeline always fills that phase); `taken = … (other.t if
# (other is not None) or True else first_new)` (once the new owner, never the victim, has answered, `other` is that
# answer or an earlier one through another node, so it is never None there); `tl.undo - tl.degraded_until
# < 0.25` → `<=` (a text choice at exactly 250 ms, below the probe resolution's meaning).
def test_figures_are_relative_times_and_pinned():
    tl = tl_at(["worker"] * 100 + [None] * 30 + ["worker2"] * 70, garps=[GarpFrame(FAULT + 0.28, 1, NEW, NEW)],
               neighbour=[NeighbourEntry(FAULT + 0.29, NEW)])
    f = tl.figures()
    assert f["first_via_new_ms"] == pytest.approx(300) and f["last_via_old_ms"] is None  # nothing via worker after
    assert f["longest_gap_ms"] == pytest.approx(300) and f["longest_gap_from_ms"] == 0.0  # measured from the fault
    assert f["neighbour_to_new_owner_ms"] == pytest.approx(290) and f["end_ms"] == pytest.approx(1000)
    assert f["garp_from_new_owner_ms"] == pytest.approx(280)
    v = within_budget(tl, 1.5)
    assert v.measured.endswith("first GARP from worker2 at 280.0 ms; resolution 10 ms")


def test_no_undo_ignores_garps_for_the_final_owner():
    tl = tl_at(["worker"] * 200, garps=[GarpFrame(FAULT + 0.1, 1, OLD, OLD)])
    assert tl.garp_from_final_owner is None and tl.failback_gap is None


def test_probe_errors_are_kept():
    _, probes = probes_of(["worker", None])
    assert probes[1].error == "TimeoutError" and probes[0].error is None


def test_degradation_figures_keep_the_expectation():
    tl = tl_at(["worker"] * 100 + [None] * 10 + ["worker2"] * 90)
    assert degradation(tl, 1 / 3, "x").figures["expected_failed_share"] == 0.3333


# Equivalent, explained: `_longest_gap` with `p.t <= start` (an answer exactly at the start closes a zero-length gap);
# `garp_from_final_owner … if (undo is not None) or True` (without an undo there is no final owner, so no MAC to find);
# `round(gap, None)` of the failback gap (compared with the budget in whole ms either way); `end - last >= best`
# in `_longest_gap` (which of two exactly equal gaps is named: a float tie that real probe times do not produce).
def test_the_gap_where_the_old_data_plane_serves_ends_at_the_first_answer_through_the_new_owner():
    pattern = ["worker"] * 120 + [None] * 2 + ["worker2"] * 20 + [None] * 20 + ["worker2"] * 38  # degraded later
    tl = tl_at(pattern, serves=True)
    assert tl.gap_ms == pytest.approx(30)  # not the 210 ms stretch after the takeover (that is degradation)


def test_the_failover_check_asks_who_answers_from_another_client_than_it_records():
    """An answer to a who-has (or an NA with Override) moves the asker's neighbour entry: asked from the recording
    client, the suite's own probe moved it to the new owner and failover-budget passed with every GARP dropped
    (garp-loss, na-suppressed: 12 of 12; both mutants now target failover-budget, tests/test_mutants.py)."""
    from pytest_lbconform.platforms import kind, lab
    from pytest_lbconform.providers.mutants import MUTANTS
    from pytest_lbconform.suites import test_failover as suite

    assert suite.RECORDER != suite.ASKER
    assert {suite.RECORDER, suite.ASKER} <= set(kind.CLIENTS) & set(lab.CLIENT_OFFSETS)
    assert all("failover-budget" in MUTANTS[m].targets for m in ("garp-loss", "na-suppressed"))
