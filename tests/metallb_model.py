"""A behaviour model of MetalLB v0.16.1 in layer-2 mode on a kind cluster — a stand-in for the project's tests,
never a measurement.

It feeds the API double (``tests/metallb_api_double.py``) so that the kind provider's real code
(``providers/metallb_kind.py``) is driven through the real kubernetes client against objects that move the way
MetalLB's source says they move. Every rule below names the upstream file it follows; the list, with lines, is in
``tests/data/metallb_model/README.md``. Timings are parameters (:class:`Timings`), chosen from upstream defaults
where one exists and said where not: the model shows *what* happens and in which order, not how long a real
cluster takes — only a run on a real kind cluster measures that.

Pure Python, deterministic: time passes only through :meth:`Cluster.advance` (in steps of ``Timings.step``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# -- the election (speaker/layer2_controller.go, v0.16.1) -----------------------------------------------------------
NOT_OWNER = "notOwner"
NO_AD = "noMatchingAdvertisement"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of an EndpointSlice: its node and its conditions (None: the field is absent)."""

    node: str | None
    ready: bool | None = None
    serving: bool | None = None

    def can_serve(self) -> bool:
        """``epslices.EndpointCanServe``: ready absent or true, or serving true."""
        return self.ready is None or self.ready or self.serving is True


@dataclass(frozen=True)
class Ad:
    """An L2Advertisement as the speaker's config holds it: the nodes it selects and its service selector."""

    nodes: frozenset[str]
    selector: tuple[tuple[str, str], ...] = ()  #: equality requirements; empty selects every service

    def selects(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.selector)


@dataclass(frozen=True)
class NodeMeta:
    """What the election reads of a Node object (``internal/k8s/nodes/nodes.go``)."""

    excluded: bool = False             #: has the label node.kubernetes.io/exclude-from-external-load-balancers
    network_unavailable: bool = False  #: condition NetworkUnavailable is True


def election_order(nodes: Iterable[str], ip: str) -> list[str]:
    """``nodes`` sorted by sha256(node + "#" + ip), bytes compared: the first announces."""
    return sorted(nodes, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def nodes_with_endpoint(endpoints: Iterable[Endpoint], speakers: Mapping[str, bool]) -> list[str]:
    """``nodesWithEndpoint``: nodes with at least one endpoint that can serve and a speaker in ``speakers``."""
    return sorted({ep.node for ep in endpoints if ep.can_serve() and ep.node is not None and speakers.get(ep.node)})


def should_announce(my_node: str, ip: str, *, speakers: Iterable[str] | None, ads: Sequence[Ad], policy: str,
                    endpoints: Iterable[Endpoint], nodes: Mapping[str, NodeMeta] | None = None,
                    service_labels: Mapping[str, str] | None = None, ignore_exclude: bool = False) -> str:
    """``layer2Controller.ShouldAnnounce``: "" when ``my_node`` announces ``ip``, else the reason it does not.

    ``speakers``: the memberlist members (``UsableSpeakers``); None when memberlist is disabled, then every node
    in ``nodes`` counts. A node absent from ``nodes`` is neither excluded nor network-unavailable (upstream reads a
    nil Node as such)."""
    endpoints = list(endpoints)
    if not any(ep.can_serve() for ep in endpoints):
        return NOT_OWNER
    labels = service_labels or {}
    ads_for_service = [ad for ad in ads if ad.selects(labels)]
    if not any(my_node in ad.nodes for ad in ads_for_service):
        return NO_AD
    known = nodes or {}
    eligible = list(known) if speakers is None else list(speakers)
    speaker_map = {}
    for s in eligible:
        meta = known.get(s, NodeMeta())
        if meta.network_unavailable or (meta.excluded and not ignore_exclude):
            continue
        if any(s in ad.nodes for ad in ads_for_service):
            speaker_map[s] = True
    available = list(speaker_map)
    if policy == "Local":
        available = nodes_with_endpoint(endpoints, speaker_map)
    if not available:
        return NOT_OWNER
    return "" if election_order(available, ip)[0] == my_node else NOT_OWNER


# -- a kind cluster running MetalLB -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timings:
    """Seconds. Upstream defaults where one exists (README says which); the rest are stand-ins."""

    step: float = 0.1
    probe: float = 1.5            #: memberlist ProbeInterval 1 s + ProbeTimeout 0.5 s: an unreachable member is suspect
    suspicion: float = 4.0        #: SuspicionMult 4 × max(1, log10(n)) × ProbeInterval: its floor for n ≤ 10
    gossip_to_dead: float = 30.0  #: GossipToTheDeadTime: a dead member is still gossiped to, then reaped
    heal: float = 1.0             #: a member reachable again refutes its death within the gossip window (stand-in)
    join: float = 1.0             #: a started speaker joins the other speakers (stand-in)
    leave: float = 0.3            #: SIGTERM → the speaker's deferred memberlist Leave (stand-in; audit F8)
    shutdown: float = 1.5         #: SIGTERM → the speaker exits, the kubelet confirms (capped by the grace period)
    grace: float = 2.0            #: the speaker DaemonSet's terminationGracePeriodSeconds
    ds_create: float = 0.5        #: the DaemonSet controller creates a missing pod (stand-in)
    container_start: float = 1.0  #: kubelet starts the speaker container, image present (stand-in)
    readiness: float = 10.0       #: the speaker's readinessProbe initialDelaySeconds
    node_monitor_grace: float = 40.0  #: kube-controller-manager: no heartbeat for this long → Ready Unknown
    lease_renew: float = 10.0     #: kubelet renews its Lease every 10 s
    kubelet_boot: float = 5.0     #: a restarted kind node's kubelet posts status again (stand-in)
    garp_interval: float = 1.1    #: the announcer's spam ticker
    garp_span: float = 5.0        #: gratuitous ARP for 5 s after a new announcement


@dataclass
class Member:
    """One speaker's view of another member (hashicorp/memberlist nodeState)."""

    addr: str
    state: str  #: alive / suspect / dead / left
    since: float
    unreachable_since: float | None = None
    reachable_since: float | None = None


@dataclass
class Speaker:
    """A running speaker process (in pod ``pod``), bound to its node's address when it started."""

    node: str
    pod: str
    addr: str
    started: float
    joined: bool = False
    left: bool = False  #: it left memberlist on SIGTERM and is shutting down: it no longer announces or writes
    view: dict[str, Member] = field(default_factory=dict)
    announcing: dict[str, float] = field(default_factory=dict)  #: service → when its announcement began
    members: frozenset[str] = frozenset()  #: ``Members()`` at the last sync: a change is a memberlist event
    spam: dict[str, tuple[float, float]] = field(default_factory=dict)  #: service → (spam until, next GARP)


@dataclass
class Pod:
    name: str
    node: str
    uid: str
    created: float
    started: float | None = None  #: the speaker container's current start (None: not started yet)
    restarts: int = 0
    deleted: float | None = None  #: deletionTimestamp
    grace: float = 0.0
    ready: bool = False  #: the Ready condition as the kubelet last posted it (the API keeps it while it cannot post)


@dataclass
class Node:
    name: str
    role: str
    ip: str
    mac: str
    link: bool = True
    running: bool = True
    frozen: bool = False
    booted: float = 0.0
    taints: list[dict[str, str]] = field(default_factory=list)
    renewed: float = 0.0          #: the kubelet Lease's renewTime
    ready: bool = True            #: the Node's Ready condition as the API shows it

    @property
    def kubelet_up(self) -> bool:
        return self.running and not self.frozen

    @property
    def reaches_api(self) -> bool:
        return self.kubelet_up and self.link


@dataclass(frozen=True)
class Garp:
    t: float
    node: str
    vip: str
    mac: str


@dataclass(frozen=True)
class Svc:
    name: str
    vip: str
    policy: str
    #: a dual-stack service's IPv6 address (RequireDualStack): ingress [vip, vip6], IPv4 first as MetalLB's
    #: allocator orders it (``internal/allocator/allocation.go`` ``selectIPsForFamilyAndPolicy``)
    vip6: str | None = None

    @property
    def ingress(self) -> tuple[str, ...]:
        return (self.vip, self.vip6) if self.vip6 else (self.vip,)


SERVICES = (Svc("svc1", "172.18.255.200", "Cluster"), Svc("svc2", "172.18.255.201", "Local"),
            Svc("svc3", "172.18.255.202", "Cluster"))
EPOCH = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
NAMESPACE = "metallb-system"


class Cluster:
    """A kind cluster (1 control-plane, ``workers``) with MetalLB's speakers, one webpod per worker and the services.

    Faults as the suite applies them: :meth:`set_link` (node-isolate), :meth:`freeze` (node-freeze),
    :meth:`kill` / :meth:`start` (node-stop, optionally with another address), :meth:`patch_taints` +
    :meth:`delete_pod` (agent-kill and agent-crash). What a client on the segment sees: :meth:`arp_responders`,
    :attr:`garps`. What the API shows: the ``*_json`` methods."""

    def __init__(self, workers: Sequence[str] = ("worker", "worker2", "worker3"), cluster: str = "myk8s",
                 services: Sequence[Svc] = SERVICES, timings: Timings | None = None, namespace: str = "default") -> None:
        self.cluster, self.services, self.timings = cluster, tuple(services), timings or Timings()
        self.namespace = namespace  #: the services' namespace (an existing cluster: the run's own)
        self.t = 0.0
        self.nodes: dict[str, Node] = {}
        for i, (short, role) in enumerate([("control-plane", "control-plane"), *((w, "worker") for w in workers)]):
            name = f"{cluster}-{short}"
            self.nodes[name] = Node(name, role, f"172.18.0.{i + 2}", f"02:42:ac:12:00:{i + 2:02x}")
        self.pods: dict[str, Pod] = {}
        self.speakers: dict[str, Speaker] = {}
        self.statuses: dict[str, tuple[str, str, str]] = {}  #: object name → (service, node, owner pod)
        self.garps: list[Garp] = []
        self.log: list[tuple[float, str]] = []
        self._ids = itertools.count(1)
        self._ds_due: dict[str, float] = {}
        self._restart_due: dict[str, float] = {}
        for node in self.nodes:  # a settled cluster: every speaker up, joined, announcing what it wins
            pod = self._new_pod(node)
            pod.started = 0.0
            self.speakers[node] = Speaker(node, pod.name, self.nodes[node].ip, 0.0, joined=True)
        for s in self.speakers.values():
            s.view = {o.node: Member(o.addr, "alive", 0.0) for o in self.speakers.values() if o is not s}
        self._elect()
        self._reconcile_statuses()
        self.garps.clear()
        self.t = self.timings.readiness  # every speaker Ready
        for pod in self.pods.values():
            pod.ready = True

    # -- time ----------------------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        steps = round(seconds / self.timings.step)
        for _ in range(steps):
            self.t = round(self.t + self.timings.step, 6)
            self._tick()

    def run_until(self, condition: Any, limit: float = 120.0) -> float:
        """Advance until ``condition(self)``; return the time it took (AssertionError past ``limit``)."""
        began = self.t
        while not condition(self):
            if self.t - began > limit:
                raise AssertionError(f"model: condition not reached within {limit} s")
            self.advance(self.timings.step)
        return self.t - began

    def _tick(self) -> None:
        self._pods_lifecycle()
        self._daemonset()
        self._memberlist()
        self._elect()
        self._garp()
        self._reconcile_statuses()
        self._kubelets()

    # -- faults ---------------------------------------------------------------------------------------------------
    def set_link(self, node: str, up: bool) -> None:
        self.nodes[self._full(node)].link = up
        self._note(f"{node} link {'up' if up else 'down'}")

    def freeze(self, node: str, frozen: bool = True) -> None:
        self.nodes[self._full(node)].frozen = frozen
        self._note(f"{node} {'frozen' if frozen else 'thawed'}")

    def kill(self, node: str) -> None:
        """``docker kill``: every process gone at once (no memberlist Leave); the API keeps the objects."""
        n = self.nodes[self._full(node)]
        n.running = False
        self.speakers.pop(n.name, None)
        self._note(f"{node} killed")

    def start(self, node: str, ip: str | None = None) -> None:
        """``docker start``, optionally with another address (Docker may hand out another IPv4)."""
        n = self.nodes[self._full(node)]
        if ip:
            self._note(f"{node} comes back with {ip}, was {n.ip}")
            n.ip = ip
        n.running, n.booted = True, self.t
        self._restart_due[n.name] = self.t + self.timings.kubelet_boot + self.timings.container_start

    def patch_taints(self, node: str, taints: list[dict[str, str]]) -> None:
        self.nodes[self._full(node)].taints = list(taints)

    def delete_pod(self, name: str, grace: float | None = None) -> None:
        """A pod deletion: with a grace period, deletionTimestamp set and SIGTERM (the speaker leaves memberlist,
        then exits); with 0, SIGKILL and the object gone at once."""
        pod = self.pods.get(name)
        if pod is None or pod.deleted is not None:
            return
        pod.grace = self.timings.grace if grace is None else grace
        pod.deleted = self.t
        if pod.grace == 0:
            self.speakers.pop(pod.node, None)
            self._remove_pod(pod)

    # -- what a client on the segment sees -----------------------------------------------------------------------
    def arp_responders(self, vip: str) -> list[str]:
        """Nodes answering ARP for ``vip`` (NDP for an IPv6 one: the speaker's ndpResponder watches every announced
        IPv6 address, ``internal/layer2/ndp.go``): the speaker (user space) announces its service, runs, and the link
        is up."""
        svc = self._svc_by_vip(vip)
        return sorted(s.node for s in self.speakers.values()
                      if svc.name in s.announcing and self._alive(s) and self.nodes[s.node].link)

    def garps_after(self, vip: str, since: float) -> list[Garp]:
        """Gratuitous ARPs for ``vip`` since ``since`` (unsolicited NAs for an IPv6 one)."""
        return [g for g in self.garps if g.vip == vip and g.t >= since]

    # -- what the API shows --------------------------------------------------------------------------------------
    def holders(self, service: str) -> list[str]:
        return sorted({node for svc, node, _ in self.statuses.values() if svc == service})

    def expected_owner(self, service: str) -> str | None:
        """The election's answer once every live speaker sees every other (what the cluster converges to)."""
        svc = self._svc(service)
        members = [s.node for s in self.speakers.values() if self._alive(s)]
        winners = [m for m in members if should_announce(m, svc.ingress[0], speakers=members, ads=self._ads(),
                                                         policy=svc.policy, endpoints=self._endpoints(svc),
                                                         nodes=self._metas()) == ""]
        return winners[0] if winners else None

    def time(self, t: float | None = None) -> str:
        return _stamp(self.t if t is None else t)

    def nodes_json(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": [self.node_json(n) for n in self.nodes]}

    def node_json(self, name: str) -> dict[str, Any]:
        n = self.nodes[name]
        labels = {"kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux"}
        if n.role == "control-plane":
            labels |= {"node-role.kubernetes.io/control-plane": "", EXCLUDE_LABEL: ""}
        index = list(self.nodes).index(name)
        status = "True" if n.ready else "Unknown"
        # a dual-stack node has one podCIDR per family (kind's IPv6 pod subnet fd00:10:244::/56, a /64 per node)
        cidrs = [f"10.10.{index}.0/24", *([f"fd00:10:244:{index:x}::/64"] if self.dual else [])]
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n.name, "labels": labels, "uid": f"node-{index}"},
                "spec": {"podCIDR": cidrs[0], "podCIDRs": cidrs, "taints": list(n.taints)},
                "status": {"addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
                           "conditions": [{"type": "Ready", "status": status, "reason": "KubeletReady" if n.ready else
                                           "NodeStatusUnknown", "lastHeartbeatTime": _stamp(n.renewed),
                                           "lastTransitionTime": _stamp(0)}]}}

    def lease_json(self, name: str) -> dict[str, Any]:
        n = self.nodes[name]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": n.name, "namespace": "kube-node-lease"},
                "spec": {"holderIdentity": n.name, "leaseDurationSeconds": 40,
                         "renewTime": _stamp(n.renewed, micro=True)}}

    def pods_json(self, node: str | None = None) -> dict[str, Any]:
        items = [self._pod_json(p) for p in self.pods.values() if node is None or p.node == node]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def l2statuses_json(self) -> dict[str, Any]:
        items = []
        for name, (svc, node, owner) in sorted(self.statuses.items()):
            pod = self.pods.get(owner)
            items.append({"apiVersion": "metallb.io/v1beta1", "kind": "ServiceL2Status",
                          "metadata": {"name": name, "namespace": NAMESPACE, "generateName": "l2-",
                                       "labels": {"metallb.io/node": node, "metallb.io/service-name": svc,
                                                  "metallb.io/service-namespace": self.namespace},
                                       "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": owner,
                                                            "uid": pod.uid if pod else "gone"}]},
                          "spec": {}, "status": {"node": node, "serviceName": svc,
                                                 "serviceNamespace": self.namespace}})
        return {"apiVersion": "metallb.io/v1beta1", "kind": "ServiceL2StatusList", "metadata": {}, "items": items}

    def endpointslices_json(self, service: str) -> dict[str, Any]:
        svc = self._svc(service)
        endpoints = [{"addresses": [f"10.10.{i}.5"], "nodeName": ep.node,
                      "conditions": {"ready": ep.ready, "serving": ep.ready, "terminating": False}}
                     for i, ep in enumerate(self._endpoints(svc), start=1)]
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList", "metadata": {},
                "items": [{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                           "metadata": {"name": f"{service}-abcde", "namespace": self.namespace,
                                        "labels": {"kubernetes.io/service-name": service}},
                           "endpoints": endpoints, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]}

    @property
    def dual(self) -> bool:
        """A dual-stack cluster: some service has an IPv6 address."""
        return any(s.vip6 for s in self.services)

    def webpods_json(self) -> dict[str, Any]:
        """The backends: webpod1..3 pinned to the workers, Ready while their node is; ``podIPs`` one per family."""
        items = []
        workers = [n for n in self.nodes.values() if n.role == "worker"]
        for i, n in enumerate(workers, start=1):
            index = list(self.nodes).index(n.name)
            ips = [f"10.10.{index}.5", *([f"fd00:10:244:{index:x}::5"] if self.dual else [])]
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": f"webpod{i}", "namespace": self.namespace, "labels": {"app": "webpod"}},
                          "spec": {"nodeName": n.name, "containers": [{"name": "whoami", "image": "traefik/whoami"}]},
                          "status": {"phase": "Running", "podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips],
                                     "conditions": [{"type": "Ready", "status": "True" if n.ready else "False"}]}})
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def services_json(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ServiceList", "metadata": {}, "items": [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": s.name, "namespace": self.namespace},
             "spec": {"type": "LoadBalancer", "externalTrafficPolicy": s.policy, "ports": [{"port": 80}],
                      **({"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]} if s.vip6 else {})},
             "status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"} for ip in s.ingress]}}}
            for s in self.services]}

    def add_service(self, name: str, vip: str, policy: str) -> None:
        """A service created through the API (an existing cluster: the run's svc1..3), announced from the next tick."""
        self.services = (*self.services, Svc(name, vip, policy))
        self._note(f"service {name} {vip} ({policy}) created")

    def remove_services(self) -> None:
        """The run's namespace deleted: its services, and their statuses, go."""
        self.services = ()
        self.statuses.clear()
        for s in self.speakers.values():
            s.announcing.clear()
            s.spam.clear()

    # -- internals ------------------------------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.log.append((self.t, text))

    def _full(self, node: str) -> str:
        return node if node in self.nodes else f"{self.cluster}-{node}"

    def _svc(self, name: str) -> Svc:
        return next(s for s in self.services if s.name == name)

    def _svc_by_vip(self, vip: str) -> Svc:
        return next(s for s in self.services if vip in s.ingress)

    def _ads(self) -> list[Ad]:
        return [Ad(frozenset(self.nodes))]  # the suite's L2Advertisement selects every node (fixtures/metallb/l2.yaml)

    def _metas(self) -> dict[str, NodeMeta]:
        return {n.name: NodeMeta(excluded=n.role == "control-plane") for n in self.nodes.values()}

    def _endpoints(self, svc: Svc) -> list[Endpoint]:
        """One webpod per worker; the endpoint is ready while its node is Ready in the API."""
        return [Endpoint(n.name, ready=n.ready) for n in self.nodes.values() if n.role == "worker"]

    def _alive(self, s: Speaker) -> bool:
        """The speaker process runs, is not frozen, and has not left memberlist on its way out."""
        return self.speakers.get(s.node) is s and self.nodes[s.node].kubelet_up and not s.left

    def _reach(self, a: Speaker, b_node: str, addr: str) -> bool:
        """``a`` reaches the speaker of ``b_node`` at ``addr`` (memberlist's UDP/TCP between node addresses)."""
        b = self.speakers.get(b_node)
        return (b is not None and self._alive(a) and self._alive(b) and b.addr == addr
                and self.nodes[a.node].link and self.nodes[b_node].link)

    def _new_pod(self, node: str) -> Pod:
        n = next(self._ids)
        pod = Pod(f"speaker-{n:05x}", node, f"uid-{n}", self.t)
        self.pods[pod.name] = pod
        return pod

    def _remove_pod(self, pod: Pod) -> None:
        self.pods.pop(pod.name, None)
        for name in [k for k, (_, _, owner) in self.statuses.items() if owner == pod.name]:
            del self.statuses[name]  # ownerReference → the garbage collector deletes its statuses
        self._note(f"pod {pod.name} on {pod.node} gone")

    def _pods_lifecycle(self) -> None:
        """A deleted pod: SIGTERM makes the speaker leave memberlist (its deferred ``sList.Stop()``) and exit; the
        kubelet confirms the exit and the object goes (it stays while the kubelet cannot reach the API)."""
        tm = self.timings
        for pod in list(self.pods.values()):
            if pod.deleted is None:
                continue
            elapsed = self.t - pod.deleted
            speaker = self.speakers.get(pod.node)
            if speaker is not None and speaker.pod == pod.name and self._alive(speaker) and not speaker.left \
                    and elapsed >= min(tm.leave, pod.grace):
                for other in self.speakers.values():
                    member = other.view.get(pod.node)
                    if other is not speaker and member is not None and self._reach(other, pod.node, member.addr):
                        member.state, member.since = "left", self.t
                speaker.left, speaker.announcing, speaker.spam = True, {}, {}
                self._note(f"speaker {pod.name} on {pod.node} left memberlist")
            if elapsed >= min(tm.shutdown, pod.grace):
                if speaker is not None and speaker.pod == pod.name:
                    del self.speakers[pod.node]
                if self.nodes[pod.node].reaches_api:
                    self._remove_pod(pod)

    def _daemonset(self) -> None:
        tm = self.timings
        for name, node in self.nodes.items():
            if any(p.node == name for p in self.pods.values()):
                self._ds_due.pop(name, None)
                continue
            untolerated = [t for t in node.taints if t.get("effect") == "NoSchedule"
                           and not t["key"].startswith("node-role.kubernetes.io/")]
            if untolerated:
                self._ds_due.pop(name, None)
                continue
            due = self._ds_due.setdefault(name, self.t + tm.ds_create)
            if self.t >= due:
                self._new_pod(name)
                del self._ds_due[name]
                self._note(f"DaemonSet created a speaker pod on {name}")
        for pod in self.pods.values():
            node = self.nodes[pod.node]
            restart = self._restart_due.get(pod.node)
            if pod.deleted is None and pod.started is None and node.kubelet_up and \
                    self.t >= pod.created + tm.container_start:
                self._start_speaker(pod)
            elif pod.deleted is None and restart is not None and self.t >= restart and node.kubelet_up:
                pod.restarts += 1
                self._start_speaker(pod)
                del self._restart_due[pod.node]

    def _start_speaker(self, pod: Pod) -> None:
        pod.started = self.t
        self.speakers[pod.node] = Speaker(pod.node, pod.name, self.nodes[pod.node].ip, self.t)
        self._note(f"speaker {pod.name} started on {pod.node} at {self.nodes[pod.node].ip}")

    def _memberlist(self) -> None:  # noqa: PLR0912 (one memberlist round, as upstream's probe/gossip)
        tm = self.timings
        live = [s for s in self.speakers.values() if self._alive(s)]
        for s in live:  # a started speaker joins the others (sl.Start → mlJoin with the speaker pods' addresses)
            if not s.joined and self.t >= s.started + tm.join:
                s.joined = True
                for other in live:
                    if other is not s and self._reach(s, other.node, other.addr):
                        s.view[other.node] = Member(other.addr, "alive", self.t)
                        self._alive_message(s, other)
        for s in live:
            for name, m in list(s.view.items()):
                if m.state == "left":
                    continue
                if self._reach(s, name, m.addr):
                    m.unreachable_since = None
                    if m.state in ("suspect", "dead"):
                        m.reachable_since = m.reachable_since or self.t
                        if self.t >= m.reachable_since + tm.heal:  # refuted within the gossip window
                            m.state, m.since, m.reachable_since = "alive", self.t, None
                    continue
                m.reachable_since = None
                m.unreachable_since = m.unreachable_since if m.unreachable_since is not None else self.t
                if m.state == "alive" and self.t >= m.unreachable_since + tm.probe:
                    m.state, m.since = "suspect", self.t
                elif m.state == "suspect" and self.t >= m.since + tm.suspicion:
                    m.state, m.since = "dead", self.t
                elif m.state == "dead" and self.t >= m.since + tm.gossip_to_dead:
                    del s.view[name]  # reaped: a later alive message with any address is accepted
                    self._note(f"{s.node} reaped dead member {name}")
            # a member this speaker does not hold (reaped, or never known) that reaches it pushes its state
            for other in live:
                if other is not s and other.joined and other.node not in s.view and \
                        self._reach(s, other.node, other.addr) and s.joined:
                    self._alive_message(other, s)

    def _alive_message(self, sender: Speaker, receiver: Speaker) -> None:
        """memberlist ``aliveNode``: a known member's alive message from another address is refused unless the
        member left (or died longer ago than DeadNodeReclaimTime, which MetalLB leaves at 0: never)."""
        known = receiver.view.get(sender.node)
        if known is None or known.state == "left" or known.addr == sender.addr:
            receiver.view[sender.node] = Member(sender.addr, "alive", self.t)
            return
        said = any(text.startswith(f"{receiver.node} refused") and sender.addr in text for _, text in self.log)
        if not said:
            self._note(f"{receiver.node} refused {sender.node} at {sender.addr}: conflicting address "
                           f"(holds {known.addr}, {known.state})")

    def _elect(self) -> None:
        """Every live speaker syncs its services when its memberlist membership changes (a NodeJoin / NodeLeave
        event forces a sync): each service it wins is announced again (``SetBalancer``, which restarts the
        gratuitous ARP spam), each it loses is withdrawn."""
        ads, metas = self._ads(), self._metas()
        for s in self.speakers.values():
            if not self._alive(s):
                continue
            members = frozenset([s.node, *(n for n, m in s.view.items() if m.state in ("alive", "suspect"))])
            resync, s.members = members != s.members, members
            for svc in self.services:
                # one election per service, keyed by its first ingress address, for every address of it ("Using the
                # first IP should work for both single and dual stack": ShouldAnnounce; SetBalancer announces each)
                wins = should_announce(s.node, svc.ingress[0], speakers=sorted(members), ads=ads, policy=svc.policy,
                                       endpoints=self._endpoints(svc), nodes=metas) == ""
                if wins and (svc.name not in s.announcing or resync):
                    if svc.name not in s.announcing:
                        s.announcing[svc.name] = self.t
                        self._note(f"{s.node} announces {svc.name}")
                    self._spam(s, svc.name)
                elif not wins and svc.name in s.announcing:
                    del s.announcing[svc.name]
                    s.spam.pop(svc.name, None)
                    self._note(f"{s.node} withdraws {svc.name}")

    def _spam(self, s: Speaker, service: str) -> None:
        """``Announce.spamLoop``: a new address is announced at once, then every 1.1 s until 5 s after the last
        ``SetBalancer`` (a repeated one extends the window)."""
        until, due = s.spam.get(service, (-1.0, self.t))
        s.spam[service] = (self.t + self.timings.garp_span, due if until >= self.t else self.t)

    def _garp(self) -> None:
        for s in self.speakers.values():
            if not self._alive(s):
                continue
            for service, (until, due) in list(s.spam.items()):
                if self.t > until + 1e-9:
                    del s.spam[service]
                elif self.t >= due - 1e-9:
                    s.spam[service] = (until, due + self.timings.garp_interval)
                    if self.nodes[s.node].link:  # a frame sent while the link is down never reaches the segment
                        # one per address: gratuitous ARP for IPv4, an unsolicited NA (Override set) for IPv6
                        # (internal/layer2/announcer.go gratuitous; ndp.go advertise)
                        self.garps.extend(Garp(self.t, s.node, vip, self.nodes[s.node].mac)
                                          for vip in self._svc(service).ingress)

    def _reconcile_statuses(self) -> None:
        """``Layer2StatusReconciler``: the announcing speaker deletes every other status of the service and keeps its
        own (owner: its pod); a speaker that does not announce deletes its own. Only with the API reachable."""
        for s in sorted(self.speakers.values(), key=lambda s: s.node):
            if not (self._alive(s) and self.nodes[s.node].link) or s.pod not in self.pods:
                continue
            for svc in self.services:
                mine = [k for k, (name, node, _) in self.statuses.items() if name == svc.name and node == s.node]
                if svc.name in s.announcing:
                    for k in [k for k, (name, node, _) in self.statuses.items() if name == svc.name and node != s.node]:
                        del self.statuses[k]
                    for k in mine[1:]:
                        del self.statuses[k]
                    if not mine:
                        self.statuses[f"l2-{next(self._ids):05x}"] = (svc.name, s.node, s.pod)
                else:
                    for k in mine:
                        del self.statuses[k]

    def _kubelets(self) -> None:
        tm = self.timings
        for n in self.nodes.values():
            booted = self.t >= n.booted + tm.kubelet_boot
            if n.reaches_api and booted and (self.t - n.renewed >= tm.lease_renew or not n.ready):
                n.renewed, n.ready = self.t, True
            if self.t - n.renewed > tm.node_monitor_grace and n.ready:
                n.ready = False
                self._note(f"{n.name} NotReady (no heartbeat for {tm.node_monitor_grace:g} s)")
        for pod in self.pods.values():  # the kubelet posts its pods' readiness when it reaches the API
            if self.nodes[pod.node].reaches_api:
                speaker = self.speakers.get(pod.node)
                pod.ready = (speaker is not None and speaker.pod == pod.name and pod.started is not None
                             and self.t >= pod.started + tm.readiness)

    def _pod_json(self, pod: Pod) -> dict[str, Any]:
        node = self.nodes[pod.node]
        ready = pod.ready and node.ready  # the node lifecycle controller marks a NotReady node's pods not ready
        meta: dict[str, Any] = {"name": pod.name, "namespace": NAMESPACE, "uid": pod.uid,
                                "labels": {"component": "speaker", "app": "metallb"},
                                "creationTimestamp": _stamp(pod.created)}
        if pod.deleted is not None:
            meta |= {"deletionTimestamp": _stamp(pod.deleted + pod.grace), "deletionGracePeriodSeconds": int(pod.grace)}
        state = {"running": {"startedAt": _stamp(pod.started)}} if pod.started is not None else \
            {"waiting": {"reason": "ContainerCreating"}}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"nodeName": pod.node, "terminationGracePeriodSeconds": 2,
                         "containers": [{"name": "speaker", "image": "quay.io/metallb/speaker:v0.16.1"}]},
                "status": {"phase": "Running" if pod.started is not None else "Pending", "hostIP": node.ip,
                           "podIP": node.ip,
                           "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                           "containerStatuses": [{"name": "speaker", "ready": ready, "restartCount": pod.restarts,
                                                  "image": "quay.io/metallb/speaker:v0.16.1",
                                                  "imageID": "quay.io/metallb/speaker@sha256:0", "state": state}]}}


def _stamp(t: float, micro: bool = False) -> str:
    moment = EPOCH + dt.timedelta(seconds=t)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def moment(t: float) -> dt.datetime:
    """Model time ``t`` as the aware datetime the API's timestamps name."""
    return EPOCH + dt.timedelta(seconds=t)
