"""ARP ownership: seen from a client on the segment, exactly one node answers ARP for each VIP,
and it is the node the LB says announces it. In IPv6 the same over NDP (Neighbor Solicitations, unsolicited
neighbour advertisements: ``verdicts/family.py``), and a dual-stack service's two addresses from one node."""

import time

import allure
import pytest

from pytest_lbconform.errors import InfrastructureError
from pytest_lbconform.faults import fault
from pytest_lbconform.providers.base import wait_new_owner
from pytest_lbconform.report.evidence import (
    attach_file,
    attach_pcap,
    check,
    check_all,
    json_text,
    label,
    record,
    record_timeline,
)
from pytest_lbconform.scenarios import SERVICE_NAMES
from pytest_lbconform.settle import announced, baseline, reannouncement_window
from pytest_lbconform.verdicts.arp import (
    arp_ownership,
    families_on_one_node,
    garp_rows,
    owners_as_intended,
    reannouncement,
)
from pytest_lbconform.verdicts.family import in_family, words_v6

pytestmark = pytest.mark.requires("arp", "owner_report")
GARP_WAIT = 3.0  #: past the budget: the recording's ceiling for the GARPs of the move and the move back


def _words(text: str, family: int) -> str:
    return text if family == 4 else words_v6(text)


@pytest.mark.parametrize("service", SERVICE_NAMES)
@pytest.mark.judges("{neighbour}-ownership")
def test_exactly_one_node_answers_arp(request, lb, service, family):
    """Broadcast who-has for the VIP from mypc (IPv6: a Neighbor Solicitation): one MAC answers, a node's, the
    reported owner's."""
    svc = lb.service(service, family)
    label(request, "ARP ownership", _words("exactly one node answers ARP", family), provider=lb.spec.name,
          platform=lb.platform, mode=lb.mode, eTP=svc.traffic_policy, vip=svc.vip, family=f"IPv{family}")
    with allure.step(f"ask {lb.spec.name} which node announces {svc.vip}"):
        owner = lb.reported_owner(svc)
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    with allure.step(_words(f"broadcast who-has for every VIP from mypc and collect every reply for {svc.vip}",
                            family)):
        observed = lb.arp_view("mypc")[svc.vip]
        attach_pcap(request, lb.cfg.report_dir, _words(f"arp who-has {svc.vip}", family), observed.pcap)
    check(request, in_family(arp_ownership(observed, node_macs, owner), family), service=service, mode=lb.mode,
          family=f"IPv{family}")


@pytest.mark.judges("{neighbour}-ownership")
def test_every_service_has_its_own_single_owner(request, lb, family):
    """With several services up, each VIP has exactly one owner, and it is the one reported for it."""
    label(request, "ARP ownership", "one owner per service", provider=lb.spec.name, platform=lb.platform, mode=lb.mode,
          family=f"IPv{family}")
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    services = [lb.service(s.name, family) for s in lb.services]
    expected = {svc.name: lb.reported_owner(svc) for svc in services}
    verdicts = []
    seen = lb.arp_view("mypc2")
    for svc in services:
        attach_pcap(request, lb.cfg.report_dir, _words(f"arp who-has {svc.vip} ({svc.name})", family),
                    seen[svc.vip].pcap)
        verdicts.append(in_family(arp_ownership(seen[svc.vip], node_macs, expected[svc.name]), family))
    check_all(request, verdicts, owners=expected, mode=lb.mode, family=f"IPv{family}")


@pytest.mark.parametrize("family", [6], ids=["v4+v6"])
@pytest.mark.requires("dual_stack_one_node")
@pytest.mark.judges("dual-stack-one-owner")
def test_dual_stack_service_is_announced_by_one_node(request, lb, family):
    """Each dual-stack service's IPv4 and IPv6 VIPs are announced by one node: as the LB reports them and as the
    single ARP and NDP responders on the wire show them."""
    label(request, "ARP ownership", "both families from one node", severity="normal", provider=lb.spec.name,
          platform=lb.platform, mode=lb.mode, family="IPv4+IPv6")
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    seen = lb.arp_view("mypc")
    verdicts = []
    for svc in lb.services:
        svc6 = lb.service(svc.name, family)
        for vip in (svc.vip, svc6.vip):
            attach_pcap(request, lb.cfg.report_dir, f"{'ndp' if ':' in vip else 'arp'} {vip} ({svc.name})",
                        seen[vip].pcap)
        verdicts.append(families_on_one_node(svc.name, (lb.reported_owner(svc), lb.reported_owner(svc6)),
                                             (seen[svc.vip], seen[svc6.vip]), node_macs))
    check_all(request, verdicts, mode=lb.mode)


@pytest.mark.requires("spread_owners")
@pytest.mark.judges("owner-spread")
def test_vips_are_spread_over_nodes_as_the_provider_intends(request, lb):
    """The provider intends each VIP on a given node (keepalived: the highest VRRP priority, rotated per
    VIP); the LB's report and the wire agree with that intent, not just with each other."""
    label(request, "ARP ownership", "owners spread as intended", severity="normal", provider=lb.spec.name,
          platform=lb.platform, mode=lb.mode)
    intended = lb.provider.intended_owners()
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    by_mac = {mac.lower(): node for node, mac in node_macs.items()}
    on_wire = {}
    seen = lb.arp_view("mypc2")
    for svc in lb.services:
        attach_pcap(request, lb.cfg.report_dir, f"arp who-has {svc.vip} ({svc.name})", seen[svc.vip].pcap)
        macs = seen[svc.vip].macs
        on_wire[svc.name] = by_mac.get(macs[0], macs[0]) if len(macs) == 1 else None
    reported = {svc.name: lb.reported_owner(svc) for svc in lb.services}
    attach_file(request, lb.cfg.report_dir, "owners: intended, reported, on the wire.json", json_text(
        {svc.name: {"vip": svc.vip, "intended": intended.get(svc.name), "reported": reported[svc.name],
                    "on the wire": on_wire[svc.name]} for svc in lb.services}))
    check(request, owners_as_intended(reported, on_wire, intended), mode=lb.mode)


@pytest.mark.requires("failover:agent-kill")  # it moves the announcement by stopping the agent
@pytest.mark.judges("{announce}-on-announcement")
def test_reannouncement_sends_gratuitous_arp(request, lb, family):
    """When the announcement moves (agent stopped) and moves back (agent restarted), each new
    announcer's gratuitous ARP (sender IP = target IP = VIP, its own MAC) reaches mypc.

    The recording covers the agent's return: ``settings.announce_grace`` of the provider spec past the undo (on kind
    a new speaker pod must be scheduled, start and rejoin). A move that was not seen — the owner after the undo is
    still the node that took over, or the recording ended before the grace ran out — leaves the check inconclusive
    with its reason, never a pass on half of it."""
    svc = lb.service("svc1", family)
    label(request, "ARP ownership", _words("gratuitous ARP on (re)announcement", family), provider=lb.spec.name,
          platform=lb.platform, mode=lb.mode, vip=svc.vip, family=f"IPv{family}")
    first = lb.settled_owner(svc)
    budget = lb.budget("agent-kill")
    grace = float(lb.spec.settings.get("announce_grace", budget + GARP_WAIT))
    ceiling = reannouncement_window(budget, grace, GARP_WAIT)
    with lb.probe("mypc").availability(svc.vip, interval=0.05, timeout=0.2, duration=ceiling) as rec:
        rec.wait_until(baseline(3), budget)  # recording (and sniffing) before the agent stops
        with (allure.step(f"stop the agent on {first.short}; the announcement moves"),
              fault("agent-kill", first, lb.infra, lb.provider) as injected):
            moved = wait_new_owner(lb.provider, svc, not_on=first.short, budget=budget + 2)
            if moved is not None:  # its GARP before the agent comes back (the verdict counts it from the fault)
                rec.wait_until(announced([(lb.node(moved).mac, injected.at)]), injected.at + budget + 2 - time.time())
        with allure.step(f"agent back on {first.short}"):
            back = lb.node(lb.converged_owner(svc))
            if moved is not None and back.short != moved:  # the returning owner's GARP, counted from the undo's start
                rec.wait_until(announced([(back.mac, injected.undo_started)]),
                               injected.undo_started + grace - time.time())
        rec.end_at(time.time())
        trace = rec.wait()
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    frames = garp_rows(trace.garps, node_macs, injected.at)
    record_timeline(request, {"t0": "the agent was stopped", "garp_frames": frames})  # the page's frames table
    attach_file(request, lb.cfg.report_dir, _words("gratuitous ARP frames (t in ms after the agent was stopped; credited: "
                "ARP sender and Ethernet source are the node's MAC).json", family), json_text(frames))
    attach_pcap(request, lb.cfg.report_dir, _words("gratuitous ARP frames", family), trace.garp_pcap, injected.at,
                "the agent was stopped")
    verdict, unseen = reannouncement(trace.garps, first, lb.node(moved) if moved is not None else None, back,
                                     fault_at=injected.at, undo_at=injected.undo_started, recorded_until=trace.end,
                                     grace=grace, vip=svc.vip, node_macs=node_macs)
    verdict = in_family(verdict, family)
    if unseen is not None and verdict.passed:  # what was seen is kept; the check is neither passed nor failed
        record(request, verdict, mode=lb.mode, moved_to=moved, back_to=back.short, family=f"IPv{family}")
        raise InfrastructureError(f"{verdict.check} not judged in full: {_words(unseen, family)}")
    check(request, verdict, mode=lb.mode, moved_to=moved, back_to=back.short, family=f"IPv{family}")
