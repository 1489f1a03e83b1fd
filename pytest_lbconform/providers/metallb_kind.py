"""MetalLB driven on a live kind cluster through the Kubernetes API (kubernetes client).

Written to kind's and MetalLB's documentation and covered here by contract tests only: this
project's machine cannot pull kind's node image, so this module has not run end to end here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import urllib.request
from collections.abc import Callable
from typing import Any

import docker
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import utils as k8s_utils
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from ..errors import InfrastructureError
from ..platforms.base import Host, Topology
from ..waiting import wait_for
from . import metallb
from .allocation import NAMESPACE as ALLOC_NAMESPACE
from .allocation import Allocator
from .base import Backend, Service
from .spec import ProviderSpec

GROUP, VERSION = "metallb.io", "v1beta1"
CONVERGE_BUDGET = 60.0
INSTALL_BUDGET = 300.0
REQUEST_TIMEOUT = (5.0, 30.0)  #: (connect, read) seconds for every API call: a hung call never hangs a run
NODE_BACK_BUDGET = 180.0       #: a restarted kind node: kubelet, Ready, the speaker restarted
AGENT_BACK_BUDGET = 120.0      #: a new speaker pod: scheduled, started, Ready (its readiness probe waits 10 s)
POLL = 1.0                     #: seconds between reads of a wait on the API
OWNER_POLL = 0.2               #: seconds between reads while a takeover is timed
#: when MetalLB's election cannot be computed from the API (see ``expected_owners``): the owners must stay the same
#: for this long before the topology counts as settled
STABLE_FOR = 10.0
#: API answers worth retrying: throttled, the server or a webhook not serving (yet)
TRANSIENT_STATUS = frozenset({0, 429, 500, 502, 503, 504})


def transient_api_error(exc: BaseException) -> bool:
    """An API error a wait retries: throttling, 5xx (a webhook not serving yet answers 500), a dropped
    connection or a timed-out request. 4xx answers (a 422 invalid object) are not: they end the wait."""
    if isinstance(exc, ApiException):
        return exc.status in TRANSIENT_STATUS
    return isinstance(exc, (Urllib3Error, ConnectionError, TimeoutError))


class TimeoutApiClient(k8s.ApiClient):
    """The kubernetes client with a request timeout on every call (the generated client has none)."""

    timeout: tuple[float, float] | None = None  #: None: REQUEST_TIMEOUT

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("_request_timeout") is None:
            kwargs["_request_timeout"] = self.timeout or REQUEST_TIMEOUT
        return super().call_api(*args, **kwargs)


def api_client(kubeconfig: str, context: str | None = None, timeout: tuple[float, float] | None = None) -> k8s.ApiClient:
    """A client for ``kubeconfig`` (a path, or KUBECONFIG's list: the client merges it as kubectl does) and
    ``context`` (default: its current-context), every request bounded by ``timeout`` (default REQUEST_TIMEOUT)."""
    configuration = k8s.Configuration()
    # persist_config=False: the client would write refreshed credentials (OIDC, exec) back into the file: a user's
    # kubeconfig is read, never written
    k8s_config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration,
                                persist_config=False)
    api = TimeoutApiClient(configuration)
    if timeout is not None:
        api.timeout = timeout
    return api


def timestamp(text: str | None) -> dt.datetime | None:
    """An RFC 3339 time from Docker (nanoseconds) or the API (seconds), as an aware datetime."""
    if not text or text.startswith("0001-01-01"):
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(trimmed)


class KindMetalLB:
    """MetalLB L2 on one kind cluster (one data-plane mode)."""

    #: the agent's pods (label selector) and container: the speaker here, a spec's ``kubernetes.agent`` in KindKubeL2
    agent_selector = "component=speaker"
    agent_container: str | None = "speaker"  #: None: any container of the agent's pod

    def __init__(self, spec: ProviderSpec, docker_client: docker.DockerClient, kubeconfig: str, topology: Topology,
                 pool: tuple[str, str], progress: Callable[[str], None] = print, context: str | None = None,
                 pool6: tuple[str, str] | None = None) -> None:
        self.spec, self.docker, self.topology, self.pool, self.progress = spec, docker_client, topology, pool, progress
        #: the IPv6 range beside ``pool`` on a dual-stack cluster: the pool holds both, the services RequireDualStack
        self.pool6 = pool6
        self.namespace = metallb.namespace(spec)
        self.api = api_client(kubeconfig, context=context)
        self.core = k8s.CoreV1Api(self.api)
        self.leases = k8s.CoordinationV1Api(self.api)
        self.apps = k8s.AppsV1Api(self.api)
        self.custom = k8s.CustomObjectsApi(self.api)
        self.services: tuple[Service, ...] = ()
        self.backends: tuple[Backend, ...] = ()
        self.discovery = k8s.DiscoveryV1Api(self.api)
        #: where the backends and svc1..3 go (kind: default; an existing cluster: the run's own namespace)
        self.app_namespace = metallb.NAMESPACE
        self.allocator = Allocator(self.core, spec, self._dict)
        #: node → its container's name, where they differ (an existing cluster whose nodes were found by address)
        self.container_names: dict[str, str] = {}
        #: the nodes MetalLB's L2Advertisements select (None: every node, as the run's own advertisement on kind)
        self.ad_nodes: set[str] | None = None
        self.address_owners: dict[str, str] = {}
        #: the time the API's timestamps are compared with (the nodes share the host's clock); tests replace it
        self.now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        #: node → (address before, address now) for nodes that came back from a restart with another address
        self.address_changes: dict[str, tuple[str, str]] = {}

    # -- deployment ----------------------------------------------------------------------------
    def deploy(self) -> None:
        """Install MetalLB from its release manifest with the run's pool and advertisement, then the workload."""
        self.install()
        workers = [n.name for n in self.topology.workers]
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ALLOC_NAMESPACE}}
        self.deploy_workload([namespace, *metallb.backend_pods(workers, metallb.backend_image(self.spec)),
                              *metallb.services(dual=self.pool6 is not None)])

    def install(self) -> None:
        url = metallb.manifest_url(self.spec)
        self.progress(f"lbconform: installing MetalLB {metallb.version(self.spec)} from {url}")
        with urllib.request.urlopen(url, timeout=60) as response:
            documents = [d for d in yaml.safe_load_all(response.read()) if d]
        for doc in documents:
            self._create(doc)
        wait_for(self._metallb_ready, bool, budget=INSTALL_BUDGET, interval=2, what="MetalLB controller and speakers ready",
                 transient=transient_api_error)
        for obj in metallb.l2_objects(*self.pool, spec=self.spec, range6=self.pool6):
            self.create_metallb_object(obj)

    def deploy_workload(self, objects: list[dict[str, Any]]) -> None:
        """Create the backends and svc1..3 (``objects``), wait until they serve, and learn their VIPs and nodes."""
        for obj in objects:
            self._create(obj)
        wait_for(self._pods_ready, bool, budget=INSTALL_BUDGET, interval=2, what="webpod1..3 Ready",
                 transient=transient_api_error)
        from ..scenarios import SERVICES

        families = (4, 6) if self.pool6 is not None else (4,)
        vips = wait_for(self._vips, lambda v: all(f in v.get(name, {}) for name in SERVICES for f in families),
                        budget=120, interval=1, transient=transient_api_error,
                        what="VIPs assigned to svc1..3" + (", an IPv4 and an IPv6 address each" if 6 in families else ""))

        self.services = tuple(Service(name, vips[name][4], 80, pol, aff, vip6=vips[name].get(6))
                              for name, (pol, aff) in SERVICES.items())
        self.backends = tuple(
            Backend(p["metadata"]["name"], self._short(p["spec"]["nodeName"]), p["status"]["podIP"], 80,
                    ip6=metallb.family_addresses(p["status"].get("podIPs")).get(6, ""))
            for p in self._pods(self.app_namespace, "app=webpod")
        )
        nodes = list(map(self._dict, self.core.list_node().items))
        # every podCIDR of a node (a dual-stack node has one per family: spec.podCIDRs) → the node
        gateways = {metallb.pod_gateway(cidr): self._short(n["metadata"]["name"])
                    for n in nodes for cidr in (n.get("spec", {}).get("podCIDRs") or [n.get("spec", {}).get("podCIDR")])}
        #: a node's pod-network gateway → that node: a local pod sees it as the source under Cluster
        self.address_owners = {g: node for g, node in gateways.items() if g}
        self.wait_converged()

    def _create(self, obj: dict[str, Any]) -> None:
        """Create ``obj``; one that already exists (a reused cluster) is left as it is."""
        try:
            k8s_utils.create_from_dict(self.api, obj)
        except k8s_utils.FailToCreateError as exc:
            if any(e.status != 409 for e in exc.api_exceptions):
                raise

    def _dict(self, obj: object) -> dict[str, Any]:
        """A client object as the plain JSON dict the API returned."""
        raw: dict[str, Any] = self.api.sanitize_for_serialization(obj)
        return raw

    def _pods(self, namespace: str, selector: str, field: str | None = None) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector, field_selector=field or "").items
        return [self._dict(p) for p in pods]

    def _metallb_ready(self) -> bool:
        dep = self._dict(self.apps.read_namespaced_deployment("controller", self.namespace)).get("status", {})
        ds = self._dict(self.apps.read_namespaced_daemon_set("speaker", self.namespace)).get("status", {})
        wanted = ds.get("desiredNumberScheduled", 0)
        return bool(dep.get("availableReplicas")) and wanted > 0 and bool(ds.get("numberReady") == wanted)

    def create_metallb_object(self, obj: dict[str, Any], budget: float = 120.0, interval: float = 2.0) -> None:
        """Create a MetalLB object, retrying while its validating webhook is not serving yet (500)."""
        wait_for(functools.partial(self._create_custom, obj), bool, budget=budget, interval=interval,
                 what=f"creating {obj['kind']} {obj['metadata']['name']}", transient=transient_api_error)

    def _create_custom(self, obj: dict[str, Any]) -> bool:
        """Create a MetalLB object: True once it exists. An answer worth retrying (the webhook not serving
        yet answers 500) is raised for the wait to retry; any other refusal (422: invalid) is one clear error."""
        plural = obj["kind"].lower() + "es" if obj["kind"].endswith("s") else obj["kind"].lower() + "s"
        try:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, obj)
        except ApiException as exc:
            if exc.status == 409:  # already there (a reused cluster)
                return True
            if transient_api_error(exc):
                raise
            raise InfrastructureError(f"creating {obj['kind']} {obj['metadata']['name']}: the API refused it "
                                      f"({exc.status} {exc.reason}): {_api_message(exc)}") from exc
        return True

    def _pods_ready(self) -> bool:
        pods = self._pods(self.app_namespace, "app=webpod")
        return len(pods) == len(self.backend_nodes) and all(_ready(p) for p in pods)

    @property
    def backend_nodes(self) -> tuple[Host, ...]:
        """The nodes the backends are pinned to (kind: every worker)."""
        return self.topology.workers

    def _vips(self) -> dict[str, dict[int, str]]:
        """LoadBalancer service → its ingress addresses by IP family (empty while pending)."""
        out = {}
        for svc in map(self._dict, self.core.list_namespaced_service(self.app_namespace).items):
            if svc["spec"].get("type") == "LoadBalancer":
                out[svc["metadata"]["name"]] = metallb.ingress_ips(svc)
        return out

    def _short(self, node_name: str) -> str:
        return node_name.removeprefix(f"{self.topology.cluster}-")

    # -- what MetalLB reports ------------------------------------------------------------------
    def announcements(self, exclude: frozenset[str] = frozenset()) -> dict[str, metallb.Announcement]:
        listed: dict[str, Any] = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace,
                                                                           "servicel2statuses")  # type: ignore[assignment]
        return metallb.owners_from_l2status(listed["items"], exclude, self.app_namespace)

    def not_ready_nodes(self) -> frozenset[str]:
        """Nodes whose Ready condition is not True: an old MetalLB leaves their statuses behind."""
        return frozenset(n["metadata"]["name"] for n in map(self._dict, self.core.list_node().items) if not _ready(n))

    def holders(self, service: Service) -> list[str]:
        ann = self.announcements(self.not_ready_nodes()).get(service.name)
        if ann is None:
            events = self.core.list_namespaced_event(self.app_namespace,
                                                     field_selector=f"involvedObject.name={service.name}")
            ann = metallb.owner_from_events(service.name, [self._dict(e) for e in events.items])
        return [self._short(n) for n in ann.nodes] if ann else []

    def owner(self, service: Service) -> str | None:
        holders = self.holders(service)
        return holders[0] if len(holders) == 1 else None

    def expected_owners(self) -> dict[str, str | None]:
        """Service → the node MetalLB's own election picks (``metallb.elected``: sha256(node + "#" + VIP) over the
        eligible speakers), computed from the API the way every speaker computes it: speakers whose pod runs and is
        not terminating (memberlist membership is not in the API; a running speaker joins), minus nodes labelled
        exclude-from-external-load-balancers or NetworkUnavailable, and for Local only nodes with an endpoint that
        can serve. The run's one L2Advertisement selects every node (the metallb spec's pool template). None: no node
        is eligible (the election cannot be computed from what the API shows)."""
        nodes = [self._dict(n) for n in self.core.list_node().items]
        excluded = {n["metadata"]["name"] for n in nodes if metallb.EXCLUDE_LB_LABEL in (n["metadata"].get("labels") or {})}
        unavailable = {n["metadata"]["name"] for n in nodes if any(
            c.get("type") == "NetworkUnavailable" and c.get("status") == "True"
            for c in (n.get("status") or {}).get("conditions") or [])}
        speakers = metallb.live_speakers(self._pods(self.namespace, "component=speaker"))
        out: dict[str, str | None] = {}
        for svc in self.services:
            slices = self.discovery.list_namespaced_endpoint_slice(
                self.app_namespace, label_selector=f"kubernetes.io/service-name={svc.name}").items
            endpoints = [e for sl in map(self._dict, slices) for e in sl.get("endpoints") or []]
            # the election key is the service's first ingress address, for both families of a dual-stack one
            # ("Using the first IP should work for both single and dual stack", ShouldAnnounce); MetalLB writes IPv4
            # first (allocation.go returns [ipv4, ipv6] for RequireDualStack): svc.vip
            winner = metallb.elected(svc.vip, speakers=speakers, policy=svc.traffic_policy, endpoints=endpoints,
                                     excluded=excluded, network_unavailable=unavailable, ad_nodes=self.ad_nodes)
            out[svc.name] = self._short(winner) if winner else None
        return out

    def wait_converged(self, budget: float = CONVERGE_BUDGET) -> dict[str, str]:
        """Wait until every service is announced by the node MetalLB's election picks, and by it alone
        (ServiceL2Status), and return service → that node.

        Exactly one holder is not enough: after node-isolate or node-freeze the interim owner is the only holder the
        moment the undo returns, and seconds later the victim, first in the hash order, rejoins and takes the VIP
        back (metallb#795; ``website/content/concepts/layer2.md``: a node changes the owner only if it becomes the
        first element). When the election cannot be computed from the API (no eligible speaker for a service), the
        owners must instead stay the same for ``STABLE_FOR`` s."""
        track: dict[str, Any] = {"uncomputable_since": None, "holders": None, "holders_since": None}

        def seen() -> tuple[dict[str, str | None], dict[str, list[str]]]:
            expected, holders = self.expected_owners(), {s.name: self.holders(s) for s in self.services}
            now = self.now()
            if None not in expected.values():
                track["uncomputable_since"] = None
            elif track["uncomputable_since"] is None:
                track["uncomputable_since"] = now
            if holders != track["holders"]:
                track["holders"], track["holders_since"] = holders, now
            return expected, holders

        def lasted(key: str) -> bool:
            return track[key] is not None and (self.now() - track[key]).total_seconds() >= STABLE_FOR

        def settled(view: tuple[dict[str, str | None], dict[str, list[str]]]) -> bool:
            expected, holders = view
            if all(expected[name] is not None and holders[name] == [expected[name]] for name in holders):
                return True
            # the fallback, only while the election has been uncomputable for STABLE_FOR s: one holder per service,
            # unchanged that long (an interim owner before the victim rejoins is never taken for the answer)
            return (lasted("uncomputable_since") and lasted("holders_since")
                    and all(len(h) == 1 for h in holders.values()))

        try:
            _, holders = wait_for(seen, settled, budget=budget, interval=POLL, transient=transient_api_error,
                                  what=self.converged_what())
        except InfrastructureError as exc:
            raise InfrastructureError(f"{exc}{self.address_note()}") from exc
        return {name: found[0] for name, found in holders.items()}

    def converged_what(self) -> str:
        """What ``wait_converged`` waits for, as its timeout names it."""
        return ("every service announced by the node MetalLB's election picks, and by it alone (or, while the "
                f"election cannot be computed from the API, by one node unchanged for {STABLE_FOR:g} s)")

    def address_note(self) -> str:
        """What a verdict or an error says about nodes that came back with another address (empty if none)."""
        if not self.address_changes:
            return ""
        moved = ", ".join(f"{node} came back with {new}, was {old}"
                          for node, (old, new) in sorted(self.address_changes.items()))
        return (f" ({moved}: memberlist refuses a known member's new address until the dead entry is reaped — "
                f"DeadNodeReclaimTime is unset in MetalLB — so two speakers may announce meanwhile)")

    def wait_owner(self, service: Service, not_on: str, budget: float = CONVERGE_BUDGET) -> str:
        holders = wait_for(lambda: [h for h in self.holders(service) if h != not_on], lambda h: len(h) == 1,
                           budget=budget, interval=OWNER_POLL,
                           what=f"{service.name} announced by one node other than {not_on}",
                           transient=transient_api_error)
        return holders[0]

    # -- faults --------------------------------------------------------------------------------
    def kill_agent(self, node: Host) -> None:
        """Taint the node (NoSchedule) so the DaemonSet cannot bring the speaker back, then delete the speaker
        pod gracefully (its own terminationGracePeriodSeconds: SIGTERM, the speaker leaves memberlist)."""
        self._evict_speaker(node, grace_period_seconds=None)

    def crash_agent(self, node: Host) -> None:
        """Like :meth:`kill_agent`, but the pod is deleted with grace period 0: the speaker is SIGKILLed
        and cannot leave memberlist or withdraw anything (what a crash or an OOM kill leaves)."""
        self._evict_speaker(node, grace_period_seconds=0)

    def _keep_agent_away(self, node: Host) -> None:
        """Taint the node NoSchedule: the DaemonSet cannot bring the agent back (undone by :meth:`_let_agent_back`)."""
        self.core.patch_node(node.name, {"spec": {"taints": [*self._taints(node), metallb.speaker_taint()]}})

    def _let_agent_back(self, node: Host) -> None:
        key = metallb.speaker_taint()["key"]
        self.core.patch_node(node.name, {"spec": {"taints": [t for t in self._taints(node) if t["key"] != key]}})

    def _evict_speaker(self, node: Host, grace_period_seconds: int | None) -> None:
        self._keep_agent_away(node)
        for pod in self._speakers(node):
            if grace_period_seconds is None:
                self.core.delete_namespaced_pod(pod, self.namespace)
            else:
                self.core.delete_namespaced_pod(pod, self.namespace, grace_period_seconds=grace_period_seconds)

    def start_agent(self, node: Host) -> None:
        """Remove the taint and wait for a **new** speaker on ``node``: a pod without deletionTimestamp whose speaker
        container started since the undo began, Ready. The deleted pod keeps its Ready condition through its 2 s
        grace period (``terminationGracePeriodSeconds: 2`` in MetalLB's manifest) while the takeover has already
        happened: accepting it returned before a new speaker existed."""
        since = self.now().replace(microsecond=0)  # API times have whole seconds
        self._let_agent_back(node)
        wait_for(functools.partial(self.agent_back, node, since), lambda why: why is None, budget=AGENT_BACK_BUDGET,
                 interval=POLL, what=f"a new speaker on {node.name}", transient=transient_api_error)

    def agent_back(self, node: Host, since: dt.datetime) -> str | None:
        """None when a new speaker pod runs on ``node`` (no deletionTimestamp, started at or after ``since``, Ready);
        else what the API shows instead."""
        pods = self._pods(self.namespace, self.agent_selector, f"spec.nodeName={node.name}")
        seen = []
        for pod in pods:
            deleting = (pod.get("metadata") or {}).get("deletionTimestamp")
            started = [timestamp(((c.get("state") or {}).get("running") or {}).get("startedAt"))
                       for c in (pod.get("status", {}).get("containerStatuses") or [])
                       if self.agent_container in (None, c.get("name"))]
            fresh = any(t is not None and t >= since for t in started)
            if not deleting and fresh and _ready(pod):
                return None
            seen.append(f"{pod['metadata']['name']}: " + ("terminating" if deleting else
                        f"started {started[0] if started else 'not yet'}" + ("" if fresh else f" (before {since})")
                        + ("" if _ready(pod) else ", not Ready")))
        return "; ".join(seen) or "no speaker pod"

    def start_node(self, node: Host) -> None:
        """After ``docker start`` of a kind node: return once the node is back *in this boot*.

        Node Ready and a Ready speaker pod alone prove nothing here: the API keeps showing the state from
        before the kill until the node lifecycle controller marks the node NotReady (node-monitor grace
        period, 40-50 s). So the wait requires, against the container's start time: the kubelet's Lease
        renewed since (``spec.renewTime`` of its Lease in kube-node-lease, which the kubelet updates as its
        heartbeat: Kubernetes docs, Leases; KEP "Efficient Node Heartbeat"), the node Ready, and the speaker
        container started since and Ready.
        """
        attrs = self.docker.containers.get(self.container_names.get(node.name, node.name)).attrs
        booted = timestamp(attrs["State"].get("StartedAt"))
        if booted is None:
            raise InfrastructureError(f"node {node.name} has no start time: it is not running")
        now_ip = ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(self.topology.network, {}).get("IPAddress")
        if now_ip and now_ip != node.ip:
            self.address_changes[self._short(node.name)] = (node.ip, now_ip)
        wait_for(functools.partial(self.node_back, node, booted), lambda why: why is None, budget=NODE_BACK_BUDGET,
                 interval=POLL, what=f"node {node.name} back after its restart", transient=transient_api_error)

    def node_back(self, node: Host, booted: dt.datetime) -> str | None:
        """None when ``node`` is back in the boot that started at ``booted``; else what is still missing."""
        since = booted.replace(microsecond=0)  # API times have whole seconds
        lease = self._dict(self.leases.read_namespaced_lease(node.name, "kube-node-lease"))
        renewed = timestamp((lease.get("spec") or {}).get("renewTime"))
        if renewed is None or renewed < since:
            return f"kubelet lease last renewed {renewed} (before the restart at {since})"
        if not _ready(self._dict(self.core.read_node(node.name))):
            return "node not Ready"
        pods = self._pods(self.namespace, self.agent_selector, f"spec.nodeName={node.name}")
        started = [timestamp(((c.get("state") or {}).get("running") or {}).get("startedAt"))
                   for p in pods if _ready(p) for c in (p.get("status", {}).get("containerStatuses") or [])
                   if self.agent_container in (None, c.get("name"))]
        if not any(t is not None and t >= since for t in started):
            return f"speaker not restarted and Ready since {since} (started: {started or 'no Ready speaker pod'})"
        return None

    def _taints(self, node: Host) -> list[dict[str, Any]]:
        return list(self._dict(self.core.read_node(node.name)).get("spec", {}).get("taints") or [])

    def _speakers(self, node: Host, ready: bool = False) -> list[str]:
        pods = self._pods(self.namespace, self.agent_selector, f"spec.nodeName={node.name}")
        return [p["metadata"]["name"] for p in pods if _ready(p) or not ready]

    def version(self) -> str:
        return metallb.version(self.spec)

    def cleanup(self) -> None:
        """Nothing on the host: the objects go with the cluster."""


def _api_message(exc: ApiException) -> str:
    """The ``message`` of an API error's Status body, else its body, on one line."""
    import json

    try:
        message = str(json.loads(exc.body or "{}").get("message") or exc.body)
    except (ValueError, AttributeError):
        message = str(exc.body)
    return " ".join(message.split())[:400]


def _ready(obj: dict[str, Any]) -> bool:
    """A pod's or node's Ready condition is True."""
    conditions = obj.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
