"""arp_ownership on synthetic observations."""

import pytest

from pytest_lbconform.probes.records import ArpObservation, ArpReply
from pytest_lbconform.verdicts.arp import arp_ownership

NODES = {"worker": "02:42:ac:12:00:03", "worker2": "02:42:ac:12:00:04"}


def obs(*macs):
    return ArpObservation("172.18.255.200", tuple(ArpReply(t=i, mac=m) for i, m in enumerate(macs)), requests=3)


def test_one_node_answering_as_reported_passes():
    verdict = arp_ownership(obs(NODES["worker"], NODES["worker"]), NODES, "worker")
    assert verdict.passed and "1 MAC" in verdict.measured


def test_two_nodes_answering_is_a_split_announcement():
    verdict = arp_ownership(obs(NODES["worker"], NODES["worker2"]), NODES, "worker")
    assert not verdict.passed and verdict.category == "multiple ARP owners"
    assert "worker2" in verdict.message


def test_silence_fails():
    assert arp_ownership(obs(), NODES, "worker").category == "no ARP owner"


def test_a_mac_that_is_no_node_fails():
    assert arp_ownership(obs("de:ad:be:ef:00:01"), NODES, "worker").category == "ARP owner is not a node"


def test_answering_node_differs_from_the_reported_owner():
    verdict = arp_ownership(obs(NODES["worker2"]), NODES, "worker")
    assert verdict.category == "owner report mismatch" and "reports worker" in verdict.measured


def test_no_reported_owner_fails():
    assert not arp_ownership(obs(NODES["worker"]), NODES, None).passed


def test_garp_after_requires_each_announcer_in_turn():
    from pytest_lbconform.platforms.base import Host
    from pytest_lbconform.probes.records import GarpFrame
    from pytest_lbconform.verdicts.arp import garp_after

    w1 = Host("c-worker", "worker", "10.0.0.3", NODES["worker"], "worker")
    w2 = Host("c-worker2", "worker", "10.0.0.4", NODES["worker2"], "worker2")
    frames = [GarpFrame(10.2, 1, NODES["worker2"], NODES["worker2"]),
              GarpFrame(20.1, 1, NODES["worker"], NODES["worker"])]
    ok = garp_after(frames, [(w2, 10.0), (w1, 20.0)], "vip")
    assert ok.passed and ok.figures["worker2_first_garp_ms"] == pytest.approx(200)
    late = garp_after(frames[:1], [(w2, 10.0), (w1, 20.0)], "vip")
    assert not late.passed and "worker" in late.measured and late.category == "GARP missing"
    stale = garp_after([GarpFrame(9.0, 1, NODES["worker2"], NODES["worker2"])], [(w2, 10.0)], "vip")
    assert not stale.passed  # a frame from before the takeover does not count


def test_a_returning_owner_announcing_before_its_confirmed_start_returned_counts_from_the_undo_start():
    """The clean-clone CI run (machine busy): keepalived took the VIP back and sent its GARPs 1.4 s into a
    start confirmation that polls through docker exec; judged from the end of the undo they were
    "missing". The suite counts from the undo's start (``Injected.undo_started``)."""
    from pytest_lbconform.platforms.base import Host
    from pytest_lbconform.probes.records import GarpFrame
    from pytest_lbconform.verdicts.arp import garp_after

    w1 = Host("c-worker", "worker", "10.0.0.3", NODES["worker"], "worker")
    w2 = Host("c-worker2", "worker", "10.0.0.4", NODES["worker2"], "worker2")
    undo_started, undone_at = 20.0, 21.6
    frames = [GarpFrame(10.2, 1, NODES["worker2"], NODES["worker2"]),
              GarpFrame(21.4, 1, NODES["worker"], NODES["worker"])]
    assert garp_after(frames, [(w2, 10.0), (w1, undo_started)], "vip").passed
    assert not garp_after(frames, [(w2, 10.0), (w1, undone_at)], "vip").passed  # what the suite judged before
