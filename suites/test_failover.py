"""Failover: for each fault kind the provider supports, a new owner is elected, its gratuitous ARP is
seen, the VIP serves again within the provider's budget, exactly one node answers ARP while the fault
lasts, and still exactly one after the fault is undone (failback without split brain)."""

import allure
import pytest

from pytest_lbconform.faults import FAULT_KINDS, fault
from pytest_lbconform.providers.base import wait_new_owner
from pytest_lbconform.report.evidence import attach_json, attach_pcap, check_all, label
from pytest_lbconform.verdicts.arp import arp_ownership
from pytest_lbconform.verdicts.failover import build_timeline, garp_from_new_owner, within_budget

pytestmark = pytest.mark.requires("owner_report", "failover:{kind}")
SETTLE = 2.0  #: seconds recorded after the budget, to see the recovery hold
#: how long past the recording a takeover is still waited for: an over-budget takeover (a slow LB, or a
#: busy machine) is then judged as "over budget" with its figures, never as "no owner" by accident
TAKEOVER_GRACE = 10.0


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.judges("failover-budget", "garp-on-takeover", "arp-ownership")
def test_failover(request, lb, kind):
    svc = lb.service("svc1")
    budget = lb.budget(kind)
    label(request, "Failover", kind, lb=lb.spec.name, mode=lb.mode, fault=kind, budget_s=str(budget))
    victim = lb.node(lb.reported_owner(svc))
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    probe = lb.probe("mypc")
    with (probe.availability(svc.vip, interval=0.01, timeout=0.2, duration=budget + SETTLE) as rec,
          allure.step(f"{kind} on the owner {victim.short}"),
          fault(kind, victim, lb.infra, lb.provider) as injected):
        new_owner = wait_new_owner(lb.provider, svc, not_on=victim.short, budget=budget + SETTLE + TAKEOVER_GRACE)
        trace = rec.wait()
        during = probe.arp_responders(svc.vip, window=0.5, count=2)
    timeline = build_timeline(trace, injected.at, lb.node(new_owner).mac if new_owner else None)
    attach_json("failover timeline", {**timeline.figures(), "victim": victim.short, "new_owner": new_owner})
    attach_pcap("arp during the fault.pcap", during.pcap)
    with allure.step("after the undo: the topology settles on one owner"):
        lb.provider.wait_converged()
        after = probe.arp_responders(svc.vip, window=0.5, count=2)
        owner_after = lb.reported_owner(svc)
    context = {"fault": kind, "mode": lb.mode, "victim": victim.short, "new_owner": new_owner}
    verdicts = [
        within_budget(timeline, budget, kind),
        garp_from_new_owner(timeline, victim.mac),
        arp_ownership(during, node_macs, new_owner),
        arp_ownership(after, node_macs, owner_after),
    ]
    check_all(request, verdicts, **context)
