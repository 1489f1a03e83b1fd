"""A behaviour model of Lease-elected L2 announcers on a kind cluster — kube-vip v1.2.4 (services, ARP) and Cilium
1.20.2 (L2 announcements) — a stand-in for tests, never a measurement.

The counterpart of the MetalLB hash model (``tests/metallb_model.py``): it feeds an API double
(``tests/lease_api_double.py``) with Nodes, agent Pods, the DaemonSet, Leases, Services and EndpointSlices that move
the way the upstream source says they move, and applies the writes the suite's faults make (node labels and taints,
a DaemonSet patch, pod deletions). Every rule names its upstream file in ``tests/data/lease_model/README.md``.

The election is client-go's (``tools/leaderelection/leaderelection.go`` v0.36.3): a candidate retries every
``[R, 2.2 R)``; the holder renews every ``R`` and stops leading when a renew round fails for ``RD``; another
holder's lease is valid for ``int(L)`` seconds after the candidate *saw* its last change; a graceful stop releases
the lease (``ReleaseOnCancel``). What answers ARP is state the agent leaves in the kernel: kube-vip's ``/32`` on
``eth0``, Cilium's responder-map entry. It outlives a SIGKILLed or frozen agent.

Pure Python, deterministic for a given ``seed``: time passes only through :meth:`Cluster.advance`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pytest_lbconform.providers.lease_timing import JITTER, LeaseTimings

EPOCH = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
NO_AGENT_LABEL = "lbconform.io/no-agent"  #: the label the suite's node-affinity mechanism keeps agents away with


@dataclass(frozen=True)
class Svc:
    name: str
    vip: str
    policy: str


SERVICES = (Svc("svc1", "172.18.255.200", "Cluster"), Svc("svc2", "172.18.255.201", "Local"),
            Svc("svc3", "172.18.255.202", "Cluster"))


@dataclass(frozen=True)
class Flavor:
    """What differs between the Lease-elected announcers (upstream files in the README)."""

    name: str
    timings: LeaseTimings
    agent_namespace: str
    agent_labels: Mapping[str, str]
    image: str
    lease_name: Callable[[str, Svc], str]            #: (service namespace, service) → Lease name
    lease_namespace: Callable[[str, Svc], str]       #: (service namespace, service) → Lease namespace
    global_lease: str | None = None                  #: one Lease for every service (kube-vip without svc_election)
    garp_period: float | None = None                 #: kube-vip: a GARP for every VIP each vip_arpRate; None: once
    clears_stale_on_start: bool = False              #: a (re)started agent withdraws what it does not hold
    tolerates_all_taints: bool = False               #: the DaemonSet tolerates every taint (Cilium's Helm default)
    on_control_plane: bool = False                   #: the agent runs on the control-plane node too
    announces_from_control_plane: bool = False       #: it may win there (the L2 policy's node selector allows it)
    vip_host_annotation: bool = False                #: kube-vip writes kube-vip.io/vipHost on the Service
    restart: float = 1.0                             #: a stopped election starts again (stand-in)
    reconcile: float = 1.0                           #: a started agent reconciles its kernel state (stand-in)


def kube_vip(timings: LeaseTimings | None = None, *, services_election: bool = True,
             arp_rate_ms: int = 3000) -> Flavor:
    """kube-vip v1.2.4 in services/ARP mode from the Helm chart with ``tolerations: []`` (workers only)."""
    return Flavor(
        name="kube-vip", timings=timings or LeaseTimings(15, 10, 2), agent_namespace="kube-system",
        agent_labels={"app.kubernetes.io/name": "kube-vip", "app.kubernetes.io/instance": "kube-vip"},
        image="ghcr.io/kube-vip/kube-vip:v1.2.4",
        lease_name=lambda ns, svc: f"kubevip-{svc.name}", lease_namespace=lambda ns, svc: ns,
        global_lease=None if services_election else "plndr-svcs-lock",
        garp_period=(arp_rate_ms if arp_rate_ms >= 500 else 3000) / 1000,
        clears_stale_on_start=False, vip_host_annotation=True)


def cilium(timings: LeaseTimings | None = None) -> Flavor:
    """Cilium 1.20.2 with l2announcements.enabled, a policy selecting the workers."""
    return Flavor(
        name="cilium", timings=timings or LeaseTimings(15, 5, 2), agent_namespace="kube-system",
        agent_labels={"k8s-app": "cilium"}, image="quay.io/cilium/cilium:v1.20.2",
        lease_name=lambda ns, svc: f"cilium-l2announce-{ns}-{svc.name}",
        lease_namespace=lambda ns, svc: "kube-system", garp_period=None, clears_stale_on_start=True,
        tolerates_all_taints=True, on_control_plane=True)


@dataclass
class LeaseRecord:
    holder: str = ""
    duration_s: int = 0
    acquired: float = 0.0
    renewed: float = 0.0
    transitions: int = 0
    version: int = 0  #: resourceVersion: every write changes it (what "the raw record changed" means)


@dataclass
class Elector:
    """One agent's client-go LeaderElector for one Lease."""

    lease: str
    leading: bool = False
    seen_version: int = -1
    seen_at: float = 0.0
    seen_holder: str = ""
    seen_duration: int = 0
    next_try: float = 0.0
    round_deadline: float = 0.0  #: the holder: its current renew round fails past this
    resume_at: float = 0.0       #: a stopped election starts again at this time


@dataclass
class Agent:
    node: str
    pod: str
    started: float
    electors: dict[str, Elector] = field(default_factory=dict)
    reconciled: bool = False
    stopping: bool = False
    next_garp: float | None = None  #: kube-vip's ARP ticker (started with the first VIP it holds)


@dataclass
class Pod:
    name: str
    node: str
    uid: str
    created: float
    started: float | None = None
    restarts: int = 0
    deleted: float | None = None
    grace: float = 0.0


@dataclass
class Node:
    name: str
    role: str
    ip: str
    mac: str
    link: bool = True
    running: bool = True
    frozen: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[dict[str, str]] = field(default_factory=list)
    announced: set[str] = field(default_factory=set)  #: VIPs in the node's kernel (address / responder map)

    @property
    def agent_can_run(self) -> bool:
        return self.running and not self.frozen

    @property
    def reaches_api(self) -> bool:
        return self.agent_can_run and self.link


@dataclass(frozen=True)
class Garp:
    t: float
    node: str
    vip: str
    mac: str


@dataclass(frozen=True)
class Timings:
    """Stand-ins for what the election does not fix (README); the lease timings come from the flavour."""

    step: float = 0.05
    ds_create: float = 0.5
    container_start: float = 1.0
    crash_backoff: float = 1.0  #: kubelet restarts a killed container (first back-off 10 s upstream; shortened)
    shutdown: float = 0.5       #: SIGTERM → the agent has released and exited


class Cluster:
    """A kind cluster (1 control-plane, ``workers``) with a Lease-elected announcer, one webpod per worker and
    the services. Faults as the suite applies them: :meth:`set_link`, :meth:`freeze`, :meth:`kill` / :meth:`start`,
    :meth:`label` / :meth:`patch_taints` + :meth:`delete_pod`, :meth:`crash_agent` (SIGKILL)."""

    def __init__(self, flavor: Flavor, workers: Sequence[str] = ("worker", "worker2", "worker3"),
                 cluster: str = "myk8s", services: Sequence[Svc] = SERVICES, namespace: str = "default",
                 seed: int = 0, timings: Timings | None = None) -> None:
        self.flavor, self.cluster, self.namespace = flavor, cluster, namespace
        self.services = tuple(services)
        self.timings = timings or Timings()
        self.rng = random.Random(seed)
        self.t = 0.0
        self.nodes: dict[str, Node] = {}
        for i, (short, role) in enumerate([("control-plane", "control-plane"), *((w, "worker") for w in workers)]):
            name = f"{cluster}-{short}"
            labels = {"kubernetes.io/hostname": name}
            if role == "control-plane":
                labels["node-role.kubernetes.io/control-plane"] = ""
            self.nodes[name] = Node(name, role, f"172.18.0.{i + 2}", f"02:42:ac:12:00:{i + 2:02x}", labels=labels)
            if role == "control-plane":
                self.nodes[name].taints.append({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})
        self.ds_affinity: list[dict[str, Any]] = []  #: required nodeAffinity matchExpressions (one term)
        self.leases: dict[tuple[str, str], LeaseRecord] = {}
        self.pods: dict[str, Pod] = {}
        self.agents: dict[str, Agent] = {}
        self.garps: list[Garp] = []
        self.log: list[tuple[float, str]] = []
        self.vip_host: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._ds_due: dict[str, float] = {}
        self._restart_due: dict[str, float] = {}
        for node in self.nodes:
            if self._should_run(node):
                pod = self._new_pod(node)
                self._start_agent(pod)
        self.run_until(lambda c: all(len(c.holders(s.name)) == 1 for s in c.services if c.candidates(s)), 120)
        self.garps.clear()

    # -- time ----------------------------------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        for _ in range(round(seconds / self.timings.step)):
            self.t = round(self.t + self.timings.step, 6)
            self._tick()

    def run_until(self, condition: Callable[[Cluster], bool], limit: float = 120.0) -> float:
        began = self.t
        while not condition(self):
            if self.t - began > limit:
                raise AssertionError(f"model: condition not reached within {limit} s")
            self.advance(self.timings.step)
        return round(self.t - began, 6)

    def _tick(self) -> None:
        self._pods_lifecycle()
        self._daemonset()
        for agent in list(self.agents.values()):
            self._run_agent(agent)
        self._garp()

    # -- faults ---------------------------------------------------------------------------------------------------
    def set_link(self, node: str, up: bool) -> None:
        self.nodes[self._full(node)].link = up
        self._note(f"{node} link {'up' if up else 'down'}")

    def freeze(self, node: str, frozen: bool = True) -> None:
        self.nodes[self._full(node)].frozen = frozen
        self._note(f"{node} {'frozen' if frozen else 'thawed'}")

    def kill(self, node: str) -> None:
        """``docker kill``: every process and the kernel state gone at once (no release)."""
        n = self.nodes[self._full(node)]
        n.running = False
        n.announced.clear()
        self.agents.pop(n.name, None)
        self._note(f"{node} killed")

    def start(self, node: str) -> None:
        n = self.nodes[self._full(node)]
        n.running = True
        self._restart_due[n.name] = self.t + self.timings.container_start

    def crash_agent(self, node: str) -> None:
        """SIGKILL of the agent container: no release, no withdrawal; the kubelet restarts it in the same pod."""
        name = self._full(node)
        if self.agents.pop(name, None) is not None:
            self._restart_due[name] = self.t + self.timings.crash_backoff
            self._note(f"agent on {node} SIGKILLed")

    def label(self, node: str, key: str, value: str | None) -> None:
        labels = self.nodes[self._full(node)].labels
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value

    def patch_taints(self, node: str, taints: list[dict[str, str]]) -> None:
        self.nodes[self._full(node)].taints = list(taints)

    def patch_affinity(self, expressions: list[dict[str, Any]]) -> None:
        """The DaemonSet's required nodeAffinity (one term of matchExpressions); [] removes it."""
        self.ds_affinity = list(expressions)

    def delete_pod(self, name: str, grace: float | None = None) -> None:
        pod = self.pods.get(name)
        if pod is None or pod.deleted is not None:
            return
        pod.grace, pod.deleted = (self.timings.shutdown * 2 if grace is None else grace), self.t
        agent = self.agents.get(pod.node)
        if pod.grace == 0:
            self.agents.pop(pod.node, None)  # SIGKILL: kernel state stays
            self._remove_pod(pod)
        elif agent is not None and agent.pod == name:
            agent.stopping = True

    # -- what a client on the segment sees -----------------------------------------------------------------------
    def arp_responders(self, vip: str) -> list[str]:
        """Nodes whose kernel answers ARP for ``vip``: it is announced there, the node runs and its link is up (a
        frozen node's kernel still answers)."""
        return sorted(n.name for n in self.nodes.values() if vip in n.announced and n.running and n.link)

    def garps_after(self, vip: str, since: float) -> list[Garp]:
        return [g for g in self.garps if g.vip == vip and g.t >= since]

    # -- what the API shows --------------------------------------------------------------------------------------
    def lease_key(self, svc: Svc) -> tuple[str, str]:
        f = self.flavor
        if f.global_lease:
            return f.agent_namespace, f.global_lease
        return f.lease_namespace(self.namespace, svc), f.lease_name(self.namespace, svc)

    def holder(self, service: str) -> str:
        """The Lease's holderIdentity for ``service`` ("" when released or absent)."""
        record = self.leases.get(self.lease_key(self._svc(service)))
        return record.holder if record else ""

    def holders(self, service: str) -> list[str]:
        """Nodes whose agent believes it leads ``service``'s Lease (two during a split brain)."""
        key = self.lease_key(self._svc(service))[1]
        return sorted(a.node for a in self.agents.values() if (e := a.electors.get(key)) and e.leading)

    def candidates(self, svc: Svc) -> list[str]:
        """Nodes whose agent competes for ``svc`` (Local: only nodes with a local endpoint — kube-vip's per-service
        election and Cilium ≥ 1.20.2's local-backend gate)."""
        out = []
        for a in self.agents.values():
            node = self.nodes[a.node]
            if node.role == "control-plane" and not self.flavor.announces_from_control_plane:
                continue
            if svc.policy == "Local" and not self.flavor.global_lease and node.role != "worker":
                continue
            out.append(a.node)
        return sorted(out)

    def lease_json(self, namespace: str, name: str) -> dict[str, Any] | None:
        record = self.leases.get((namespace, name))
        if record is None:
            return None
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(record.version)},
                "spec": {"holderIdentity": record.holder, "leaseDurationSeconds": record.duration_s,
                         "acquireTime": stamp(record.acquired, micro=True), "renewTime": stamp(record.renewed, micro=True),
                         "leaseTransitions": record.transitions}}

    def leases_json(self, namespace: str) -> dict[str, Any]:
        items = [self.lease_json(ns, name) for ns, name in sorted(self.leases) if ns == namespace]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "LeaseList", "metadata": {}, "items": items}

    def nodes_json(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": [self.node_json(n) for n in self.nodes]}

    def node_json(self, name: str) -> dict[str, Any]:
        n = self.nodes[name]
        index = list(self.nodes).index(name)
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n.name, "labels": dict(n.labels), "uid": f"node-{index}"},
                "spec": {"podCIDR": f"10.10.{index}.0/24", "taints": list(n.taints)},
                "status": {"addresses": [{"type": "InternalIP", "address": n.ip}, {"type": "Hostname", "address": n.name}],
                           "conditions": [{"type": "Ready", "status": "True" if n.reaches_api else "Unknown"}]}}

    def pods_json(self, node: str | None = None) -> dict[str, Any]:
        items = [self._pod_json(p) for p in self.pods.values() if node is None or p.node == node]
        return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}

    def daemonset_json(self) -> dict[str, Any]:
        f = self.flavor
        tolerations = [{"operator": "Exists"}] if f.tolerates_all_taints else \
            ([{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]
             if f.on_control_plane else [])
        spec: dict[str, Any] = {"tolerations": tolerations, "containers": [{"name": f.name, "image": f.image}]}
        if self.ds_affinity:
            spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": list(self.ds_affinity)}]}}}
        return {"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": f.name, "namespace": f.agent_namespace},
                "spec": {"selector": {"matchLabels": dict(f.agent_labels)},
                         "template": {"metadata": {"labels": dict(f.agent_labels)}, "spec": spec}}}

    def services_json(self) -> dict[str, Any]:
        items = []
        for s in self.services:
            annotations = {"kube-vip.io/vipHost": self.vip_host[s.name]} \
                if self.flavor.vip_host_annotation and s.name in self.vip_host else {}
            items.append({"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": s.name, "namespace": self.namespace, "annotations": annotations},
                          "spec": {"type": "LoadBalancer", "externalTrafficPolicy": s.policy, "ports": [{"port": 80}]},
                          "status": {"loadBalancer": {"ingress": [{"ip": s.vip, "ipMode": "VIP"}]}}})
        return {"apiVersion": "v1", "kind": "ServiceList", "metadata": {}, "items": items}

    def time(self, t: float | None = None) -> str:
        return stamp(self.t if t is None else t)

    # -- internals: the DaemonSet and pods ------------------------------------------------------------------------
    def _note(self, text: str) -> None:
        self.log.append((self.t, text))

    def _full(self, node: str) -> str:
        return node if node in self.nodes else f"{self.cluster}-{node}"

    def _svc(self, name: str) -> Svc:
        return next(s for s in self.services if s.name == name)

    def _tolerated(self, node: Node) -> bool:
        if self.flavor.tolerates_all_taints:
            return True
        for taint in node.taints:
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            if taint["key"] == "node-role.kubernetes.io/control-plane" and self.flavor.on_control_plane:
                continue
            return False
        return True

    def _affinity_matches(self, node: Node) -> bool:
        for expr in self.ds_affinity:
            value = node.labels.get(expr["key"])
            op = expr["operator"]
            if (op == "DoesNotExist" and value is not None) or (op == "Exists" and value is None):
                return False
            if (op == "In" and value not in expr.get("values", [])) or (op == "NotIn" and value in expr.get("values", [])):
                return False
        return True

    def _should_run(self, name: str) -> bool:
        node = self.nodes[name]
        return self._tolerated(node) and self._affinity_matches(node)

    def _new_pod(self, node: str) -> Pod:
        n = next(self._ids)
        pod = Pod(f"{self.flavor.name}-{n:05x}", node, f"uid-{n}", self.t)
        self.pods[pod.name] = pod
        return pod

    def _remove_pod(self, pod: Pod) -> None:
        self.pods.pop(pod.name, None)
        self._note(f"pod {pod.name} on {pod.node} gone")

    def _start_agent(self, pod: Pod) -> None:
        pod.started = self.t
        self.agents[pod.node] = Agent(pod.node, pod.name, self.t)
        self._note(f"agent {pod.name} started on {pod.node}")

    def _pods_lifecycle(self) -> None:
        """A deleted pod: SIGTERM — the agent releases its leases and withdraws (graceful), then exits."""
        for pod in list(self.pods.values()):
            if pod.deleted is None:
                continue
            agent = self.agents.get(pod.node)
            if self.t - pod.deleted >= min(self.timings.shutdown, pod.grace):
                if agent is not None and agent.pod == pod.name and self.nodes[pod.node].agent_can_run:
                    self._stop_agent(agent)
                if self.nodes[pod.node].reaches_api:
                    self._remove_pod(pod)

    def _stop_agent(self, agent: Agent) -> None:
        for elector in agent.electors.values():
            if elector.leading:
                self._stop_leading(agent, elector)
                record = self.leases.get(self._lease_ref(elector.lease))
                if record is not None and record.holder == agent.node and self.nodes[agent.node].reaches_api:
                    record.holder, record.duration_s, record.renewed, record.acquired = "", 1, self.t, self.t
                    record.version += 1
                    self._note(f"{agent.node} released {elector.lease}")
        del self.agents[agent.node]

    def _daemonset(self) -> None:
        tm = self.timings
        for name, node in self.nodes.items():
            mine = [p for p in self.pods.values() if p.node == name]
            if not self._should_run(name):
                self._ds_due.pop(name, None)
                for pod in mine:  # the DaemonSet controller deletes a daemon pod its node no longer fits
                    if pod.deleted is None and not self._affinity_matches(node):
                        self.delete_pod(pod.name)
                continue
            if mine or not node.running:
                self._ds_due.pop(name, None)
                continue
            due = self._ds_due.setdefault(name, self.t + tm.ds_create)
            if self.t >= due:
                self._new_pod(name)
                del self._ds_due[name]
        for pod in self.pods.values():
            node = self.nodes[pod.node]
            restart = self._restart_due.get(pod.node)
            if pod.deleted is None and pod.started is None and node.agent_can_run and \
                    self.t >= pod.created + tm.container_start:
                self._start_agent(pod)
            elif pod.deleted is None and restart is not None and self.t >= restart and node.agent_can_run:
                pod.restarts += 1
                del self._restart_due[pod.node]
                self._start_agent(pod)

    # -- internals: the election (client-go tools/leaderelection) -------------------------------------------------
    def _lease_ref(self, lease: str) -> tuple[str, str]:
        return next(self.lease_key(s) for s in self.services if self.lease_key(s)[1] == lease)

    def _services_of(self, lease: str) -> list[Svc]:
        return [s for s in self.services if self.lease_key(s)[1] == lease]

    def _run_agent(self, agent: Agent) -> None:
        node = self.nodes[agent.node]
        if not node.agent_can_run or agent.stopping:
            return
        if not agent.reconciled and self.t >= agent.started + self.flavor.reconcile:
            agent.reconciled = True
            if self.flavor.clears_stale_on_start:  # withdraw what this agent does not lead
                held = {s.vip for e in agent.electors.values() if e.leading for s in self._services_of(e.lease)}
                node.announced &= held
        wanted = {self.lease_key(s)[1] for s in self.services if agent.node in self.candidates(s)}
        for lease in wanted - set(agent.electors):
            # agents start together and race for each new Lease: first come, first served
            agent.electors[lease] = Elector(lease, next_try=self.t + self.flavor.timings.retry * self.rng.random())
        for lease in set(agent.electors) - wanted:  # no longer a candidate (Local without endpoints): cancel
            elector = agent.electors.pop(lease)
            if elector.leading:
                self._stop_leading(agent, elector)
        for elector in sorted(agent.electors.values(), key=lambda e: e.lease):
            if self.t + 1e-9 < max(elector.next_try, elector.resume_at):
                continue
            if elector.leading:
                self._renew(agent, elector)
            else:
                self._try_acquire(agent, elector)

    def _observe(self, elector: Elector, record: LeaseRecord) -> None:
        if record.version != elector.seen_version:
            elector.seen_version, elector.seen_at = record.version, self.t
            elector.seen_holder, elector.seen_duration = record.holder, record.duration_s

    def _try_acquire(self, agent: Agent, elector: Elector) -> None:
        r = self.flavor.timings.retry
        elector.next_try = self.t + r * (1 + JITTER * self.rng.random())
        if not self.nodes[agent.node].reaches_api:
            return
        ref = self._lease_ref(elector.lease)
        record = self.leases.get(ref)
        if record is None:
            record = self.leases[ref] = LeaseRecord(version=0)
        else:
            self._observe(elector, record)
            if record.holder and record.holder != agent.node and elector.seen_at + elector.seen_duration > self.t:
                return
        if record.holder != agent.node:
            record.transitions += 1 if record.version else 0
            record.acquired = self.t
        record.holder, record.duration_s, record.renewed = agent.node, self.flavor.timings.lease_seconds, self.t
        record.version += 1
        self._observe(elector, record)
        elector.leading, elector.next_try = True, self.t + r
        elector.round_deadline = self.t + r + self.flavor.timings.renew_deadline
        self._note(f"{agent.node} acquired {elector.lease}")
        self._start_leading(agent, elector)

    def _renew(self, agent: Agent, elector: Elector) -> None:
        tm = self.flavor.timings
        record = self.leases.get(self._lease_ref(elector.lease))
        if self.nodes[agent.node].reaches_api and record is not None:
            self._observe(elector, record)
            if record.holder == agent.node:
                record.renewed = self.t
                record.version += 1
                self._observe(elector, record)
                elector.next_try, elector.round_deadline = self.t + tm.retry, self.t + tm.retry + tm.renew_deadline
                return
        if self.t + 1e-9 >= elector.round_deadline:
            self._note(f"{agent.node} failed to renew {elector.lease} within {tm.renew_deadline:g} s")
            self._stop_leading(agent, elector)
            elector.resume_at = self.t + self.flavor.restart
        else:
            elector.next_try = self.t + tm.retry

    def _start_leading(self, agent: Agent, elector: Elector) -> None:
        """OnStartedLeading: the VIPs go into the kernel; one GARP each (Cilium: a new responder-map entry; kube-vip:
        its periodic sender includes them from now on)."""
        node = self.nodes[agent.node]
        for svc in self._services_of(elector.lease):
            node.announced.add(svc.vip)
            self.vip_host[svc.name] = agent.node
            if self.flavor.garp_period is None and node.link:
                self.garps.append(Garp(self.t, node.name, svc.vip, node.mac))
        if self.flavor.garp_period is not None and agent.next_garp is None:
            agent.next_garp = self.t + self.flavor.garp_period * self.rng.random()

    def _stop_leading(self, agent: Agent, elector: Elector) -> None:
        """OnStoppedLeading: the agent withdraws the VIPs from the kernel."""
        elector.leading = False
        self.nodes[agent.node].announced -= {s.vip for s in self._services_of(elector.lease)}
        self._note(f"{agent.node} stopped leading {elector.lease}")

    def _garp(self) -> None:
        """kube-vip's ARP manager: one ticker of vip_arpRate, a GARP for every VIP the node holds (first tick after
        a takeover up to vip_arpRate later)."""
        period = self.flavor.garp_period
        if period is None:
            return
        for agent in self.agents.values():
            node = self.nodes[agent.node]
            due = agent.next_garp
            if due is None or not node.agent_can_run or self.t + 1e-9 < due:
                continue
            agent.next_garp = due + period
            if node.link:
                for vip in sorted(node.announced):
                    self.garps.append(Garp(self.t, node.name, vip, node.mac))

    def _pod_json(self, pod: Pod) -> dict[str, Any]:
        f = self.flavor
        running = self.agents.get(pod.node) is not None and self.agents[pod.node].pod == pod.name
        meta: dict[str, Any] = {"name": pod.name, "namespace": f.agent_namespace, "uid": pod.uid,
                                "labels": dict(f.agent_labels), "creationTimestamp": stamp(pod.created)}
        if pod.deleted is not None:
            meta["deletionTimestamp"] = stamp(pod.deleted + pod.grace)
        state = {"running": {"startedAt": stamp(pod.started or 0)}} if running else \
            {"waiting": {"reason": "CrashLoopBackOff"}}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                "spec": {"nodeName": pod.node, "containers": [{"name": f.name, "image": f.image}]},
                "status": {"phase": "Running" if pod.started is not None else "Pending",
                           "hostIP": self.nodes[pod.node].ip,
                           "conditions": [{"type": "Ready", "status": "True" if running else "False"}],
                           "containerStatuses": [{"name": f.name, "ready": running, "restartCount": pod.restarts,
                                                  "imageID": f"{f.image}@sha256:0",
                                                  "image": f.image, "state": state}]}}


def stamp(t: float, micro: bool = False) -> str:
    moment = EPOCH + dt.timedelta(seconds=t)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def with_timings(flavor: Flavor, timings: LeaseTimings) -> Flavor:
    return replace(flavor, timings=timings)


def moment(t: float) -> dt.datetime:
    """Model time ``t`` as the aware datetime the API's timestamps name."""
    return EPOCH + dt.timedelta(seconds=t)
