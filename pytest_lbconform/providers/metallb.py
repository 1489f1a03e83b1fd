"""MetalLB (layer 2) on kind: manifests, objects, owner discovery, and its faults.

MetalLB itself is installed from the official release manifest of the pinned version, fetched at
run time (``settings.manifest`` in ``fixtures/providers/metallb.yaml``); this module only builds
the objects a run creates (pool, advertisement, backends, services) and reads MetalLB's status.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import ConfigError, shown
from ..paths import FIXTURES
from ..scenarios import SERVICES
from .kube_model import fill, render_pool
from .spec import ProviderSpec

NODE_ASSIGNED = re.compile(r'announcing from node "(?P<node>[^"]+)" with protocol "layer2"')
NAMESPACE = "default"
#: traefik/whoami's current release (github.com/traefik/whoami, v1.11)
DEFAULT_BACKEND_IMAGE = "traefik/whoami:v1.11.0"
AGENT_TAINT = {"key": "lbconform.io/no-speaker", "value": "true", "effect": "NoSchedule"}
#: a node with this label never announces (MetalLB ``internal/k8s/nodes/nodes.go``): kind's control-plane has it
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


VERSION_ENV = "LBCONFORM_METALLB_VERSION"
#: a MetalLB release tag (as the spec's ``settings.version``): it goes into the manifest URL
RELEASE_TAG = re.compile(r"v[0-9]+\.[0-9]+\.[0-9]+", re.ASCII)


def _pin(spec: ProviderSpec) -> str:
    """The spec's release pin: ``kubernetes.install.version``, else (a spec of the user's) ``settings.version``."""
    return spec.kubernetes.install.version if spec.kubernetes is not None else str(spec.settings["version"])


def version(spec: ProviderSpec) -> str:
    """The MetalLB release to install: ``LBCONFORM_METALLB_VERSION`` or the spec's pin. The variable must be a
    release tag (``v0.16.1``): anything else (``../``, ``;``, a URL) would reach the manifest URL."""
    override = os.environ.get(VERSION_ENV)
    if not override:
        return _pin(spec)
    if not RELEASE_TAG.fullmatch(override):
        raise ConfigError(f"{VERSION_ENV}={shown(override)} is not a MetalLB release tag; give vMAJOR.MINOR.PATCH "
                          f"(e.g. {_pin(spec) if spec.kubernetes or 'version' in spec.settings else 'v0.16.1'}) or "
                          "unset it to install the spec's pin")
    return override


def manifest_url(spec: ProviderSpec) -> str:
    """The official release manifest of that version (installed at run time, never copied here)."""
    template = spec.kubernetes.install.manifests[0] if spec.kubernetes is not None else str(spec.settings["manifest"])
    return fill(template, {"version": version(spec)}, ("version",))


def namespace(spec: ProviderSpec) -> str:
    """MetalLB's namespace: the agent's (``kubernetes.agent.namespace``), else ``settings.namespace``."""
    if spec.kubernetes is not None:
        return spec.kubernetes.agent.namespace
    return str(spec.settings.get("namespace", "metallb-system"))


def annotation(spec: ProviderSpec | None, which: str) -> str:
    """The Service annotation a spec names for ``which`` (requested_ip, sharing, pool), MetalLB's by default."""
    defaults = {"requested_ip": "metallb.io/loadBalancerIPs", "sharing": "metallb.io/allow-shared-ip",
                "pool": "metallb.io/address-pool"}
    if spec is not None and spec.kubernetes is not None:
        svc = spec.kubernetes.service
        found = {"requested_ip": svc.requested_ip.annotation if svc.requested_ip else None,
                 "sharing": svc.sharing_annotation, "pool": svc.pool_annotation}[which]
        return found or defaults[which]
    settings = spec.settings if spec else {}
    return str(settings.get(f"{which}_annotation" if which != "sharing" else "sharing_annotation", defaults[which]))


def l2_objects(first: str, last: str, spec: ProviderSpec | None = None,
               range6: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The IPAddressPool (first-last, as 172.18.255.200-172.18.255.250 in the notes) and its L2Advertisement: the
    pool template of ``spec`` (default: the built-in metallb spec's). ``range6``: an IPv6 range added to every
    IPAddressPool of it, for dual-stack services: "there must be at least one address pool having both addresses of
    version v4 and v6" (MetalLB v0.16.1 ``website/content/usage/_index.md``, "IPv6 and dual stack services"); the
    L2Advertisement names the pool, so it covers both ranges."""
    if spec is None or spec.kubernetes is None:
        from .spec import SPEC_DIR, load_spec

        spec = load_spec(SPEC_DIR / "metallb.yaml")
    assert spec.kubernetes is not None
    known = {"pool_start": first, "pool_end": last, "pool_range": f"{first}-{last}", "subnet": "",
             "namespace": namespace(spec), "cluster": ""}
    objects = render_pool(spec.kubernetes.pool.template, known)
    if range6 is not None:
        for obj in objects:
            if obj["kind"] == "IPAddressPool":
                obj.setdefault("spec", {}).setdefault("addresses", []).append(f"{range6[0]}-{range6[1]}")
    return objects


def backend_image(spec: ProviderSpec | None = None) -> str:
    """The backends' image, pinned by tag (``settings.backend_image``); never ``latest``, so that
    ``IfNotPresent`` uses what ``--preload-images`` loaded instead of pulling again."""
    image = str((spec.settings if spec else {}).get("backend_image", DEFAULT_BACKEND_IMAGE))
    if (":" not in image.rsplit("/", 1)[-1] and "@" not in image) or image.endswith(":latest"):
        raise ConfigError(f"settings.backend_image={image!r} must be pinned by tag or digest (not latest), "
                         f"e.g. {DEFAULT_BACKEND_IMAGE}")
    return image


def backend_pods(workers: Sequence[str], image: str = "", namespace: str = NAMESPACE,
                 extra_labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One traefik/whoami pod per worker, pinned with nodeName (webpod1 on the first worker …), image
    pinned and ``imagePullPolicy: IfNotPresent`` (an untagged image defaults to Always and would ignore
    a preloaded copy: Kubernetes docs, "Image pull policy"). In ``namespace`` (kind: default; an existing cluster:
    the run's own), with ``extra_labels`` (the run's id on an existing cluster)."""
    template = yaml.safe_load((FIXTURES / "kind" / "backends.yaml").read_text())["pod"]
    pods = []
    for i, node in enumerate(workers, start=1):
        pod = copy.deepcopy(template)
        pod["metadata"].update(name=f"webpod{i}", namespace=namespace)
        if extra_labels:
            pod["metadata"]["labels"] = {**(pod["metadata"].get("labels") or {}), **extra_labels}
        pod["spec"]["nodeName"] = node
        for container in pod["spec"]["containers"]:
            container["image"] = image or backend_image()
            container["imagePullPolicy"] = "IfNotPresent"
        pods.append(pod)
    return pods


#: what makes a Service dual-stack: both families or none (``RequireDualStack``: the API refuses it on a cluster that is
#: not dual-stack, and MetalLB gives it one address of each family or leaves it pending: v0.16.1
#: ``internal/allocator/allocation.go`` ``selectIPsForFamilyAndPolicy``); IPv4 first, the cluster's primary family
DUAL_STACK = {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv4", "IPv6"]}


def services(annotations: Mapping[str, Mapping[str, str]] | None = None, namespace: str = NAMESPACE,
             extra_labels: Mapping[str, str] | None = None, dual: bool = False) -> list[dict[str, Any]]:
    """svc1 (Cluster), svc2 (Local), svc3 (Cluster + ClientIP affinity), as in scenarios.SERVICES, in ``namespace``;
    ``dual``: each of them dual-stack (:data:`DUAL_STACK`)."""
    template = yaml.safe_load((FIXTURES / "kind" / "backends.yaml").read_text())["service"]
    out = []
    for name, (policy, affinity) in SERVICES.items():
        svc = copy.deepcopy(template)
        svc["metadata"] = {"name": name, "namespace": namespace, **({"labels": dict(extra_labels)} if extra_labels
                                                                     else {})}
        if annotations and name in annotations:
            svc["metadata"]["annotations"] = dict(annotations[name])
        svc["spec"]["externalTrafficPolicy"] = policy
        svc["spec"]["sessionAffinity"] = affinity
        if dual:
            svc["spec"].update(copy.deepcopy(DUAL_STACK))
        out.append(svc)
    return out


def allocation_service(name: str, requested_ip: str | None = None, sharing_key: str | None = None,
                       port: int = 80, spec: ProviderSpec | None = None) -> dict[str, Any]:
    """A service for the VIP-allocation checks: optionally a requested IP or a sharing key."""
    svc = services()[0]
    svc["metadata"] = {"name": name, "namespace": NAMESPACE}
    annotations = {}
    if requested_ip:
        annotations[annotation(spec, "requested_ip")] = requested_ip
    if sharing_key:
        annotations[annotation(spec, "sharing")] = sharing_key
    if annotations:
        svc["metadata"]["annotations"] = annotations
    svc["spec"]["ports"][0]["port"] = port
    svc["spec"]["ports"][0]["name"] = f"web-{port}"
    return svc


# -- reading status ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Announcement:
    """Who MetalLB says announces a service, and from which source."""

    service: str
    nodes: tuple[str, ...]  #: distinct nodes named (more than one = MetalLB itself reports a split)
    source: str             #: "ServiceL2Status" or "events"
    note: str = ""          #: what was corrected or left out to read it (old releases, dangling objects)

    @property
    def node(self) -> str | None:
        return self.nodes[0] if len(self.nodes) == 1 else None


def owners_from_l2status(items: Iterable[Mapping[str, Any]], exclude: Collection[str] = (),
                         namespace: str | None = None) -> dict[str, Announcement]:
    """ServiceL2Status objects (``metallb.io/v1beta1``) → service → announcing node(s).

    The announcer is the label ``metallb.io/node`` (set by the speaker that last wrote the object), else
    ``status.node``. Releases before v0.16.0 reused the first existing object when leadership moved and
    could not change its immutable ``status.node`` (metallb#2930, fixed by #2938): label and status then
    disagree, and the label names the current announcer (metallb ``internal/k8s/controllers/
    layer2_status_controller.go``, v0.14.9 vs v0.16.1). Objects of nodes in ``exclude`` (faulted or
    NotReady: an old release leaves them dangling) are left out. Duplicates on one node collapse (the
    KANS notes show two for svc3, both on myk8s-worker3); different nodes are kept and reported.
    With ``namespace``, only the statuses of services in that namespace count (a cluster of the user's may have a
    ``svc1`` of its own elsewhere).
    """
    found: dict[str, set[str]] = {}
    notes: dict[str, list[str]] = {}
    for item in items:
        status = item.get("status") or {}
        labels = item.get("metadata", {}).get("labels") or {}
        owner_ns = status.get("serviceNamespace") or labels.get("metallb.io/service-namespace")
        if namespace is not None and owner_ns and owner_ns != namespace:
            continue
        service = status.get("serviceName") or labels.get("metallb.io/service-name")
        node = labels.get("metallb.io/node") or status.get("node")
        if not (service and node):
            continue
        if status.get("node") and labels.get("metallb.io/node") and status["node"] != labels["metallb.io/node"]:
            notes.setdefault(str(service), []).append(
                f"status.node {status['node']} ≠ label {node} (immutable status of an older MetalLB): label used")
        if str(node) in exclude:
            notes.setdefault(str(service), []).append(f"left out the object of {node} (faulted or NotReady)")
            found.setdefault(str(service), set())
            continue
        found.setdefault(str(service), set()).add(str(node))
    return {svc: Announcement(svc, tuple(sorted(n)), "ServiceL2Status", "; ".join(notes.get(svc, [])))
            for svc, n in found.items() if n}


def owner_from_events(service: str, events: Iterable[Mapping[str, Any]]) -> Announcement | None:
    """The latest ``nodeAssigned`` event of ``service`` (the fallback before ServiceL2Status existed)."""
    latest: tuple[str, str] | None = None
    for event in events:
        if event.get("reason") != "nodeAssigned":
            continue
        match = NODE_ASSIGNED.search(str(event.get("message", "")))
        stamp = str(event.get("lastTimestamp") or event.get("eventTime") or "")
        if match and (latest is None or stamp >= latest[0]):
            latest = (stamp, match.group("node"))
    return Announcement(service, (latest[1],), "events") if latest else None


def ingress_ip(service: Mapping[str, Any]) -> str | None:
    """``status.loadBalancer.ingress[0].ip`` of a Service, None while pending."""
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return str(ingress[0]["ip"]) if ingress and ingress[0].get("ip") else None


def ingress_ips(service: Mapping[str, Any]) -> dict[int, str]:
    """IP family (4, 6) → the address of that family in ``status.loadBalancer.ingress`` (MetalLB writes IPv4 then IPv6
    for a dual-stack service; read by family, not by position); empty while pending."""
    return family_addresses(((service.get("status") or {}).get("loadBalancer") or {}).get("ingress"))


def family_addresses(entries: Iterable[Mapping[str, Any]] | None) -> dict[int, str]:
    """IP family → the first address of it in a list of ``{ip: …}`` entries (a Service's ingress, a pod's
    ``status.podIPs``); entries without a valid address are left out."""
    found: dict[int, str] = {}
    for entry in entries or []:
        try:
            address = ipaddress.ip_address(str(entry.get("ip") or ""))
        except ValueError:
            continue
        found.setdefault(address.version, str(address))
    return found


def allocation_failure(events: Iterable[Mapping[str, Any]]) -> str | None:
    """Why MetalLB left a service pending (``AllocationFailed`` event message), if it said."""
    for event in events:
        if event.get("reason") == "AllocationFailed":
            return str(event.get("message", ""))
    return None


def pod_gateway(pod_cidr: str | None) -> str | None:
    """The node's address on its pod network (first host of its podCIDR): the source a pod sees
    under Cluster when the node forwards to it (``RemoteAddr: 10.10.1.1`` for 10.10.1.0/24 in the notes)."""
    if not pod_cidr:
        return None
    return str(next(ipaddress.ip_network(pod_cidr, strict=False).hosts()))


def speaker_taint() -> dict[str, str]:
    """The NoSchedule taint put on the owner before deleting its speaker, so it cannot come back
    (MetalLB's own speaker-failover e2e does the same: the DaemonSet would recreate it)."""
    return dict(AGENT_TAINT)


# -- MetalLB's layer-2 election (speaker/layer2_controller.go, v0.16.1) ---------------------------------------------
def election_order(nodes: Iterable[str], ip: str) -> list[str]:
    """``nodes`` in MetalLB's order for ``ip``: sorted by sha256(node + "#" + ip), compared as bytes. The first
    announces (``ShouldAnnounce``: the same input string at v0.14.8 and v0.16.1)."""
    return sorted(nodes, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def endpoint_can_serve(conditions: Mapping[str, Any] | None) -> bool:
    """An EndpointSlice endpoint MetalLB counts (``epslices.EndpointCanServe``): ready absent or true, or serving."""
    conditions = conditions or {}
    return conditions.get("ready") is None or bool(conditions["ready"]) or conditions.get("serving") is True


def elected(ip: str, *, speakers: Iterable[str], policy: str, endpoints: Iterable[Mapping[str, Any]],
            excluded: Collection[str] = (), network_unavailable: Collection[str] = (),
            ad_nodes: Collection[str] | None = None) -> str | None:
    """The node MetalLB's election makes announce ``ip``, None when no node does.

    ``speakers``: the nodes whose speaker is a memberlist member; ``endpoints``: the service's EndpointSlice endpoints
    (``nodeName``, ``conditions``); ``excluded``: nodes labelled exclude-from-external-load-balancers;
    ``network_unavailable``: nodes whose NetworkUnavailable condition is True; ``ad_nodes``: the nodes the service's
    L2Advertisements select (None: every node). Without an endpoint that can serve nobody announces; under ``Local``
    only nodes with such an endpoint are candidates."""
    endpoints = list(endpoints)
    if not any(endpoint_can_serve(e.get("conditions")) for e in endpoints):
        return None
    candidates = {s for s in speakers if s not in excluded and s not in network_unavailable
                  and (ad_nodes is None or s in ad_nodes)}
    if policy == "Local":
        candidates &= {str(e["nodeName"]) for e in endpoints
                       if e.get("nodeName") and endpoint_can_serve(e.get("conditions"))}
    return election_order(candidates, ip)[0] if candidates else None


def live_speakers(pods: Iterable[Mapping[str, Any]]) -> set[str]:
    """Nodes whose speaker pod is not terminating, runs its speaker container and is Ready: what the API can tell of
    memberlist membership, which it does not show (a speaker being deleted left memberlist on SIGTERM; the pods of a
    node gone silent are marked not ready by the node lifecycle controller)."""
    live = set()
    for pod in pods:
        conditions = (pod.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        if (pod.get("metadata") or {}).get("deletionTimestamp") or not ready:
            continue
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if any(c.get("name") == "speaker" and ((c.get("state") or {}).get("running") or {}).get("startedAt")
               for c in statuses):
            live.add(str(pod["spec"]["nodeName"]))
    return live
