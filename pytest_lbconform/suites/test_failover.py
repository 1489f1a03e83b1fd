"""Failover, judged by who forwards: for each fault kind the provider supports and for both traffic
policies, another node takes the VIP over and announces it, the VIP serves through it within the
budget, only the expected share of connections fails afterwards, exactly one node answers ARP during
the fault, and after the undo the final owner announces itself, clients follow, one node answers ARP.

The recording runs from a baseline before the fault, through the undo, to the end of the failback; every
probe is attributed to the node that forwarded it (``verdicts/failover.py`` says how and why). It ends when
what is judged has been seen (``settle.py``): the fault is held until the takeover is seen in the data plane
plus the probes the degradation bound needs, and the failback ends once the final owner announced itself, the
client follows it and it answered a run of probes — each wait with a budget, after which what was recorded is
judged (an over-budget LB is judged "over budget" with its figures)."""

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import allure
import pytest

from pytest_lbconform import settle
from pytest_lbconform.environment import ARP_WINDOW, LBUnderTest
from pytest_lbconform.faults import FAULT_KINDS, FAULTS, fault, undo_now
from pytest_lbconform.probes.records import AvailabilityTrace
from pytest_lbconform.providers.base import wait_new_owner
from pytest_lbconform.report.evidence import (
    attach_file,
    attach_pcap,
    attach_plot,
    check_all,
    json_text,
    label,
    record_timeline,
)
from pytest_lbconform.report.plots import ProbePoint, csv_rows, failover_timeline
from pytest_lbconform.verdicts.arp import arp_ownership
from pytest_lbconform.verdicts.failover import (
    Probe,
    address_changes,
    attribute,
    build_timeline,
    degradation,
    expected_degradation,
    failback,
    garp_from_new_owner,
    noted,
    within_budget,
)
from pytest_lbconform.verdicts.family import in_family, words_v6

pytestmark = pytest.mark.requires("owner_report", "failover:{kind}")
#: how long past the budget a takeover is still waited for: the budget again, at least this long. An over-budget
#: takeover (a slow LB, or a busy machine) up to twice the budget late is then judged "over budget" with its
#: figures, never "no owner" by accident; later than that, "no takeover" (both fail the check)
MIN_TAKEOVER_GRACE = 3.0
UNDO_ALLOWANCE = 60.0  #: the recording's ceiling for the undo itself (a node restart); it ends as soon as judged
FAILBACK_WINDOW = 0.5  #: past the budget after the topology settled again: the failback wait's ceiling
PROBE_TIMEOUT = 0.2  #: seconds a probe waits for its answer
INTERVAL = 0.01  #: seconds between probes (the timeline's resolution)
#: the client that records availability, and the one that asks who answers ARP/NDP beside it. Never the same: a
#: reply to a who-has (or a solicited NA with its Override flag) updates the asker's existing neighbour entry
#: (Linux arp_process once the entry is older than locktime, 1 s; ndisc_recv_na), so asking from the recording
#: client would move it to the new owner by our own probe, and failover-budget would time our probe, not the LB's
#: announcement. Measured (mutants garp-loss, na-suppressed: every GARP / unsolicited NA dropped): asked from mypc, mypc
#: followed the new owner 0.25–0.59 s after each fault and failover-budget passed 12 of 12; asked from mypc2, mypc
#: stayed on the old owner until the undo, as a real client would until its neighbour entry expires
RECORDER, ASKER = "mypc", "mypc2"
BASELINE_BUDGET = 5.0  #: seconds for the baseline probes (settle.BASELINE_PROBES) to finish before the fault
FAULT_ARP_ROUNDS = 2  #: who-has rounds for the ARP owners during the fault and after the failback
#: why a node back with another address can explain a failure after the undo (memberlist, which MetalLB's speakers
#: use, refuses a known member's new address: hashicorp/memberlist state.go aliveNode, "Conflicting address")
ADDRESS_CHANGE_WHY = ("an LB whose members know each other by address may refuse the new one while the old entry "
                      "lives, e.g. memberlist's \"Conflicting address\": two nodes may announce")
#: the moments marked on the plot → the timeline figure (ms after the fault) that holds each
TIMELINE_MARKS = {"GARP from the new owner": "garp_from_new_owner_ms", "neighbour entry flips":
                  "neighbour_to_new_owner_ms", "first answer via the new owner": "first_via_new_ms",
                  "undo": "undo_ms", "failback: first answer via the final owner": "first_via_final_ms"}


@pytest.mark.parametrize("service", ["svc1", "svc2"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.judges("failover-budget", "failover-degradation", "failback", "{announce}-on-takeover",
                    "{neighbour}-ownership")
def test_failover(request, lb, kind, service, family):
    """In IPv6 the same judgement over the service's IPv6 VIP: unsolicited neighbour advertisements instead of
    gratuitous ARP, Neighbor Solicitations instead of who-has (``verdicts/family.py``)."""
    svc = lb.service(service, family)
    budget = lb.budget(kind)
    grace = max(MIN_TAKEOVER_GRACE, budget)
    spec = FAULTS[kind]
    label(request, "Failover", kind, provider=lb.spec.name, mode=lb.mode, fault=kind, eTP=svc.traffic_policy,
          family=f"IPv{family}")
    victim = lb.settled_owner(svc)
    node_macs = {n.short: n.mac for n in lb.topology.nodes}
    # expectations, computed before the action
    unreachable = 0 if spec.victim_backends_reachable else sum(b.node == victim.short for b in lb.backends)
    expected_share = expected_degradation(unreachable, len(lb.backends), svc.traffic_policy)
    cause = ("the victim's endpoints stay in the service map (lab: never removed; Kubernetes: until the "
             "node-monitor grace period)" if unreachable and svc.traffic_policy == "Cluster" else
             "every endpoint stays reachable" if svc.traffic_policy == "Cluster" else "Local: the new owner's own endpoints")
    needed = settle.degradation_probes(expected_share)
    probe, asker = lb.probe(RECORDER), lb.probe(ASKER)
    via = lb.forwarder(svc)
    ceiling = (BASELINE_BUDGET + budget + grace + needed * INTERVAL + PROBE_TIMEOUT + UNDO_ALLOWANCE + budget
               + FAILBACK_WINDOW)
    side = ThreadPoolExecutor(max_workers=1)  # ARP probes beside the recording (during the fault, after it)
    request.addfinalizer(side.shutdown)
    with probe.availability(svc.vip, interval=INTERVAL, timeout=PROBE_TIMEOUT, duration=ceiling) as rec:
        rec.wait_until(settle.baseline(), BASELINE_BUDGET)  # the service as it was: the plot's baseline
        with (allure.step(f"{kind} on the owner {victim.short}"),
              fault(kind, victim, lb.infra, lb.provider) as injected):
            new_owner = wait_new_owner(lb.provider, svc, not_on=victim.short, budget=budget + grace)
            during_arp = side.submit(asker.arp_responders, svc.vip, ARP_WINDOW, FAULT_ARP_ROUNDS)  # as the fault holds
            if new_owner is not None:  # hold until the takeover is seen in the data plane + the degradation probes,
                # and the new owner's GARP (or the budget, the deadline garp-on-takeover is judged by)
                hold = settle.takeover_held(via, new_owner, lb.node(new_owner).mac, injected.at, needed, budget)
                rec.wait_until(hold, max(injected.at + budget + grace - time.time(),
                                         needed * INTERVAL + PROBE_TIMEOUT))
            during = during_arp.result()
            with allure.step(f"undo {kind} on {victim.short}"):
                undo_now(injected, victim, lb.infra, lb.provider)
        with allure.step("failback: the topology settles on one owner, which announces itself and serves"):
            final_owner = lb.converged_owner(svc)
            # who answers ARP now that the LB converged (it asks the wire while the failback is watched)
            after_arp = side.submit(asker.arp_responders, svc.vip, ARP_WINDOW, FAULT_ARP_ROUNDS)
            # a node started again may come back with another MAC (and on kind another address): judge the
            # failback by what it uses now, attribute probes by what each node used at the time
            owners_before = lb.address_owners
            ips_before = {n.short: n.ip for n in lb.topology.nodes}
            node_macs = lb.refresh_nodes()
            # a node restarted with another IPv4 (Docker may hand one out): every verdict after the undo names it
            readdressed = address_changes(ips_before, {n.short: n.ip for n in lb.topology.nodes})
            via = lb.forwarder(svc, also=owners_before)
            rec.wait_until(settle.failback_settled(via, final_owner, node_macs[final_owner], injected.undo_started,
                                                   moved=final_owner != new_owner), budget + FAILBACK_WINDOW)
        rec.end_at(time.time())
        trace = rec.wait()
    probes = attribute(trace.samples, svc.traffic_policy, owners_before | lb.address_owners,
                       {b.name: b.node for b in lb.backends})
    timeline = build_timeline(trace, probes, fault_kind=kind, fault=injected.at, undo=injected.undo_started,
                              victim=victim.short, new_owner=new_owner, final_owner=final_owner, node_macs=node_macs,
                              old_dataplane_serves=spec.old_dataplane_serves, undone=injected.undone_at or None)
    figures = timeline.figures()
    record_timeline(request, figures)  # once per check, in conformance.json; the file below is its evidence
    attach_file(request, lb.cfg.report_dir, "failover timeline (ms relative to the fault).json", json_text(figures))
    _attach_timeline_plot(request, lb, trace, probes, figures, injected.at, budget, family,
                          f"{kind} on {victim.short}, {service} ({svc.traffic_policy}, IPv{family}), mode {lb.mode}: "
                          f"outage {figures['outage_ms']} ms, budget {budget:g} s",
                          f"{kind} {service} {lb.mode} IPv{family}")
    after = after_arp.result()
    _attach_captures(request, lb, family, (trace.garp_pcap, during.pcap, after.pcap), injected.at)
    verdicts = [in_family(v, family) for v in (
        within_budget(timeline, budget),
        degradation(timeline, expected_share, cause, needed),
        garp_from_new_owner(timeline),
        arp_ownership(during, node_macs, new_owner),
        noted(failback(timeline, budget), readdressed, ADDRESS_CHANGE_WHY),
        noted(arp_ownership(after, node_macs, final_owner), readdressed, ADDRESS_CHANGE_WHY),
    )]
    check_all(request, verdicts, fault=kind, service=service, mode=lb.mode, victim=victim.short, new_owner=new_owner,
              final_owner=final_owner, family=f"IPv{family}")


def _attach_captures(request: pytest.FixtureRequest, lb: LBUnderTest, family: int, pcaps: tuple[bytes, bytes, bytes],
                     fault_at: float) -> None:
    """The L2 evidence as pcaps: the announcements (gratuitous ARP, unsolicited NA) of the recording, the neighbour
    answers during the fault and after the failback."""
    announce, ask = ("gratuitous ARP frames", "arp") if family == 4 else ("unsolicited NA frames", "ndp")
    for name, pcap in zip((announce, f"{ask} during the fault", f"{ask} after the failback"), pcaps, strict=True):
        attach_pcap(request, lb.cfg.report_dir, name, pcap, fault_at, "the fault")


def _attach_timeline_plot(request: pytest.FixtureRequest, lb: LBUnderTest, trace: AvailabilityTrace,
                          probes: Sequence[Probe], figures: dict[str, Any], fault_at: float, budget: float,
                          family: int, title: str, name: str) -> None:
    """The failover timeline plot (each probe by the node that forwarded it, the marks of the timeline) and its CSV."""
    points = [ProbePoint(round(p.t - fault_at, 4), p.ok, p.via, None if s.latency is None else s.latency * 1000,
                         p.error) for p, s in zip(probes, sorted(trace.samples, key=lambda s: s.t), strict=True)]
    marks = {(label_ if family == 4 else words_v6(label_)): None if figures[key] is None else figures[key] / 1000
             for label_, key in TIMELINE_MARKS.items()}
    attach_plot(request, lb.cfg.report_dir, f"failover timeline {name}",
                failover_timeline(points, marks, budget, title, timeout_ms=PROBE_TIMEOUT * 1000), csv_rows(points))
