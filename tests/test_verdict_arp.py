"""arp_ownership on synthetic observations."""

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
