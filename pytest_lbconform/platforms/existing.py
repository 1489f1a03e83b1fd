"""The ``existing`` platform: a Kubernetes cluster the user already has, with the LB installed their way.

The run never installs or changes the LB there. It reads the cluster (read only: nodes, kube-proxy's mode, the LB's
version and pools), creates only its own namespace ``lbconform-<run id>`` with the backends and services (labelled,
removed at the end), and puts its clients on the nodes' L2 segment through the Docker engine that hosts the nodes:
the local one or a remote one (``DOCKER_HOST=ssh://…``, the docker SDK's ssh transport).

What a run may do there is decided here, once, for the plugin (collection and set-up), the environment and ``--plan``
(:func:`not_tested`): faults only with ``--allow-faults``; node faults only where the nodes are containers of that
engine; host-side faults (a node's veth, a bridge table) only where that engine runs on this host; checks on the wire
only with a client network. Everything else is reported as not tested, with its reason.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import labels, ownership
from ..errors import ConfigError, InfrastructureError, shown

#: kubectl's default, when neither --kubeconfig nor KUBECONFIG names one
DEFAULT_KUBECONFIG = "~/.kube/config"
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024
#: (connect, read) seconds for the read-only calls at start-up and in --plan: an API that does not answer is one line
PROBE_TIMEOUT = (5.0, 10.0)
NAMESPACE_PREFIX = "lbconform-"
#: where the run's clients join when the nodes are not containers of the engine and no --client-network is given
NO_CLIENT_NETWORK = ("no client network: the nodes are not containers of this Docker engine and no --client-network "
                     "names a Docker network on their L2 segment (e.g. a macvlan on the nodes' LAN)")
FAULTS_OPT_IN = "faults are injected into your cluster only with --allow-faults"
#: faults that act on a node's container through the engine (docker kill / pause) or on its host-side veth
NODE_FAULTS = frozenset({"node-isolate", "node-stop", "node-freeze", "peer-partition"})
#: faults done on the engine's host itself (a veth set down, a bridge-family nft table): that host must be this one
HOST_FAULTS = frozenset({"node-isolate", "peer-partition"})
NETWORK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}", re.ASCII)
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
EXCLUDE_LB_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
PROXY_MODES = ("iptables", "nftables", "ipvs", "ipvs-nostrictarp", "kube-proxy-replacement")


class ClusterUnreachable(ConfigError):
    """The cluster's API did not answer (a run stops in one line; ``--plan`` says so and shows what it can)."""


# -- the kubeconfig -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """The cluster a run talks to: its kubeconfig (read only, never written), context and API server."""

    kubeconfig: str  #: one path, or KUBECONFIG's list (joined with os.pathsep: kubectl merges them)
    source: str      #: where the path came from (``--kubeconfig``, ``KUBECONFIG``, ``~/.kube/config`` …)
    context: str
    server: str
    contexts: tuple[str, ...] = ()


def kubeconfig_paths(given: str | None, given_source: str) -> tuple[str, str]:
    """(the kubeconfig to read, where it came from): ``given`` (``--kubeconfig``, ``LBCONFORM_KUBECONFIG`` or the ini
    key), else ``KUBECONFIG`` (a list, as kubectl reads it), else ``~/.kube/config``."""
    if given:
        return os.path.expanduser(given), given_source
    if os.environ.get("KUBECONFIG"):
        return os.environ["KUBECONFIG"], "KUBECONFIG"
    return os.path.expanduser(DEFAULT_KUBECONFIG), DEFAULT_KUBECONFIG


def _read_one(path: str, where: str) -> dict[str, Any]:
    accepted = "a readable kubeconfig file (kubectl config view shows what it holds)"
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"{where}={shown(path)}: cannot read it ({exc.strerror}); give {accepted}") from exc
    if not Path(path).is_file():
        raise ConfigError(f"{where}={shown(path)}: not a regular file; give {accepted}")
    if st.st_size > MAX_KUBECONFIG_BYTES:
        raise ConfigError(f"{where}={shown(path)}: {st.st_size} bytes, more than a kubeconfig holds "
                          f"(at most {MAX_KUBECONFIG_BYTES}); give {accepted}")
    try:
        with open(path, "rb") as fh:
            raw = yaml.safe_load(fh.read().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}={shown(path)}: cannot read it ({exc.strerror}); give {accepted}") from exc
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{where}={shown(path)}: not a kubeconfig (not YAML: "
                          f"{' '.join(str(exc).split())[:120]}); give {accepted}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("contexts") or [], list) or \
            not isinstance(raw.get("clusters") or [], list):
        raise ConfigError(f"{where}={shown(path)}: not a kubeconfig (no contexts/clusters lists); give {accepted}")
    return raw


def resolve_target(given: str | None, given_source: str, context: str | None, context_source: str) -> Target:
    """The kubeconfig and context a run on ``existing`` uses, checked (read only) before anything starts: a missing or
    unreadable file, a file that is no kubeconfig, an unknown context, a context without a cluster are one line."""
    path, source = kubeconfig_paths(given, given_source)
    files = [p for p in path.split(os.pathsep) if p] if source == "KUBECONFIG" else [path]
    merged: dict[str, dict[str, Any]] = {"contexts": {}, "clusters": {}}
    current = ""
    readable = 0
    for one in files:
        if source == "KUBECONFIG" and not os.path.exists(one) and len(files) > 1:
            continue  # kubectl skips a missing file of a KUBECONFIG list
        raw = _read_one(one, source)
        readable += 1
        for kind in ("contexts", "clusters"):
            for entry in raw.get(kind) or []:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    merged[kind].setdefault(entry["name"], entry.get(kind[:-1]) or {})  # the first file wins
        current = current or str(raw.get("current-context") or "")
    if not readable:
        raise ConfigError(f"{source}={shown(path)}: none of its files exists; give a readable kubeconfig file")
    names = tuple(merged["contexts"])
    chosen = context or current
    if not chosen:
        raise ConfigError(f"{source}={shown(path)} sets no current-context; name one with --context "
                          f"(contexts: {', '.join(names) or 'none'})")
    if chosen not in merged["contexts"]:
        where = context_source if context else f"current-context of {source}"
        raise ConfigError(f"{where}={shown(chosen)} is not a context of {shown(path)}; accepted: "
                          f"{', '.join(shown(n, 40) for n in names[:12]) or 'none (the file defines no context)'}")
    cluster = str((merged["contexts"][chosen] or {}).get("cluster") or "")
    server = str((merged["clusters"].get(cluster) or {}).get("server") or "")
    if not server:
        raise ConfigError(f"context {shown(chosen)} of {shown(path)} names cluster {shown(cluster)}, which has no "
                          "server; fix the kubeconfig (kubectl config view)")
    return Target(kubeconfig=path, source=source, context=chosen, server=server, contexts=names)


def api_client(target: Target, timeout: tuple[float, float] | None = None) -> Any:
    """A kubernetes ApiClient for ``target`` with a bounded timeout on every request (read only use at start-up)."""
    from ..providers.metallb_kind import api_client as client_for

    return client_for(target.kubeconfig, context=target.context, timeout=timeout)


def check_client_network(name: str | None, where: str) -> str | None:
    """``--client-network`` as a Docker network name (``[A-Za-z0-9][A-Za-z0-9_.-]*``), or one line."""
    if name is None:
        return None
    if not NETWORK_NAME.fullmatch(name):
        raise ConfigError(f"{where}={shown(name)} is not a Docker network name; give the name of a network on the "
                          "nodes' L2 segment ([A-Za-z0-9][A-Za-z0-9_.-]*, e.g. kind or a macvlan you made)")
    return name


# -- kube-proxy ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxyMode:
    """The cluster's service data plane as kube-proxy's ConfigMap says it (``mode`` None: not readable)."""

    mode: str | None
    strict_arp: bool | None
    note: str


def proxy_mode_from(configmap: Mapping[str, Any] | None, daemonset: bool) -> ProxyMode:
    """The data-plane mode from the ``kube-proxy`` ConfigMap of kube-system (``data["config.conf"]``, a
    KubeProxyConfiguration: ``mode`` empty means iptables on Linux; ``ipvs.strictARP``), and whether a kube-proxy
    DaemonSet exists. No ConfigMap and no DaemonSet: a kube-proxy replacement (e.g. Cilium) serves the services."""
    if configmap is None:
        if daemonset:
            return ProxyMode(None, None, "kube-proxy runs (DaemonSet kube-system/kube-proxy) but has no kube-proxy "
                                         "ConfigMap: its mode cannot be read; give it with --proxy-mode")
        return ProxyMode("kube-proxy-replacement", None,
                         "no kube-proxy ConfigMap or DaemonSet in kube-system: a kube-proxy replacement (e.g. Cilium) "
                         "serves the services, judged with a random scheduler; a distribution with kube-proxy built "
                         "in (k3s: iptables) shows the same: give --proxy-mode then")
    text = ((configmap.get("data") or {}).get("config.conf")) or ""
    try:
        conf = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        conf = None
    if not isinstance(conf, dict):
        return ProxyMode(None, None, "the kube-proxy ConfigMap's config.conf is not a KubeProxyConfiguration; give "
                                     "the mode with --proxy-mode")
    mode = str(conf.get("mode") or "") or "iptables"
    where = "kube-system/kube-proxy config.conf"
    if mode == "ipvs":
        strict = bool((conf.get("ipvs") or {}).get("strictARP"))
        if strict:
            return ProxyMode("ipvs", True, f"ipvs with strictARP: true ({where})")
        return ProxyMode("ipvs-nostrictarp", False,
                         f"ipvs with strictARP off ({where}): every node answers ARP for the addresses on kube-ipvs0 "
                         "unless the LB prevents it; MetalLB's installation docs require strictARP: true. The run "
                         "goes on: the ARP checks judge it")
    if mode in ("iptables", "nftables"):
        return ProxyMode(mode, None, f"{mode}" + (" (mode empty: iptables on Linux)" if not conf.get("mode") else "")
                         + f" ({where})")
    return ProxyMode(None, None, f"kube-proxy mode {shown(mode, 40)} ({where}) is not one the suite judges "
                                 "(iptables, nftables, ipvs)")


def read_proxy_mode(core: Any, apps: Any) -> ProxyMode:
    """Read kube-proxy's ConfigMap (and whether its DaemonSet exists) through the API (read only)."""
    from kubernetes.client.exceptions import ApiException

    try:
        cm = core.api_client.sanitize_for_serialization(core.read_namespaced_config_map("kube-proxy", "kube-system"))
    except ApiException as exc:
        if exc.status != 404:
            raise
        cm = None
    daemonset = False
    if cm is None:
        try:
            apps.read_namespaced_daemon_set("kube-proxy", "kube-system")
            daemonset = True
        except ApiException as exc:
            if exc.status != 404:
                raise
    return proxy_mode_from(cm, daemonset)


def cluster_mode(target: Target, given: str | None, where: str) -> ProxyMode:
    """The mode the run uses on ``target``: the cluster's; ``--proxy-mode`` only confirms it (or names it where the
    cluster does not say). One line when the API does not answer or the modes differ."""
    from kubernetes import client as k8s

    api = api_client(target, PROBE_TIMEOUT)
    try:
        found = read_proxy_mode(k8s.CoreV1Api(api), k8s.AppsV1Api(api))
    except Exception as exc:  # any failure to talk to the API is the one line below
        raise ClusterUnreachable(unreachable(target, exc)) from None
    finally:
        api.close()
    return reconcile_mode(found, given, where)


def check_mode_given(given: str | None, where: str) -> None:
    """``--proxy-mode`` on existing names one mode the suite judges (the cluster's: it is compared once read)."""
    if given is not None and ("," in given or given not in PROXY_MODES):
        raise ConfigError(f"{where}={shown(given)}: on --platform=existing one mode runs, the cluster's; accepted: "
                          f"{', '.join(PROXY_MODES)} (or leave it out: it is read from kube-proxy's ConfigMap)")


def reconcile_mode(found: ProxyMode, given: str | None, where: str) -> ProxyMode:
    """The cluster's mode checked against ``--proxy-mode``: equal, or given where the cluster does not say it."""
    if given is not None:
        check_mode_given(given, where)
        if found.mode not in (None, "kube-proxy-replacement", given):
            raise ConfigError(f"{where}={shown(given)}, but the cluster's kube-proxy runs {found.mode} ({found.note}); "
                              f"leave --proxy-mode out or give {found.mode}")
        if found.mode in (None, "kube-proxy-replacement"):
            return ProxyMode(given, given == "ipvs" or None, f"{given} as given by {where} ({found.note})")
        return found
    if found.mode is None:
        raise ConfigError(f"cannot read the cluster's kube-proxy mode: {found.note}")
    return found


def unreachable(target: Target, exc: BaseException) -> str:
    """One line: the API of ``target`` did not answer (which server, which context, why)."""
    text = " ".join(str(exc).split())
    why = re.sub(r"^HTTPSConnectionPool\(.*?\): |^HTTPConnectionPool\(.*?\): ", "", text)[:200]
    status = getattr(exc, "status", None)
    head = f"the Kubernetes API of context {shown(target.context, 60)} ({target.server})"
    fix = f"check the kubeconfig ({target.source}) and that the cluster runs (kubectl --context {target.context} get nodes)"
    if status:
        return f"{head} answered HTTP {status} {getattr(exc, 'reason', '') or ''}".rstrip() + f"; {fix}"
    return (f"{head} did not answer (connect {PROBE_TIMEOUT[0]:g} s, read {PROBE_TIMEOUT[1]:g} s): {why}; {fix}")


# -- what the cluster shows (read only) -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeFact:
    name: str
    internal_ip: str
    control_plane: bool
    excluded: bool  #: labelled exclude-from-external-load-balancers: never announces
    ready: bool

    @property
    def worker(self) -> bool:
        """Where the run's backends may go: neither a control-plane node nor excluded from LBs."""
        return not self.control_plane and not self.excluded


@dataclass(frozen=True)
class Pool:
    name: str
    addresses: tuple[str, ...]
    auto_assign: bool

    def bounds(self) -> tuple[str, str] | None:
        """First and last address of the pool's first IPv4 range (``a-b`` or a CIDR), None without one."""
        for entry in self.addresses:
            try:
                return address_range(entry)
            except ValueError:
                continue
        return None


def address_range(entry: str) -> tuple[str, str]:
    """``172.18.255.200-172.18.255.250`` or ``172.18.255.0/24`` → (first, last) IPv4 addresses."""
    if "-" in entry:
        first, last = (ipaddress.IPv4Address(p.strip()) for p in entry.split("-", 1))
    else:
        net = ipaddress.IPv4Network(entry.strip(), strict=False)
        first, last = net.network_address, net.broadcast_address
    if int(last) < int(first):
        raise ValueError(entry)
    return str(first), str(last)


@dataclass(frozen=True)
class ClusterView:
    """What ``--plan`` and the set-up read from the cluster, each part with what went wrong reading it."""

    target: Target
    reachable: bool
    why: str = ""
    kubernetes: str = ""
    nodes: tuple[NodeFact, ...] = ()
    proxy: ProxyMode | None = None
    metallb_version: str = ""
    speaker_image: str = ""
    metallb_why: str = ""  #: empty when the LB was found
    pools: tuple[Pool, ...] = ()
    l2_advertisements: tuple[dict[str, Any], ...] = ()
    leftovers: tuple[str, ...] = ()  #: namespaces of earlier runs still there

    @property
    def workers(self) -> tuple[NodeFact, ...]:
        return tuple(n for n in self.nodes if n.worker)


def node_facts(nodes: Iterable[Mapping[str, Any]]) -> tuple[NodeFact, ...]:
    out = []
    for node in nodes:
        meta, status = node.get("metadata") or {}, node.get("status") or {}
        node_labels = meta.get("labels") or {}
        addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        out.append(NodeFact(str(meta.get("name")), str(addresses.get("InternalIP") or ""),
                            any(label in node_labels for label in CONTROL_PLANE_LABELS),
                            EXCLUDE_LB_LABEL in node_labels, ready))
    return tuple(sorted(out, key=lambda n: (not n.control_plane, n.name)))


def image_tag(image: str) -> str:
    """``quay.io/metallb/speaker:v0.16.1`` → ``v0.16.1`` (a digest-only reference gives the digest's start)."""
    if "@" in image:
        image, digest = image.split("@", 1)
        if ":" not in image.rsplit("/", 1)[-1]:
            return digest[:19]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


@dataclass(frozen=True)
class Agent:
    """The LB's agent workload the view reads its version from; MetalLB's speaker by default (whose pools and
    L2Advertisements are read too)."""

    kind: str = "DaemonSet"
    name: str = "speaker"
    container: str | None = "speaker"
    project: str = "MetalLB"
    metallb: bool = True


def read_cluster(target: Target, namespace: str, timeout: tuple[float, float] | None = PROBE_TIMEOUT,
                 agent: Agent = Agent()) -> ClusterView:
    """Everything the run needs to know of the cluster, read only; an API that does not answer gives a view with
    ``reachable`` False and the reason. ``agent``: the LB's workload in ``namespace`` (default MetalLB's speaker)."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    api = api_client(target, timeout)
    plain = api.sanitize_for_serialization
    core, apps, custom = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.CustomObjectsApi(api)
    try:
        try:
            nodes = node_facts(plain(n) for n in core.list_node().items)
        except Exception as exc:  # the plan says it in one line and shows what it can
            return ClusterView(target, False, unreachable(target, exc))
        try:
            version = str(k8s.VersionApi(api).get_code().git_version)
        except Exception:  # described only
            version = "(version not readable)"
        proxy = read_proxy_mode(core, apps)
        metallb_version, image, why = "", "", ""
        try:
            read = apps.read_namespaced_daemon_set if agent.kind == "DaemonSet" else apps.read_namespaced_deployment
            ds = plain(read(agent.name, namespace))
            containers = (((ds.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
            image = next((str(c.get("image")) for c in containers if c.get("name") == agent.container),
                         str(containers[0].get("image")) if containers else "")
            metallb_version = image_tag(image) if image else ""
        except ApiException as exc:
            if exc.status != 404:
                raise
            why = (f"no MetalLB speaker DaemonSet in namespace {namespace} (install MetalLB first, or name its "
                   "namespace in a spec of your own: settings.namespace)" if agent.metallb else
                   f"no {agent.project} {agent.kind} {agent.name} in namespace {namespace} (install it first, or "
                   "name it in your spec: kubernetes.agent)")
        pools: list[Pool] = []
        ads: list[dict[str, Any]] = []
        if not why and agent.metallb:
            for item in _custom_items(custom, namespace, "ipaddresspools"):
                spec = item.get("spec") or {}
                pools.append(Pool(str(item["metadata"]["name"]), tuple(map(str, spec.get("addresses") or [])),
                                  spec.get("autoAssign", True) is not False))
            ads = [{"name": item["metadata"]["name"], **(item.get("spec") or {})}
                   for item in _custom_items(custom, namespace, "l2advertisements")]
        leftovers = tuple(str(ns.metadata.name) for ns in
                          core.list_namespace(label_selector=labels.RUN).items if ns.metadata)
        return ClusterView(target, True, "", str(version), nodes, proxy, metallb_version, image, why, tuple(pools),
                           tuple(ads), leftovers)
    finally:
        api.close()


def _custom_items(custom: Any, namespace: str, plural: str) -> list[dict[str, Any]]:
    """MetalLB's ``metallb.io/v1beta1`` objects of ``plural`` in ``namespace`` (none when the kind is not served)."""
    from kubernetes.client.exceptions import ApiException

    try:
        listed: dict[str, Any] = custom.list_namespaced_custom_object("metallb.io", "v1beta1", namespace, plural)
    except ApiException as exc:
        if exc.status != 404:
            raise
        return []
    return list(listed.get("items") or [])


def pool_for(pools: Sequence[Pool], vip: str | None = None) -> Pool | None:
    """The pool the allocation checks use: the one ``vip`` (svc1's address) came from, else the first that assigns
    automatically, else the first."""
    if vip:
        for pool in pools:
            for entry in pool.addresses:
                try:
                    first, last = address_range(entry)
                except ValueError:
                    continue
                if int(ipaddress.IPv4Address(first)) <= int(ipaddress.IPv4Address(vip)) <= int(
                        ipaddress.IPv4Address(last)):
                    return pool
    auto = [p for p in pools if p.auto_assign]
    candidates = auto or list(pools)
    return candidates[0] if candidates else None


def advertised_nodes(ads: Sequence[Mapping[str, Any]], pool: str | None,
                     node_labels: Mapping[str, Mapping[str, str]]) -> set[str] | None:
    """The nodes MetalLB's L2Advertisements select for ``pool`` (``ipAddressPools`` empty: every pool;
    ``nodeSelectors`` empty: every node; label selectors with matchLabels and matchExpressions), None: every node."""
    mine = [a for a in ads if not a.get("ipAddressPools") or pool in (a.get("ipAddressPools") or [])]
    if not mine or any(not a.get("nodeSelectors") for a in mine):
        return None
    selected: set[str] = set()
    for ad in mine:
        for selector in ad.get("nodeSelectors") or []:
            selected |= {n for n, lab in node_labels.items() if selects(selector, lab)}
    return selected


def selects(selector: Mapping[str, Any], node_labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) against labels."""
    if any(node_labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        ok = {"In": key in node_labels and node_labels[key] in values,
              "NotIn": node_labels.get(key) not in values,
              "Exists": key in node_labels, "DoesNotExist": key not in node_labels}.get(str(op), False)
        if not ok:
            return False
    return True


# -- the Docker engine that hosts the nodes --------------------------------------------------------------------------
def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def engine_is_local() -> bool:
    """The engine runs on this host (its socket): host-side faults (a node's veth, a bridge table) can be done here.
    Through ``ssh://`` or ``tcp://`` the engine's host is another machine as far as the run can tell."""
    host = os.environ.get("DOCKER_HOST", "")
    return not host or host.startswith("unix://")


@dataclass(frozen=True)
class NodeContainers:
    """Which containers of the engine are the cluster's nodes (kind's naming, or a node's InternalIP)."""

    engine: str
    local: bool
    containers: dict[str, str] = field(default_factory=dict)  #: node → container name
    macs: dict[str, str] = field(default_factory=dict)        #: node → its MAC on ``network``
    network: str | None = None  #: the engine network the nodes' InternalIPs are on
    subnet: str | None = None   #: its IPv4 subnet
    missing: tuple[str, ...] = ()
    engine_why: str = ""  #: why the engine could not be asked (empty when it was)

    @property
    def all(self) -> bool:
        return bool(self.containers) and not self.missing

    def why_not(self) -> str:
        """Why node faults cannot run here (empty when they can)."""
        if self.engine_why:
            return f"the Docker engine at {self.engine} cannot be asked ({self.engine_why})"
        if not self.containers:
            return f"the nodes are not containers of the Docker engine at {self.engine} (bare metal or VMs)"
        if self.missing:
            return (f"nodes {', '.join(self.missing)} are not containers of the Docker engine at {self.engine}: node "
                    "faults need every node to be one")
        return ""


def find_node_containers(client: Any, nodes: Sequence[NodeFact]) -> NodeContainers:
    """The engine's containers that carry the nodes' names (kind's naming) or a node's InternalIP on one of the
    engine's networks (read only). The run's own containers never count."""
    engine, local = engine_address(), engine_is_local()
    if client is None:
        return NodeContainers(engine, local, engine_why="no Docker engine answers")
    found: dict[str, str] = {}
    where: dict[str, tuple[str, str]] = {}  #: node → (network, mac)
    by_ip = {n.internal_ip: n.name for n in nodes if n.internal_ip}
    names = {n.name for n in nodes}
    try:
        containers = client.containers.list(ignore_removed=True)
    except Exception as exc:
        return NodeContainers(engine, local, engine_why=" ".join(str(exc).split())[:200])
    for container in containers:
        if labels.RUN in (container.labels or {}):
            continue
        networks = (container.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        node = str(container.name) if container.name in names else None
        for net, settings in networks.items():
            ip = (settings or {}).get("IPAddress")
            if ip and ip in by_ip and (node is None or by_ip[ip] == node):
                node = by_ip[ip]
                where[node] = (str(net), str(settings.get("MacAddress") or "").lower())
        if node is not None and node not in found:
            found[node] = str(container.name)
            if node not in where and networks:  # named like the node, its InternalIP on none of the networks
                net, settings = next(iter(networks.items()))
                where[node] = (str(net), str((settings or {}).get("MacAddress") or "").lower())
    nets = [where[n][0] for n in found if n in where]
    network = max(set(nets), key=nets.count) if nets else None
    subnet = None
    if network is not None:
        try:
            configs = (client.networks.get(network).attrs.get("IPAM") or {}).get("Config") or []
            subnet = next((c["Subnet"] for c in configs if ":" not in str(c.get("Subnet", ":"))), None)
        except Exception:  # the subnet is only described
            subnet = None
    macs = {n: where[n][1] for n in found if n in where and where[n][0] == network and where[n][1]}
    return NodeContainers(engine, local, found, macs, network, subnet,
                          tuple(n.name for n in nodes if n.name not in found))


# -- what a run may do, and what it reports as not tested -----------------------------------------------------------
@dataclass(frozen=True)
class Reach:
    """What a run on an existing cluster may and can do. ``nodes`` None: not known yet (before the set-up)."""

    allow_faults: bool
    nodes: NodeContainers | None = None
    client_network: str | None = None  #: where the clients are (or would be); None: no client on the segment
    no_client_why: str = NO_CLIENT_NETWORK


def not_tested(reach: Reach, *, needs_client: bool, fault_kinds: Iterable[str] = (),
               disturbs: str | None = None) -> str | None:
    """Why a check may not or cannot run on an existing cluster, None when it runs. Checked in this order: the
    opt-in (known at collection), then what the set-up found (clients on the segment, nodes as containers, the
    engine on this host)."""
    kinds = [k for k in fault_kinds]
    if kinds and not reach.allow_faults:
        return FAULTS_OPT_IN
    if disturbs and not reach.allow_faults:
        return f"{disturbs}; a run does that to your cluster only with --allow-faults"
    if reach.nodes is None:
        return None
    if needs_client and reach.client_network is None:
        return f"needs a client on the nodes' L2 segment: {reach.no_client_why}"
    node_faults = [k for k in kinds if k in NODE_FAULTS]
    if node_faults and not reach.nodes.all:
        return f"{', '.join(node_faults)} needs the nodes as containers: {reach.nodes.why_not()}"
    host_faults = [k for k in kinds if k in HOST_FAULTS]
    if host_faults and not reach.nodes.local:
        return (f"{', '.join(host_faults)} is done on the engine's host (a node's veth set down, a bridge table); the "
                f"engine at {reach.nodes.engine} is not on this host")
    return None


# -- the run's namespace ---------------------------------------------------------------------------------------------
def namespace_name(run_id: str) -> str:
    """``lbconform-<run id>`` (a DNS label: lower case)."""
    return f"{NAMESPACE_PREFIX}{run_id}".lower()


def namespace_object(run_id: str) -> dict[str, Any]:
    """The run's namespace: labelled with the run id (``io.lbconform.run``) and annotated with its owner's token, so
    that a later run removes it once this one is provably over (also after kill -9)."""
    owner = labels.run_labels(run_id, "namespace")
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace_name(run_id), "labels": {labels.RUN: run_id, labels.ROLE: "namespace"},
                         "annotations": {k: v for k, v in owner.items() if k not in (labels.RUN, labels.ROLE)}}}


def delete_namespace(core: Any, name: str, budget: float = 180.0) -> None:
    """Delete the namespace ``name`` and wait until it is gone (its pods end: the backends have no grace to wait)."""
    from kubernetes.client.exceptions import ApiException

    from ..providers.metallb_kind import transient_api_error
    from ..waiting import wait_for

    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status == 404:
            return
        raise InfrastructureError(f"deleting namespace {name}: the API refused ({exc.status} {exc.reason})") from exc

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as exc:
            if exc.status == 404:
                return True
            raise
        return False

    wait_for(gone, bool, budget=budget, interval=1.0, what=f"namespace {name} deleted", transient=transient_api_error)


def removal_hint(name: str, context: str) -> str:
    return f"kubectl --context {context} delete namespace {name}"


def reap_namespaces(core: Any, context: str) -> tuple[list[str], list[str]]:
    """Delete the namespaces of runs that are provably over (``ownership.judge`` on their annotations); name the
    ones that cannot be judged with the command that removes them. (removed, left)"""
    removed: list[str] = []
    left: list[str] = []
    mine, machine = ownership.me(), ownership.machine_id()
    for ns in core.list_namespace(label_selector=labels.RUN).items:
        meta = ns.metadata
        if meta is None or not str(meta.name).startswith(NAMESPACE_PREFIX):
            continue
        marks = {**(meta.annotations or {}), **(meta.labels or {})}
        verdict = ownership.judge(marks, mine, machine)
        if verdict.state == "dead" and not meta.deletion_timestamp:
            core.delete_namespace(meta.name)
            removed.append(f"namespace {meta.name}")
        elif verdict.state == "unknown":
            left.append(f"namespace {meta.name} left alone: {verdict.reason}; if its run is over, remove it with: "
                        f"{removal_hint(meta.name, context)}")
    return removed, left
