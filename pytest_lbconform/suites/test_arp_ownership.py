"""ARP ownership: seen from a client on the segment, exactly one node answers ARP for each VIP,
and it is the node the LB says announces it."""

import allure
import pytest

from pytest_lbconform.faults import fault
from pytest_lbconform.providers.base import wait_new_owner
from pytest_lbconform.report.evidence import attach_file, attach_pcap, check, check_all, json_text, label
from pytest_lbconform.scenarios import SERVICE_NAMES
from pytest_lbconform.verdicts.arp import arp_ownership, garp_after, no_takeover, owners_as_intended

pytestmark = pytest.mark.requires("arp", "owner_report")


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.judges("arp-ownership")
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
        attach_pcap(request, lb.cfg.report_dir, f"arp who-has {svc.vip}", observed.pcap)
    check(request, arp_ownership(observed, node_macs, owner), service=service, mode=lb.mode)


@pytest.mark.judges("arp-ownership")
def test_every_service_has_its_own_single_owner(request, lb):
    """With several services up, each VIP has exactly one owner, and it is the one reported for it."""
    label(request, "ARP ownership", "one owner per service", lb=lb.spec.name, platform=lb.platform, mode=lb.mode)
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    expected = {svc.name: lb.reported_owner(svc) for svc in lb.services}
    verdicts = []
    for svc in lb.services:
        observed = lb.probe("mypc2").arp_responders(svc.vip, window=0.5, count=2)
        attach_pcap(request, lb.cfg.report_dir, f"arp who-has {svc.vip} ({svc.name})", observed.pcap)
        verdicts.append(arp_ownership(observed, node_macs, expected[svc.name]))
    check_all(request, verdicts, owners=expected, mode=lb.mode)


@pytest.mark.requires("spread_owners")
@pytest.mark.judges("owner-spread")
def test_vips_are_spread_over_nodes_as_the_provider_intends(request, lb):
    """The provider intends each VIP on a given node (keepalived: the highest VRRP priority, rotated per
    VIP); the LB's report and the wire agree with that intent, not just with each other."""
    label(request, "ARP ownership", "owners spread as intended", severity="normal", lb=lb.spec.name,
          platform=lb.platform, mode=lb.mode)
    intended = lb.provider.intended_owners()
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    by_mac = {mac.lower(): node for node, mac in node_macs.items()}
    on_wire = {}
    for svc in lb.services:
        observed = lb.probe("mypc2").arp_responders(svc.vip, window=0.5, count=2)
        attach_pcap(request, lb.cfg.report_dir, f"arp who-has {svc.vip} ({svc.name})", observed.pcap)
        macs = observed.macs
        on_wire[svc.name] = by_mac.get(macs[0], macs[0]) if len(macs) == 1 else None
    reported = {svc.name: lb.reported_owner(svc) for svc in lb.services}
    attach_file(request, lb.cfg.report_dir, "owners: intended, reported, on the wire.json", json_text(
        {svc.name: {"vip": svc.vip, "intended": intended.get(svc.name), "reported": reported[svc.name],
                    "on the wire": on_wire[svc.name]} for svc in lb.services}))
    check(request, owners_as_intended(reported, on_wire, intended), mode=lb.mode)


@pytest.mark.requires("failover:agent-kill")  # it moves the announcement by stopping the agent
@pytest.mark.judges("garp-on-announcement")
def test_reannouncement_sends_gratuitous_arp(request, lb):
    """When the announcement moves (agent stopped) and moves back (agent restarted), each new
    announcer's gratuitous ARP (sender IP = target IP = VIP, its own MAC) reaches mypc."""
    svc = lb.service("svc1")
    label(request, "ARP ownership", "gratuitous ARP on (re)announcement", lb=lb.spec.name, platform=lb.platform,
          mode=lb.mode, vip=svc.vip)
    first = lb.node(lb.reported_owner(svc))
    with lb.probe("mypc").availability(svc.vip, interval=0.05, timeout=0.2, duration=lb.budget("agent-kill") + 3) as rec:
        with (allure.step(f"stop the agent on {first.short}; the announcement moves"),
              fault("agent-kill", first, lb.infra, lb.provider) as injected):
            moved = wait_new_owner(lb.provider, svc, not_on=first.short, budget=lb.budget("agent-kill") + 2)
        with allure.step(f"agent back on {first.short}"):
            back = lb.node(lb.provider.wait_converged()[svc.name])
        trace = rec.wait()
    attach_file(request, lb.cfg.report_dir, "gratuitous ARP frames (t in s after the agent was stopped).json", json_text(
        [{"t_s": round(g.t - injected.at, 3), "op": {1: "request", 2: "reply"}.get(g.op, g.op),
          "arp_sender_mac": g.mac, "ether_src": g.ether_src} for g in trace.garps]))
    if moved is None:
        verdict = no_takeover("garp-on-announcement", svc.vip, first.short)
    else:
        second = lb.node(moved)
        # the returning owner may announce before its confirmed start returns (keepalived preempts within a few
        # adverts, the start confirmation polls through docker exec): its GARP counts from the undo's start
        announcers = [(second, injected.at)] + ([(back, injected.undo_started)] if back != second else [])
        verdict = garp_after(trace.garps, announcers, svc.vip)
    check(request, verdict, mode=lb.mode, moved_to=moved, back_to=back.short)
