"""Failover timelines on synthetic traces."""

import pytest

from pytest_lbconform.probes.records import AvailabilityTrace, GarpFrame, NeighbourEntry, Sample
from pytest_lbconform.verdicts.failover import build_timeline, garp_from_new_owner, within_budget

NEW, OLD = "02:42:ac:12:00:04", "02:42:ac:12:00:03"
T0 = 1000.0
FAULT = T0 + 1.0


def trace(outcomes, interval=0.01, garps=(), neighbour=()):
    samples = tuple(Sample(t=T0 + i * interval, ok=ok, backend="webpod1" if ok else None)
                    for i, ok in enumerate(outcomes))
    end = T0 + len(outcomes) * interval
    return AvailabilityTrace("vip", interval, 0.2, T0, end, samples, tuple(garps), tuple(neighbour))


def outage_trace(down_from=1.0, up_at=1.3, total=3.0, interval=0.01):
    n = int(total / interval)
    return [not (down_from <= i * interval < up_at) for i in range(n)]


def test_outage_is_measured_from_the_fault_to_stable_recovery():
    tl = build_timeline(trace(outage_trace()), FAULT, NEW)
    assert tl.outage_ms == pytest.approx(300, abs=10)
    assert tl.ms(tl.last_success_before) == pytest.approx(-10, abs=1)
    assert tl.ms(tl.first_failure) == pytest.approx(0, abs=1)


def test_a_lone_success_inside_the_outage_is_not_recovery():
    outcomes = outage_trace()
    outcomes[115] = True  # one lucky probe at +150 ms
    tl = build_timeline(trace(outcomes), FAULT, NEW)
    assert tl.ms(tl.first_success_after) == pytest.approx(150, abs=1)
    assert tl.outage_ms == pytest.approx(300, abs=10)


def test_no_recovery_within_the_window_fails_the_budget():
    outcomes = [i < 100 for i in range(300)]
    tl = build_timeline(trace(outcomes), FAULT, NEW)
    assert tl.outage_ms is None
    verdict = within_budget(tl, 1.5, "node-freeze")
    assert not verdict.passed and "no recovery" in verdict.measured


def test_over_budget_and_within_budget():
    tl = build_timeline(trace(outage_trace(up_at=3.0, total=5.0)), FAULT, NEW)
    assert not within_budget(tl, 1.5, "node-stop").passed
    assert within_budget(tl, 2.5, "node-stop").passed


def test_a_seamless_failover_has_zero_outage():
    tl = build_timeline(trace([True] * 300), FAULT, NEW)
    assert tl.outage_ms == 0.0 and within_budget(tl, 0.1, "agent-kill").passed


def test_every_answer_ok_is_reported_apart_from_the_vip_outage():
    outcomes = outage_trace()
    for i in range(130, 250, 3):  # the victim's backend still in the DNAT map: every third answer fails
        outcomes[i] = False
    tl = build_timeline(trace(outcomes), FAULT, NEW)
    assert tl.ms(tl.all_ok_after) > tl.outage_ms


def test_garp_from_the_new_owner_is_found_and_timed():
    garps = [GarpFrame(FAULT + 0.28, 1, NEW), GarpFrame(FAULT + 0.28, 2, NEW)]
    tl = build_timeline(trace(outage_trace(), garps=garps, neighbour=[NeighbourEntry(FAULT + 0.29, NEW)]), FAULT, NEW)
    assert tl.ms(tl.garp_from_new_owner) == pytest.approx(280, abs=1)
    assert tl.ms(tl.owner_change) == pytest.approx(290, abs=1)
    assert garp_from_new_owner(tl, OLD).passed


def test_garp_from_the_wrong_mac_fails():
    tl = build_timeline(trace(outage_trace(), garps=[GarpFrame(FAULT + 0.1, 1, OLD)]), FAULT, NEW)
    verdict = garp_from_new_owner(tl, OLD)
    assert not verdict.passed and verdict.category == "GARP from wrong MAC"


def test_missing_garp_fails():
    assert garp_from_new_owner(build_timeline(trace(outage_trace()), FAULT, NEW), OLD).category == "GARP missing"


def test_garp_before_the_fault_does_not_count():
    tl = build_timeline(trace(outage_trace(), garps=[GarpFrame(FAULT - 0.5, 1, NEW)]), FAULT, NEW)
    assert tl.garp_from_new_owner is None


def test_a_fault_outside_the_recording_is_refused():
    with pytest.raises(ValueError, match="outside the recording"):
        build_timeline(trace([True] * 10), T0 + 99, NEW)
