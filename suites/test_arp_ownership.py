"""ARP ownership: seen from a client on the segment, exactly one node answers ARP for each VIP,
and it is the node the LB says announces it."""

import allure
import pytest

from pytest_lbconform.report.evidence import attach_pcap, check, label
from pytest_lbconform.scenarios import SERVICE_NAMES
from pytest_lbconform.verdicts.arp import arp_ownership

pytestmark = pytest.mark.requires("arp", "owner_report")


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_exactly_one_node_answers_arp(request, lb, service):
    """Broadcast who-has for the VIP from mypc: one MAC answers, a node's, the reported owner's."""
    svc = lb.service(service)
    label(request, "ARP ownership", "exactly one node answers ARP", lb=lb.spec.name, platform=lb.platform,
          mode=lb.mode, eTP=svc.traffic_policy, vip=svc.vip)
    with allure.step(f"ask {lb.spec.name} which node announces {svc.vip}"):
        owner = lb.reported_owner(svc)
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    with allure.step(f"broadcast who-has {svc.vip} from mypc and collect every reply"):
        observed = lb.probe("mypc").arp_responders(svc.vip, window=0.5, count=3)
        attach_pcap(f"arp who-has {svc.vip}.pcap", observed.pcap)
    check(request, arp_ownership(observed, node_macs, owner), service=service, mode=lb.mode)
