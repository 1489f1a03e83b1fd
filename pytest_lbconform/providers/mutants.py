"""Mutants of the reference LB: each breaks exactly one promise, so the suite can show it fails.

    pytest --lb=keepalived --lab-mutant=garp-loss

Each mutant names the check (verdict id) that must catch it and the other checks whose failure the
broken promise really implies, with the reason; any other failure would be a defect of the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Hooks:
    """What a mutant changes in the reference provider. The defaults are the healthy LB; each field is
    read at one place in ``providers/keepalived.py``, so a mutant cannot name a hook that does not exist
    (mypy and the dataclass refuse it) and a mutant that changes nothing fails a unit test."""

    advert_int: float | None = None      #: VRRP advertisement interval instead of the spec's
    only_preferred_vrrp: bool = False    #: only each VIP's preferred node runs a VRRP instance for it
    collapse_priorities: bool = False    #: every VIP gets the first VIP's priorities
    vips_on_lo: bool = False             #: every worker holds every VIP on lo with arp_ignore 0
    #: host bridge filter: drop GARPs (all, or the preferred owners'), rewrite the Ethernet source of ARP replies,
    #: or of GARPs (the owner's frames never arrive as sent; frames claiming its MAC from elsewhere do)
    #: or drop the unsolicited neighbour advertisements for the IPv6 VIPs
    bridge: Literal["drop-garp", "drop-preferred-garp", "spoof-arp-source", "spoof-garp-source",
                    "drop-unsolicited-na"] | None = None
    refuse_new: Literal["all", "not-preferred"] | None = None  #: a dead endpoint in the DNAT maps (which VIPs)
    skew: bool = False                   #: webpod1 twice in svc1's DNAT map
    masquerade_local: bool = False       #: svc2 (Local) masqueraded
    misreport_owner: bool = False        #: the provider reports the next worker after the real owner
    stale_owner_s: float = 0.0           #: a former holder keeps answering ARP this long after failback
    rr_drops_first_backend: bool = False  #: in rr modes webpod1 is left out of svc1's map (an IPVS weight 0)
    affinity_ignored: bool = False       #: svc3 (ClientIP) is scheduled like svc1, not by the client's address
    masquerade_local_v6: bool = False    #: svc2 (Local) masqueraded over IPv6 only
    proxy_ndp: bool = False              #: every worker proxies NDP for every IPv6 VIP (a second NDP responder)
    split_families: bool = False         #: each IPv6 VRRP instance gets the next service's priorities


@dataclass(frozen=True)
class Mutant:
    name: str
    promise: str                      #: the promise it breaks
    how: str                          #: what it changes in the lab
    targets: frozenset[str]           #: verdict ids that must fail
    implied: dict[str, str] = field(default_factory=dict)  #: verdict id → why it may fail too
    hooks: Hooks = field(default_factory=Hooks)  #: what it changes in the provider
    #: the data-plane modes the harness runs it in: each target must fail in every one of them where it is judged
    #: (``checks.judged_in_mode``); a mode in which no target is judged is there to show the mutant leaves it healthy
    modes: tuple[str, ...] = ("random",)
    why_modes: str = ""  #: why more than the random mode is run (the harness pays a whole-suite run per mode)
    #: the IP families the harness judges it in (``--address-families``): an IPv6 mutant's run judges the IPv6 checks
    #: only (a check without a family parameter, e.g. owner-spread, asks ARP and counts as IPv4); the IPv4 mutants run
    #: IPv4 only, as before IPv6 existed
    families: tuple[int, ...] = (4,)


MUTANTS: dict[str, Mutant] = {m.name: m for m in (
    Mutant("multi-responder", "exactly one node answers ARP for a VIP",
           "every worker holds every VIP on lo with arp_ignore=0 (IPVS without strictARP)",
           frozenset({"arp-ownership"}),
           {"snat-local": "the client may reach a node that does not announce svc2; its Local rule answers from "
                          "that node's own backend, not the announcer's",
            "balancing-local-only": "same reason as snat-local",
            "garp-on-announcement": "non-announcing nodes answer the client's ARP, so its neighbour entry may "
                                    "not follow the announcement",
            "failover-budget": "the client may keep talking to a node that answers ARP but is faulted",
            "garp-on-takeover": "a stale answer from another node can win over the new owner",
            "owner-spread": "several MACs answer for every VIP, so no single node is seen on the wire",
            "failover-degradation": "the client may keep reaching a faulted node that still answers ARP",
            "failback": "the client's neighbour entry may follow another responder than the final owner"},
           hooks=Hooks(vips_on_lo=True)),
    Mutant("garp-loss", "the new owner's gratuitous ARP reaches the clients",
           "a bridge-family nft rule on the host bridge drops ARP frames with sender IP = target IP = VIP",
           #: failover-budget: without the GARP the client keeps sending to the old MAC until its neighbour entry
           #: expires (tens of seconds), so no probe goes through the new owner before the undo. A target since the
           #: failover check asks ARP from another client than the one it records (suites/test_failover.py ASKER):
           #: asked from the recording client, the answers moved it and the budget passed 6 of 6 times
           frozenset({"garp-on-takeover", "garp-on-announcement", "failover-budget"}),
           {"failback": "the returning owner's GARP is dropped as well: it takes the VIP back silently",
            "failover-degradation": "without the GARP no probe reaches the new owner to measure the degradation from"},
           hooks=Hooks(bridge="drop-garp")),
    Mutant("snat-on-local", "externalTrafficPolicy Local keeps the client address",
           "svc2 (Local) is masqueraded like a Cluster service",
           frozenset({"snat-local"}),
           hooks=Hooks(masquerade_local=True)),
    Mutant("skewed", "a random scheduler spreads new connections uniformly",
           "webpod1 appears twice in svc1's DNAT map (numgen mod 4), so it gets half the connections",
           frozenset({"balancing-uniform", "balancing-round-robin"}),
           {"failover-degradation": "half of svc1's connections go to webpod1: when its node fails, half fail, not "
                                    "the third the endpoint count predicts"},
           hooks=Hooks(skew=True), modes=("random", "rr"),
           why_modes="balancing-uniform is judged in random mode only, balancing-round-robin in rr mode only"),
    Mutant("slow-failover", "the VIP serves again within the failover budget",
           "advert_int 1 s instead of 0.1 s: a backup declares the master down after ≈ 3.6 s",
           frozenset({"failover-budget"}),
           {"garp-on-takeover": "the recording (budget + 2 s) may end before the takeover",
            "garp-on-announcement": "same: the takeover may come after the recording"},
           hooks=Hooks(advert_int=1.0)),
    Mutant("owner-misreport", "the node the LB reports as announcer is the one answering ARP",
           "the provider reports the next worker after the real owner",
           frozenset({"arp-ownership"}),
           {"snat-local": "the expected local backends are computed from the (wrong) reported owner",
            "balancing-local-only": "same reason as snat-local",
            "garp-on-takeover": "the fault is injected on the reported owner, which does not hold the VIP, so "
                                "no takeover and no GARP happen",
            "garp-on-announcement": "same reason as garp-on-takeover",
            "failover-budget": "same reason: the measured 'new owner' is the real owner all along",
            "owner-spread": "the reported owners are not the intended ones",
            "failover-degradation": "the fault hits a node that does not hold the VIP: no takeover to measure from",
            "failback": "same reason: the timeline's owners are the misreported ones"},
           hooks=Hooks(misreport_owner=True)),
    Mutant("lossy", "every new connection is answered",
           "a fourth endpoint where nothing listens (the control-plane node's address) is in every service's "
           "DNAT map: about a quarter of new connections are refused, as with a stale endpoint",
           frozenset({"snat-cluster", "snat-local", "balancing-local-only", "balancing-uniform",
                      "balancing-round-robin"}),
           {"affinity-sticky": "ClientIP affinity hashes each client to one endpoint: a client whose address hashes "
                               "to the dead one has every connection refused, the others none (a run-dependent "
                               "7 in 16 chance with two clients: not a target; affinity-ignored is its mutant)",
            "failover-budget": "a quarter of the availability probes fail before, during and after the fault",
            "garp-on-takeover": "same reason: the recovery the GARP is timed against is blurred",
            "failover-degradation": "a quarter of the connections fail after the takeover too, above the expectation",
            "failback": "refused probes after the undo can make the longest gap exceed the budget"},
           hooks=Hooks(refuse_new="all"), modes=("random", "rr"),
           why_modes="balancing-uniform is judged in random mode only, balancing-round-robin in rr mode only"),
    Mutant("lossy-takeover", "after a takeover only the expected share of connections fails",
           "a node refuses a quarter of new connections for the VIPs it does not prefer (a dead endpoint in those "
           "maps): invisible in steady state, only a node that took a VIP over shows it",
           frozenset({"failover-degradation"}),
           hooks=Hooks(refuse_new="not-preferred")),
    Mutant("silent-failback", "the owner that takes a VIP back after a fault announces it",
           "a bridge-family nft rule on the host drops the gratuitous ARP each VIP's preferred owner sends for it",
           frozenset({"failback"}),
           {"garp-on-announcement": "the announcement moves back to the preferred owner, whose GARP is dropped",
            # seen in the clean-clone CI at 7c9c261, once the failover check stopped asking ARP from mypc (its answers
            # had moved mypc back to the final owner): snat-local from mypc, "answers from other nodes' backends
            # webpod3: 120"
            "snat-local": "a client that followed the takeover stays on the interim owner after the silent failback "
                          "(its own traffic keeps the neighbour entry confirmed): for svc2 (Local) that node answers "
                          "from its own backend",
            "balancing-local-only": "same reason as snat-local (it runs before the failover checks in one mode, after "
                                    "them in a second)"},
           hooks=Hooks(bridge="drop-preferred-garp")),
    Mutant("stale-owner", "after the failback only the final owner answers ARP",
           "when a VIP's preferred owner takes it back, the node that held it keeps it on lo (arp_ignore 0) and "
           "answers ARP for it for 6 s more, as a former leader that has not noticed yet",
           frozenset({"arp-ownership"}),
           {"garp-on-announcement": "the client's neighbour entry may follow the stale answer instead of the GARP",
            "failback": "same reason: the client may point at the stale node at the end of the recording",
            "owner-spread": "a check that starts within 6 s of a failback finds the VIP on two nodes (the stale one on "
                            "lo): the LB reports no single owner (seen in the loaded mutant bench at c84e13b)"},
           hooks=Hooks(stale_owner_s=6.0)),
    Mutant("ether-spoof", "an ARP reply's Ethernet source is its ARP sender, the owner's MAC",
           "a bridge-family nft rule on the host rewrites the Ethernet source of ARP replies for the VIPs",
           frozenset({"arp-ownership"}),
           hooks=Hooks(bridge="spoof-arp-source")),
    Mutant("garp-spoof", "a node's gratuitous ARP comes from that node (Ethernet source = ARP sender = its MAC)",
           "a bridge-family nft rule on the host rewrites the Ethernet source of every gratuitous ARP for the VIPs: "
           "the owner's own frames never arrive as sent, and the client sees frames claiming the owner's MAC as ARP "
           "sender from another source (another host announcing for it)",
           frozenset({"garp-on-takeover", "garp-on-announcement", "failback"}),
           hooks=Hooks(bridge="spoof-garp-source")),
    Mutant("rr-drops-backend", "round robin schedules every backend in turn",
           "in rr mode webpod1 is left out of svc1's DNAT map (an IPVS real server at weight 0); random mode is "
           "healthy",
           frozenset({"balancing-round-robin"}),
           {"failover-degradation": "svc1 has two endpoints in rr mode: when the node of one of them fails, half of "
                                    "the connections fail, not the third the endpoint count predicts"},
           hooks=Hooks(rr_drops_first_backend=True), modes=("random", "rr"),
           why_modes="the target is judged in rr mode only; the random-mode half shows a failure in one mode only "
                     "(its Allure reports are rendered and counted: the two modes must be two results)"),
    Mutant("affinity-ignored", "sessionAffinity ClientIP keeps each client on one backend",
           "svc3 is scheduled by the mode's scheduler, not by a hash of the client address",
           frozenset({"affinity-sticky"}),
           hooks=Hooks(affinity_ignored=True)),
    Mutant("owner-collapse", "VIPs are spread over the nodes as the provider intends",
           "every VIP gets the first VIP's VRRP priorities, so one node holds all of them",
           frozenset({"owner-spread"}),
           hooks=Hooks(collapse_priorities=True)),
    Mutant("no-failover", "another node takes the VIP over when its owner fails",
           "only each VIP's preferred node runs a VRRP instance for it",
           frozenset({"failover-budget"}),
           {"garp-on-takeover": "no takeover, so no gratuitous ARP",
            "garp-on-announcement": "no takeover, so no gratuitous ARP",
            "arp-ownership": "during the fault nobody answers ARP for the VIP",
            "failover-degradation": "no takeover, so nothing to measure the degradation from",
            "failback": "the VIP is down until the victim's agent is back, which after node-stop is a restart: "
                        "the gap after the undo exceeds the budget"},
           hooks=Hooks(only_preferred_vrrp=True)),
    Mutant("na-suppressed", "the node that takes an IPv6 VIP over sends unsolicited neighbour advertisements",
           "a bridge-family nft rule on the host drops every unsolicited NA (to ff02::1) for the IPv6 VIPs",
           #: failover-budget: as garp-loss's, over IPv6 (the client's neighbour entry stays on the old MAC)
           frozenset({"na-on-takeover", "na-on-announcement", "failover-budget"}),
           {"failover-degradation": "without the NA no probe reaches the new owner to measure the degradation from",
            "failback": "the returning owner's NA is dropped as well: it takes the VIP back silently"},
           hooks=Hooks(bridge="drop-unsolicited-na"), families=(6,)),
    Mutant("proxy-ndp", "exactly one node answers a Neighbor Solicitation for an IPv6 VIP",
           "every worker proxies NDP for every IPv6 VIP (ip -6 neigh add proxy, proxy_ndp and forwarding on): the "
           "IPv6 form of IPVS without strictARP",
           frozenset({"ndp-ownership"}),
           {"na-on-announcement": "the proxies answer the client's solicitations, so its neighbour entry may not "
                                  "follow the announcement",
            "failover-budget": "the client may keep talking to a node that answers NDP as a proxy for a faulted owner",
            "failover-degradation": "the client may reach the VIP through a proxying node (and its redirect)",
            "failback": "the client's neighbour entry may follow a proxy rather than the final owner",
            "snat-local": "the client may reach a proxying node, which routes to the owner or answers from its own "
                          "Local rule",
            "balancing-local-only": "same reason as snat-local",
            "dual-stack-one-owner": "the IPv6 VIP has several responders, so no single node announces it on the wire"},
           hooks=Hooks(proxy_ndp=True), families=(6,)),
    Mutant("snat-on-local-v6", "externalTrafficPolicy Local keeps the client address over IPv6 as over IPv4",
           "svc2 (Local) is masqueraded in the IPv6 table only; IPv4 is healthy",
           frozenset({"snat-local"}),
           hooks=Hooks(masquerade_local_v6=True), families=(6,)),
    Mutant("family-split", "both addresses of a dual-stack service are announced by one node",
           "each IPv6 VRRP instance gets the next service's priorities: every service's IPv6 VIP lives on another "
           "node than its IPv4 VIP",
           frozenset({"dual-stack-one-owner"}),
           hooks=Hooks(split_families=True), families=(6,)),
)}
