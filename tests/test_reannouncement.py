"""garp-on-announcement when the announcement moves away and back (audit F3), and a node back with another address
named in the failover verdicts (audit F9). The moves come from the MetalLB model (``tests/metallb_model.py``);
the verdicts are the suite's. No Docker.

On 9a7e0c7 the check recorded for ``budget("agent-kill") + 3`` = 6 s on kind, whatever the speaker's restart took,
and when the owner after the undo was the interim one it judged that one announcer and passed; a node back with
another address was never named. The functions these tests call did not exist there.
"""

from __future__ import annotations

import pytest

from pytest_lbconform import settle
from pytest_lbconform.platforms.base import Host
from pytest_lbconform.probes.records import ArpObservation, ArpReply, GarpFrame
from pytest_lbconform.providers.spec import builtin_specs
from pytest_lbconform.suites.test_arp_ownership import GARP_WAIT
from pytest_lbconform.suites.test_failover import ADDRESS_CHANGE_WHY
from pytest_lbconform.verdicts.arp import arp_ownership, reannouncement
from pytest_lbconform.verdicts.failover import address_changes, noted
from tests.metallb_model import Cluster

SPEC = builtin_specs()["metallb"]
VIP = "172.18.255.200"
TAINT = {"key": "lbconform.io/no-speaker", "value": "true", "effect": "NoSchedule"}


def _hosts(c: Cluster) -> dict[str, Host]:
    return {n.name.removeprefix("myk8s-"): Host(n.name, n.role, n.ip, n.mac, n.name.removeprefix("myk8s-"))
            for n in c.nodes.values()}


def _frames(c: Cluster, since: float) -> list[GarpFrame]:
    return [GarpFrame(g.t, 1, g.mac, g.mac) for g in c.garps_after(VIP, since)]


def _agent_kill_and_back(c: Cluster) -> tuple[float, float]:
    """agent-kill on the owner (worker), its undo; return (fault, undo) in model time."""
    c.patch_taints("worker", [TAINT])
    fault = c.t
    c.delete_pod(next(p.name for p in c.pods.values() if p.node == "myk8s-worker"))
    c.run_until(lambda c: c.holders("svc1") == ["myk8s-worker2"])
    c.patch_taints("worker", [])
    return fault, c.t


def test_the_speakers_return_is_inside_the_recording_the_spec_allows():
    """The returning speaker's first gratuitous ARP (a new pod: the old one's grace period, the DaemonSet, the start)
    falls inside the window the check now records, from the spec's announce_grace."""
    c = Cluster()
    fault, undo = _agent_kill_and_back(c)
    c.run_until(lambda c: any(g.node == "myk8s-worker" for g in c.garps_after(VIP, undo)))
    back_after_undo = c.t - undo
    grace = float(SPEC.settings["announce_grace"])
    assert back_after_undo < grace
    budget = SPEC.budgets["agent-kill"]
    assert settle.reannouncement_window(budget, grace, GARP_WAIT) >= budget + (undo - fault) + grace
    assert settle.reannouncement_window(budget, grace, GARP_WAIT) > budget + GARP_WAIT  # 9a7e0c7's whole recording


def test_both_moves_seen_pass():
    c = Cluster()
    fault, undo = _agent_kill_and_back(c)
    c.run_until(lambda c: c.holders("svc1") == ["myk8s-worker"])
    c.advance(1)
    h = _hosts(c)
    verdict, unseen = reannouncement(_frames(c, fault), h["worker"], h["worker2"], h["worker"], fault_at=fault,
                                     undo_at=undo, recorded_until=c.t, grace=30, vip=VIP,
                                     node_macs={k: v.mac for k, v in h.items()})
    assert unseen is None and verdict.passed, verdict.message
    assert set(verdict.figures["announcers"]) == {"worker", "worker2"}


def test_a_move_back_that_did_not_happen_is_inconclusive_not_a_pass():
    """The F2 race: the undo returned while the old pod still looked Ready, the owner was still the interim one, and
    9a7e0c7 judged that one announcer and passed."""
    c = Cluster()
    fault, undo = _agent_kill_and_back(c)
    h = _hosts(c)
    verdict, unseen = reannouncement(_frames(c, fault), h["worker"], h["worker2"], h["worker2"], fault_at=fault,
                                     undo_at=undo, recorded_until=c.t, grace=30, vip=VIP,
                                     node_macs={k: v.mac for k, v in h.items()})
    assert verdict.passed  # the first move is judged, and kept
    assert unseen is not None and "did not move back" in unseen and "worker2" in unseen


def test_a_recording_that_ended_before_the_grace_is_inconclusive_not_garp_missing():
    c = Cluster()
    fault, undo = _agent_kill_and_back(c)
    h = _hosts(c)
    ended = undo + 1.0  # before the new speaker even started
    frames = [f for f in _frames(c, fault) if f.t <= ended]
    verdict, unseen = reannouncement(frames, h["worker"], h["worker2"], h["worker"], fault_at=fault, undo_at=undo,
                                     recorded_until=ended, grace=30, vip=VIP, node_macs={k: v.mac for k, v in h.items()})
    assert verdict.passed and unseen is not None
    assert "recording ended 1.0 s after the undo began, before the 30 s" in unseen


def test_a_silent_return_over_the_whole_grace_fails_the_lb():
    c = Cluster()
    fault, undo = _agent_kill_and_back(c)
    h = _hosts(c)
    frames = [f for f in _frames(c, fault) if f.mac != h["worker"].mac or f.t < undo]  # the returning node is mute
    verdict, unseen = reannouncement(frames, h["worker"], h["worker2"], h["worker"], fault_at=fault, undo_at=undo,
                                     recorded_until=undo + 30, grace=30, vip=VIP,
                                     node_macs={k: v.mac for k, v in h.items()})
    assert unseen is None and not verdict.passed and verdict.category == "GARP missing"


def test_no_takeover_is_a_failure():
    h = _hosts(Cluster())
    verdict, unseen = reannouncement([], h["worker"], None, h["worker"], fault_at=0, undo_at=5, recorded_until=40,
                                     grace=30, vip=VIP, node_macs={})
    assert unseen is None and not verdict.passed


# -- F9 ------------------------------------------------------------------------------------------------------------
def test_a_node_back_with_another_address_is_named_in_the_failing_verdict():
    """node-stop where Docker gives the node another IPv4: memberlist refuses the restarted speaker (Conflicting
    address), two nodes answer ARP, and the verdict says why."""
    c = Cluster()
    before = {k: v.ip for k, v in _hosts(c).items()}
    c.kill("worker")
    c.run_until(lambda c: c.holders("svc1") == ["myk8s-worker2"])
    c.start("worker", ip="172.18.0.9")
    c.run_until(lambda c: any("conflicting address" in text for _, text in c.log))
    c.advance(1)
    h = _hosts(c)
    responders = c.arp_responders(VIP)
    observed = ArpObservation(VIP, tuple(ArpReply(i * 0.01, c.nodes[n].mac, 0, c.nodes[n].mac)
                                         for i, n in enumerate(responders)), requests=3)
    changes = address_changes(before, {k: v.ip for k, v in h.items()})
    assert changes == ["worker came back with 172.18.0.9, was 172.18.0.3"]
    verdict = noted(arp_ownership(observed, {k: v.mac for k, v in h.items()}, "worker"), changes, ADDRESS_CHANGE_WHY)
    assert not verdict.passed and verdict.category == "multiple ARP owners"
    assert "worker came back with 172.18.0.9, was 172.18.0.3" in verdict.message
    assert "Conflicting address" in verdict.message
    assert verdict.figures["address_changes"] == changes


def test_a_passing_verdict_keeps_its_text_and_gains_the_figure():
    observed = ArpObservation(VIP, (ArpReply(0.0, "02:42:ac:12:00:03"),), requests=3)
    verdict = noted(arp_ownership(observed, {"worker": "02:42:ac:12:00:03"}, "worker"), ["worker came back with x, was y"])
    assert verdict.passed and "came back" not in verdict.measured and verdict.figures["address_changes"]


@pytest.mark.parametrize(("before", "after", "said"), [
    ({"worker": "172.18.0.3"}, {"worker": "172.18.0.3"}, []),
    ({"worker": "172.18.0.3", "worker2": "172.18.0.4"}, {"worker": "172.18.0.3", "worker2": "172.18.0.7"},
     ["worker2 came back with 172.18.0.7, was 172.18.0.4"]),
    ({"worker": "172.18.0.3"}, {}, []),
])
def test_address_changes(before, after, said):
    assert address_changes(before, after) == said
