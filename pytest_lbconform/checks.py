"""The one registry of what the suite judges: failure categories, capabilities, profiles, checks, modes.

Verdicts, suites, Allure categories, the certification report and the mutants all read these
tables; a verdict or a mutant naming an id that is not here is a programming error (``Verdict``
refuses it, and a unit test checks the mutants). Adding a check means adding one row to ``CHECKS``.

Tiers work as in the Gateway API conformance report: a **core** check cannot be opted out of (a
provider that does not declare its capability *fails* it, with the reason), an **extended** one is
skipped with the reason and listed as an unsupported feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Tier = Literal["core", "extended"]
CORE: Tier = "core"
EXTENDED: Tier = "extended"


@dataclass(frozen=True)
class Category:
    name: str
    meaning: str


#: failure classes; a failing verdict's message starts with ``[name]`` and Allure groups by it
CATEGORIES: dict[str, Category] = {c.name: c for c in (
    Category("multiple ARP owners", "more than one MAC answers ARP for a VIP (split announcement)"),
    Category("no ARP owner", "nobody answers ARP for a VIP"),
    Category("ARP owner is not a node", "the MAC answering ARP belongs to no node"),
    Category("owner report mismatch", "the node answering ARP is not the one the LB reports"),
    Category("ARP source mismatch", "an ARP frame's Ethernet source differs from its ARP sender address (switches "
                                    "learn the Ethernet source: traffic goes to another port than the neighbour "
                                    "entry says)"),
    Category("owners not as intended", "VIPs are announced by other nodes than the provider intends"),
    Category("multiple NDP owners", "more than one MAC answers a Neighbor Solicitation for an IPv6 VIP"),
    Category("no NDP owner", "nobody answers a Neighbor Solicitation for an IPv6 VIP"),
    Category("NDP owner is not a node", "the MAC answering NDP for an IPv6 VIP belongs to no node"),
    Category("NA source mismatch", "a Neighbor Advertisement's Ethernet source differs from its target link-layer "
                                   "address option (switches learn the Ethernet source)"),
    Category("unsolicited NA missing", "no unsolicited Neighbor Advertisement from the node that took an IPv6 VIP "
                                       "over: clients keep a stale neighbour entry until NUD gives up"),
    Category("unsolicited NA from wrong MAC", "an unsolicited Neighbor Advertisement for the VIP named another MAC "
                                              "than the new owner's"),
    Category("families split", "the IPv4 and IPv6 addresses of one dual-stack service are announced by different "
                               "nodes"),
    Category("GARP missing", "no gratuitous ARP from the node that took the VIP over"),
    Category("GARP from wrong MAC", "gratuitous ARP for the VIP came from another MAC than the new owner's"),
    Category("failover over budget", "the VIP did not serve again within the failover budget"),
    Category("degraded after takeover", "after the takeover more connections failed than the platform's declared "
                                        "behaviour explains (unreachable endpoints still in the service map)"),
    Category("failback not announced", "after the fault was undone the final owner was silent or clients still "
                                       "point at another node (MetalLB #584, keepalived #166)"),
    Category("failback over budget", "after the fault was undone the VIP stopped answering for longer than the budget"),
    Category("failback unsteady", "after the fault was undone the final owner never answered a run of probes in a "
                                  "row (connections kept failing or went through another node)"),
    Category("connection failures", "more connections failed or timed out than the check's error bound"),
    Category("SNAT mismatch", "the source address the backend saw contradicts externalTrafficPolicy"),
    Category("balancing skew", "the scheduler's distribution is not the declared one"),
    Category("affinity broken", "a client with ClientIP affinity reached several backends"),
    Category("allocation", "an address was not allocated, released or shared as the Service API says"),
    Category("unsupported core capability", "the provider does not declare a capability a core check needs "
                                            "(or, with --require-all, any check)"),
)}
INFRASTRUCTURE = "infrastructure (inconclusive, not a verdict on the LB)"


@dataclass(frozen=True)
class Capability:
    name: str
    tier: Tier
    meaning: str


CAPABILITIES: dict[str, Capability] = {c.name: c for c in (
    Capability("arp", CORE, "one node answers ARP for each VIP"),
    Capability("garp", CORE, "gratuitous ARP when the announcement moves"),
    Capability("owner_report", CORE, "the LB says which node announces each VIP"),
    Capability("snat", CORE, "externalTrafficPolicy Cluster and Local"),
    Capability("failover:agent-kill", CORE, "another node takes over when the agent is deleted"),
    Capability("failover:node-isolate", CORE, "another node takes over when the owner's link goes down"),
    Capability("failover:node-stop", CORE, "another node takes over when the owner stops"),
    Capability("failover:agent-crash", EXTENDED, "another node takes over, alone, when the agent is SIGKILLed"),
    Capability("failover:node-freeze", EXTENDED, "another node takes over, alone, when the owner's userspace freezes"),
    Capability("failover:peer-partition", EXTENDED,
               "a partitioned owner and its peers never both announce a VIP (no split brain)"),
    Capability("balancing", EXTENDED, "the declared scheduler: uniform for random, a cycle for round robin"),
    Capability("affinity", EXTENDED, "sessionAffinity ClientIP"),
    Capability("spread_owners", EXTENDED, "VIPs are spread over the nodes as the provider intends"),
    Capability("ipv6", EXTENDED, "IPv6 VIPs: one node answers NDP, unsolicited NA when the announcement moves, "
                                "and IPv6 traffic is served, failed over, SNATed and balanced as IPv4 is"),
    Capability("dual_stack_one_node", EXTENDED, "both addresses of a dual-stack service are announced by one node"),
    Capability("ipam", CORE, "addresses allocated from a pool through the Kubernetes Service API"),
    Capability("ipam_pool_only", CORE, "a requested address outside the pool is refused: the service stays pending "
                                       "with a reason"),
    Capability("ipam_sharing", EXTENDED, "a sharing key puts two services' ports on one address"),
)}


#: the fault kinds, in the order the failover checks run them (``faults.FAULTS`` implements each; a registry here, below
#: its users, so that the spec and the configuration validate against it without importing the fault code)
FAULT_KINDS = ("agent-kill", "agent-crash", "node-isolate", "node-stop", "node-freeze", "peer-partition")


#: check family (``suites/test_<family>.py``) → its name in reports (the Allure feature)
FAMILIES = {"arp_ownership": "ARP ownership", "failover": "Failover", "snat": "SNAT", "balancing": "Balancing",
            "vip_allocation": "VIP allocation"}


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    platforms: tuple[str, ...] = ()  #: empty: every platform; else where it applies at all
    not_applicable: str = ""         #: why it does not apply on the other platforms


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("L2-ANNOUNCE", "On the wire: exactly one node answers ARP for each VIP, the one the LB reports, and it "
                           "sends gratuitous ARP when the announcement moves."),
    Profile("L2-FAILOVER", "When the announcing node or its agent fails, another node takes the VIP over, announces "
                           "it, and the VIP serves again within the budget."),
    Profile("SERVICE-TRAFFIC", "Every connection is answered, externalTrafficPolicy Cluster hides the client behind a "
                               "node address, Local keeps it and answers from the announcing node only."),
    Profile("SERVICE-API", "Addresses come from the configured pool through the Kubernetes Service API, are distinct, "
                           "honour requests, are released and shared as asked.",
            platforms=("kind", "existing"),
            not_applicable="the platform has no Kubernetes API (the lab's reference LB is VRRP + netfilter, "
                           "not a Kubernetes controller)"),
    Profile("BALANCING", "The scheduler the data-plane mode declares (uniform random, round robin), ClientIP "
                         "affinity, and VIPs spread over nodes as the provider intends."),
)}


@dataclass(frozen=True)
class ErrorBound:
    """How many of a traffic check's connections may fail (timeouts, refusals, resets) and why."""

    max_share: float
    reason: str

    def allowed(self, samples: int) -> int:
        """Failures tolerated among ``samples`` connections (rounded down: 0 for small bursts)."""
        return int(samples * self.max_share)


#: steady state: nothing is being faulted, so every connection should be answered. The bound leaves
#: room for one lost SYN in 200 on a loaded 2-core machine (measured: see README, false-failure bench).
STEADY = ErrorBound(0.005, "steady state, no fault injected: every connection should be answered; "
                           "0.5 % covers a SYN lost on a loaded machine, not a lossy data plane")


@dataclass(frozen=True)
class Check:
    id: str
    family: str         #: suites/test_<family>.py
    title: str
    profile: str
    tier: Tier
    capability: str     #: what the provider must declare for the check to apply
    categories: tuple[str, ...]
    error_bound: ErrorBound | None = None  #: traffic checks: failed connections tolerated
    scheduler: Literal["random", "rr"] | None = None  #: judged only in data-plane modes with this scheduler


def _c(id: str, family: str, title: str, profile: str, tier: Tier, capability: str, *categories: str,
       bound: ErrorBound | None = None, scheduler: Literal["random", "rr"] | None = None) -> Check:
    return Check(id, family, title, profile, tier, capability, categories, bound, scheduler)


CHECKS: dict[str, Check] = {c.id: c for c in (
    _c("arp-ownership", "arp_ownership", "exactly one node, the reported owner, answers ARP", "L2-ANNOUNCE", CORE,
       "arp", "no ARP owner", "multiple ARP owners", "ARP owner is not a node", "owner report mismatch",
       "ARP source mismatch"),
    _c("owner-spread", "arp_ownership", "each VIP announced by the node the provider intends", "BALANCING", EXTENDED,
       "spread_owners", "owners not as intended"),
    _c("garp-on-announcement", "arp_ownership", "gratuitous ARP from each new announcer", "L2-ANNOUNCE", CORE,
       "garp", "GARP missing", "GARP from wrong MAC", "ARP source mismatch"),
    _c("ndp-ownership", "arp_ownership", "exactly one node, the reported owner, answers NDP for an IPv6 VIP",
       "L2-ANNOUNCE", EXTENDED, "ipv6", "no NDP owner", "multiple NDP owners", "NDP owner is not a node",
       "owner report mismatch", "NA source mismatch"),
    _c("na-on-announcement", "arp_ownership", "unsolicited NA from each new announcer of an IPv6 VIP", "L2-ANNOUNCE",
       EXTENDED, "ipv6", "unsolicited NA missing", "unsolicited NA from wrong MAC", "NA source mismatch"),
    _c("dual-stack-one-owner", "arp_ownership", "both families of a dual-stack service announced by one node",
       "L2-ANNOUNCE", EXTENDED, "dual_stack_one_node", "families split"),
    _c("failover-budget", "failover", "the VIP serves again within the failover budget", "L2-FAILOVER", CORE,
       "failover:{kind}", "failover over budget"),
    _c("failover-degradation", "failover", "after the takeover only the expected share of connections fails",
       "L2-FAILOVER", CORE, "failover:{kind}", "degraded after takeover"),
    _c("failback", "failover", "after the undo the final owner announces itself and serves within budget",
       "L2-FAILOVER", CORE, "failover:{kind}", "failback not announced", "failback over budget", "failback unsteady",
       "ARP source mismatch", "NA source mismatch"),
    _c("garp-on-takeover", "failover", "gratuitous ARP from the new owner after a fault", "L2-FAILOVER", CORE,
       "garp", "GARP missing", "GARP from wrong MAC", "ARP source mismatch"),
    _c("na-on-takeover", "failover", "unsolicited NA from the new owner of an IPv6 VIP after a fault", "L2-FAILOVER",
       EXTENDED, "ipv6", "unsolicited NA missing", "unsolicited NA from wrong MAC", "NA source mismatch"),
    _c("snat-cluster", "snat", "Cluster: the backend sees a node address", "SERVICE-TRAFFIC", CORE, "snat",
       "SNAT mismatch", "connection failures", bound=STEADY),
    _c("snat-local", "snat", "Local: client address kept, announcer's backends only", "SERVICE-TRAFFIC", CORE, "snat",
       "SNAT mismatch", "connection failures", bound=STEADY),
    _c("balancing-local-only", "balancing", "Local: answers only from the announcing node's backends",
       "SERVICE-TRAFFIC", CORE, "snat", "balancing skew", "connection failures", bound=STEADY),
    _c("balancing-uniform", "balancing", "random scheduler: uniform over the backends (χ²)", "BALANCING", EXTENDED,
       "balancing", "balancing skew", "connection failures", bound=STEADY, scheduler="random"),
    _c("balancing-round-robin", "balancing", "round robin: a cycle over the backends", "BALANCING", EXTENDED,
       "balancing", "balancing skew", "connection failures", bound=STEADY, scheduler="rr"),
    _c("affinity-sticky", "balancing", "ClientIP affinity: each client sticks to one backend", "BALANCING", EXTENDED,
       "affinity", "affinity broken", "connection failures", bound=STEADY),
    _c("vip-from-pool", "vip_allocation", "addresses from the pool", "SERVICE-API", CORE, "ipam", "allocation"),
    _c("vip-distinct", "vip_allocation", "distinct services get distinct addresses", "SERVICE-API", CORE, "ipam",
       "allocation"),
    _c("vip-requested", "vip_allocation", "a requested address is honoured", "SERVICE-API", CORE, "ipam", "allocation"),
    _c("vip-pending", "vip_allocation", "an impossible request stays pending with a reason", "SERVICE-API", CORE,
       "ipam", "allocation"),
    _c("vip-released", "vip_allocation", "a deleted service's address is reusable", "SERVICE-API", CORE, "ipam",
       "allocation"),
    _c("vip-shared", "vip_allocation", "a sharing key puts two ports on one address", "SERVICE-API", EXTENDED,
       "ipam_sharing", "allocation"),
)}


@dataclass(frozen=True)
class Mode:
    """A data-plane mode: how new connections are scheduled, and what it stands for."""

    name: str
    scheduler: Literal["random", "rr"]
    dataplane: str
    deprecated: str = ""  #: why the mode is on its way out upstream (said in the report of every run in it)


#: KEP-5495 (kubernetes/enhancements#5495, #6120; kubernetes/kubernetes#134539, #139397)
IPVS_DEPRECATED = ("kube-proxy's IPVS mode is deprecated upstream (KEP-5495): a warning since Kubernetes 1.35, the "
                   "KubeProxyIPVS feature gate since 1.37, planned off by default in 1.40 and removed in 1.43; "
                   "nftables is its successor")

MODES: dict[str, Mode] = {m.name: m for m in (
    Mode("random", "random", "lab: nftables numgen random (≈ kube-proxy iptables mode)"),
    Mode("rr", "rr", "lab: nftables numgen inc (≈ IPVS round robin)"),
    Mode("iptables", "random", "kube-proxy iptables mode: statistic --mode random per endpoint"),
    Mode("nftables", "random", "kube-proxy nftables mode: numgen random"),
    Mode("ipvs", "rr", "kube-proxy IPVS mode, rr scheduler, strictARP: true", IPVS_DEPRECATED),
    Mode("ipvs-nostrictarp", "rr", "negative control: IPVS without strictARP, every node answers ARP for the VIPs "
                                   "on kube-ipvs0 (the suite must fail it)", IPVS_DEPRECATED),
    Mode("kube-proxy-replacement", "random", "no kube-proxy: a replacement (e.g. Cilium) is the service data plane; "
                                             "its scheduler is taken as random (Cilium's default backend selection)"),
)}


#: IP address families a run can judge; the checks of a family but 4 need that family's capability
FAMILIES_IP = (4, 6)
FAMILY_CAPABILITY = {6: "ipv6"}


def family_id(family: int) -> str:
    """A family as test ids and reports name it: ``v4``, ``v6``."""
    return f"v{family}"


def check(check_id: str) -> Check:
    """The registry row of ``check_id``; a ``KeyError`` naming the known ids otherwise."""
    try:
        return CHECKS[check_id]
    except KeyError:
        raise KeyError(f"check {check_id!r} is not in the registry (pytest_lbconform/checks.py); "
                       f"known: {', '.join(sorted(CHECKS))}") from None


def judged_in_mode(check_id: str, mode: str) -> bool:
    """Whether ``check_id`` is judged in data-plane ``mode`` (a scheduler check only where the mode has that
    scheduler: balancing-uniform in random modes, balancing-round-robin in rr modes)."""
    row = check(check_id)
    return row.scheduler is None or MODES[mode].scheduler == row.scheduler


#: check families whose checks need a client container on the nodes' L2 segment (ARP, traffic); the allocation
#: checks ask the Kubernetes API only
API_ONLY_FAMILIES = frozenset({"vip_allocation"})


def needs_client(check_ids: tuple[str, ...] | list[str]) -> bool:
    """Whether a test judging ``check_ids`` needs a client on the segment (every family but the API-only ones)."""
    return any(check(c).family not in API_ONLY_FAMILIES for c in check_ids)


def capability_tier(capability: str) -> Tier:
    """Tier of a (parameter-filled) capability; unknown ones, e.g. a vendor's own, are extended."""
    known = CAPABILITIES.get(capability)
    return known.tier if known else EXTENDED


def profile_applies(profile: str, platform: str) -> bool:
    platforms = PROFILES[profile].platforms
    return not platforms or platform in platforms
