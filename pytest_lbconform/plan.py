"""``--plan``: print what a run would create and apply, without creating anything.

Used by users to review a run, and by the project's tests to snapshot the kind path (which cannot
run on the project's own machine).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

import docker
import yaml

from . import checks
from .config import RunConfig
from .platforms import kind
from .providers import metallb

WORKDIR = Path("<workdir>")


def render(cfg: RunConfig, client: docker.DockerClient | None, run_id: str = "<run>",
           tests: Sequence[str] = ()) -> str:
    """The plan of ``cfg`` as text: commands prefixed ``$``, objects as YAML documents. The renderer is
    picked from :data:`PLANS` by (implementation, platform), as the environment is from ENVIRONMENTS.
    ``tests``: the paths the run would collect, said after the first line."""
    renderer = PLANS.get((cfg.spec.implementation, cfg.platform))
    if renderer is None:
        return f"# no plan renderer for --lb={cfg.lb} --platform={cfg.platform}\n"
    first, _, rest = renderer(cfg, client, run_id).partition("\n")
    return "\n".join([first, *([tests_line(tests)] if tests else [])]) + "\n" + rest


def tests_line(tests: Sequence[str]) -> str:
    """Which tests the run would collect, the shipped suites named as such."""
    from .paths import SUITES

    named = [f"{t} (the shipped suites)" if Path(t.split("::")[0]).resolve() == SUITES else t for t in tests]
    return f"# checks collected from: {', '.join(named)}"


def _yaml(objects: list[dict[str, object]]) -> str:
    return "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objects)


def _kind_metallb(cfg: RunConfig, client: docker.DockerClient | None, run_id: str) -> str:
    subnet, read = kind.kind_subnet(client)
    size = int(cfg.spec.settings.get("pool_size", 51))
    dual = kind.dual_stack(cfg.address_families)
    subnet6, read6 = kind.kind_subnet6(client) if dual else (None, False)
    out = [f"# plan: {cfg.label}",
           f"# kind network subnet: {subnet} ({'read from docker' if read else 'assumed: no kind network yet'})",
           *(_dual_stack_lines(subnet6, read6) if dual else []),
           f"# MetalLB {metallb.version(cfg.spec)}: official manifest installed at run time from "
           f"{metallb.manifest_url(cfg.spec)}"]
    backend = metallb.backend_image(cfg.spec)
    archive = WORKDIR / kind.archive_name(backend)
    for index, mode in enumerate(cfg.modes):
        name, kubeconfig, config_path, (first, last), image = _lane(cfg, run_id, index, mode, subnet, size)
        pool6 = kind.vip_pool6(subnet6, size, kind.pool_index(0, index, len(cfg.modes))) if subnet6 else None
        out += [f"\n# ===== mode {mode}: cluster {name} =====", *_node_image_lines(cfg, mode, image),
                *([f"# note: {kind.NOSTRICTARP_V6}"] if dual and mode == "ipvs-nostrictarp" else []),
                "$ " + shlex.join(kind.create_command("kind", name, config_path, kubeconfig, image=image))
                + ("" if cfg.kind_image else "   # the node image built for kind " + kind.KIND_VERSION),
                f"# {config_path}:", yaml.safe_dump(kind.cluster_config(name, mode, dual=dual), sort_keys=False).rstrip(),
                f"$ docker pull {backend}   # with --preload-images, when it is not local; then:",
                f"$ docker save --platform <its local platform> -o {archive} {backend}   # through the engine API",
                "$ " + shlex.join(kind.load_archive_command("kind", name, archive)),
                f"# MetalLB L2 objects (pool {first}-{last}" + (f", {pool6[0]}-{pool6[1]}" if pool6 else "") + "):",
                _yaml(metallb.l2_objects(first, last, cfg.spec, range6=pool6)).rstrip(),
                "# backends and services" + (" (dual-stack: an IPv4 and an IPv6 VIP each)" if dual else "") + ":",
                _yaml([*metallb.backend_pods([f"{name}-worker", f"{name}-worker2", f"{name}-worker3"],
                                             metallb.backend_image(cfg.spec)),
                       *metallb.services(dual=dual)]).rstrip(),
                "$ " + shlex.join(kind.export_logs_command("kind", name, Path("reports/kind-logs") / name))
                + "   # on failure",
                "$ " + shlex.join(kind.delete_command("kind", name, kubeconfig)) + "   # at the end, unless --keep"]
    out.append("\n# clients on the kind network (lab image, python3 + scapy); the pools above are those of slot 0:")
    out.append("# a run takes the lowest slot no other run's clients hold (host-wide lock), its pools by slot")
    for short in kind.CLIENTS:
        out.append(f"#   {short}: docker network kind, address assigned by Docker, caps NET_ADMIN NET_RAW "
                   f"NET_BROADCAST, labels io.lbconform.run={run_id} {kind.SLOT_LABEL}=<slot>")
    return "\n".join(out) + "\n"


def _dual_stack_lines(subnet6: ipaddress.IPv6Network | None, read: bool) -> list[str]:
    """What a dual-stack kind run takes from the ``kind`` network's IPv6 subnet, or why it would stop."""
    if subnet6 is None:
        return [f"# IPv6: {kind.KIND_NETWORK} network has no IPv6 subnet: the run would stop there "
                f"(`docker network rm {kind.KIND_NETWORK}` with no kind cluster left lets kind create it again)"]
    return [f"# kind network IPv6 subnet: {subnet6} (" + ("read from docker" if read else
                                                         "assumed: the ULA /64 kind derives from the name "
                                                         f"{kind.KIND_NETWORK!r}, network.go; no kind network yet") + ")",
            "# dual-stack lanes (--address-families includes 6): kind ipFamily dual, each node and client with an IPv6 "
            "address on that subnet, one IPAddressPool with an IPv4 and an IPv6 range, services RequireDualStack "
            "(IPv4, IPv6)"]


def _lane(cfg: RunConfig, run_id: str, index: int, mode: str, subnet: ipaddress.IPv4Network, size: int
          ) -> tuple[str, Path, Path, tuple[str, str], str]:
    """A kind lane as a plan names it: cluster name, kubeconfig and config paths, its VIP pool (slot 0), node image."""
    name = kind.cluster_name(run_id, mode)
    pool = kind.vip_pool(subnet, size, kind.pool_index(0, index, len(cfg.modes)))
    return (name, WORKDIR / f"kubeconfig-{name}", WORKDIR / f"kind-{name}.yaml", pool,
            cfg.kind_image or kind.node_image(mode))


def _node_image_lines(cfg: RunConfig, mode: str, image: str) -> list[str]:
    """A kind lane's node image, why it is that one (unless --kind-image chose it) and the mode's deprecation."""
    runs = f"runs kube-proxy {mode}" if mode in kind.KIND_MODES else "runs without kube-proxy"
    deprecated = checks.MODES[mode].deprecated
    return [f"# node image {image}" + ("" if cfg.kind_image else f" (Kubernetes {kind.image_minor(image)}: the newest "
                                       f"node image kind {kind.KIND_VERSION} publishes that {runs})"),
            *([f"# note: {deprecated}"] if deprecated else [])]


def _kind_kube_l2(cfg: RunConfig, client: docker.DockerClient | None, run_id: str) -> str:
    """A spec-described Kubernetes L2 LB on kind: per mode the cluster, the node sysctls, the install (release
    manifests, chart, generated manifest; all applied server-side), the pool objects, the workload, how the owner is
    read and how agent faults keep the agent away; then what the LB does not support by design."""
    from .providers import kube_l2

    kube = kube_l2.section(cfg.spec)
    subnet, read = kind.kind_subnet(client)
    size = int(cfg.spec.settings.get("pool_size", 51))
    install = kube.install
    out = [f"# plan: {cfg.label}",
           f"# kind network subnet: {subnet} ({'read from docker' if read else 'assumed: no kind network yet'})",
           f"# {cfg.spec.project} {install.version}: installed at run time from its official release (nothing of it "
           "is copied into this project); every object applied server-side (field manager lbconform)"]
    for index, mode in enumerate(cfg.modes):
        name, kubeconfig, config_path, (first, last), image = _lane(cfg, run_id, index, mode, subnet, size)
        nodes = [f"{name}-control-plane", f"{name}-worker", f"{name}-worker2", f"{name}-worker3"]
        cni_off = kube.cluster.disable_default_cni
        out += [f"\n# ===== mode {mode}: cluster {name} =====", *_node_image_lines(cfg, mode, image),
                "$ " + shlex.join(kind.create_command("kind", name, config_path, kubeconfig, image=image,
                                                     wait=not cni_off))
                + ("   # no --wait: the nodes are Ready once the LB's CNI runs" if cni_off else ""),
                f"# {config_path}:",
                yaml.safe_dump(kind.cluster_config(name, mode, cni_off), sort_keys=False).rstrip(),
                *("$ " + shlex.join(argv) for node in nodes for argv in kube_l2.sysctl_commands(cfg.spec, node))]
        if install.namespace:
            out.append(f"# namespace {install.namespace} (server-side apply)")
        out += [f"# server-side apply of every object of {url}" for url in kube_l2.manifest_urls(cfg.spec)]
        if install.helm is not None:
            out += ["$ " + shlex.join(kube_l2.helm_command(cfg.spec, str(WORKDIR / "values.yaml")))
                    + "   # helm on PATH; the objects it prints are applied server-side",
                    f"# {WORKDIR / 'values.yaml'}:",
                    yaml.safe_dump(kube_l2.values(cfg.spec, name), sort_keys=False).rstrip()]
        out += ["$ " + shlex.join(kube_l2.generate_command(g, cfg.spec)) + "   # its output applied server-side"
                for g in install.generate]
        out += ["$ " + shlex.join(kube_l2.override_command(o, p)) + "   # sent through the API after the install"
                for o, p in kube_l2.overrides(cfg.spec)]
        agent = kube.agent
        if agent.keep_away == "node_label":
            out.append(f"# {agent.kind} {agent.namespace}/{agent.name}: node affinity {kube_l2.NO_AGENT_LABEL} "
                       "DoesNotExist added to its pod template (agent faults label the victim)")
        out += [f"# wait: {agent.kind} {agent.namespace}/{agent.name} ({agent.selector}) ready",
                f"# pool objects (pool {first}-{last}):",
                _yaml(kube_l2.pool_objects(cfg.spec, first, last, str(subnet), name)).rstrip(),
                "# backends and services:",
                _yaml([*metallb.backend_pods(nodes[1:], metallb.backend_image(cfg.spec)),
                       *kube_l2.services(cfg.spec)]).rstrip(),
                "$ " + shlex.join(kind.export_logs_command("kind", name, Path("reports/kind-logs") / name))
                + "   # on failure",
                "$ " + shlex.join(kind.delete_command("kind", name, kubeconfig)) + "   # at the end, unless --keep"]
    out += ["\n# the owner report: " + _owner_line(cfg),
            f"# agent faults: {kube_l2.keep_away_steps(cfg.spec, '<owner>')[0]}; undone: "
            f"{kube_l2.keep_away_steps(cfg.spec, '<owner>')[1]}",
            *(f"# declared {key}: {why}" for key, why in cfg.spec.reasons.items()),
            *(f"# not supported by design: {n.capability}: {n.reason} ({n.source})" for n in cfg.spec.not_supported)]
    out.append("\n# clients on the kind network (lab image, python3 + scapy), as for every kind run:")
    out += [f"#   {short}: docker network kind, address assigned by Docker, caps NET_ADMIN NET_RAW NET_BROADCAST, "
            f"labels io.lbconform.run={run_id} {kind.SLOT_LABEL}=<slot>" for short in kind.CLIENTS]
    return "\n".join(out) + "\n"


def _owner_line(cfg: RunConfig) -> str:
    """How the spec's owner report is read, in one line."""
    from .providers import kube_l2

    owner = kube_l2.section(cfg.spec).owner_report
    if owner.lease is not None:
        return (f"Lease {owner.lease.namespace}/{owner.lease.name}, holderIdentity {owner.lease.holder}"
                + (f" (or the Lease the Service's {owner.lease.name_annotation} names)"
                   if owner.lease.name_annotation else ""))
    if owner.status_objects is not None:
        so = owner.status_objects
        return (f"{so.plural}.{so.group}/{so.version} in {so.namespace} ({so.label_selector or 'all'}): service from "
                f"{', '.join(so.service)}, node from {', '.join(so.node)}")
    if owner.service_annotation is not None:
        sa = owner.service_annotation
        return f"Service annotation {sa.key} = {sa.format!r} entries separated by {sa.separator!r} ({sa.entries})"
    assert owner.http is not None
    hp = owner.http
    return (f"GET {hp.scheme}://<agent pod>:{hp.port}{hp.path} (API server pod proxy): {hp.items or '.'}"
            f"[{', '.join(f'{k}={v}' for k, v in hp.match.items())}].{hp.state} in {', '.join(hp.active)}")


def _lab(cfg: RunConfig, client: docker.DockerClient | None = None, run_id: str = "<run>") -> str:
    """The lab and the reference LB as the run would create them: the network and the containers, then per worker
    what the provider loads (keepalived.conf, the nftables rules per mode, a mutant's extra commands) and a
    mutant's host bridge table, all rendered by the provider's own methods with the mutant's hooks."""
    import ipaddress

    from .images import image_tag
    from .platforms import lab
    from .platforms.base import Host, Topology, vip_pool_from_top
    from .providers.keepalived import KEEPALIVED_CONF, NFT_PATH, KeepalivedLab

    subnet = ipaddress.IPv4Network("172.28.0.0/24")
    cluster = f"lbc-{run_id}"
    layout = lab.host_layout(cluster, subnet)
    hosts = tuple(Host(name, role, ip, f"<{short} MAC>", short) for name, short, role, ip in layout)
    topo = Topology(cluster, cluster, subnet, str(subnet.network_address + 1),
                    tuple(h for h in hosts if h.role != "client"), tuple(h for h in hosts if h.role == "client"),
                    vip_pool_from_top(subnet, lab.VIP_POOL_SIZE))
    provider = KeepalivedLab.planned(cfg.spec, topo, cfg.mutant)
    dynamic = next(subnet.subnets(new_prefix=lab.DYNAMIC_RANGE_PREFIX))
    out = [f"# plan: {cfg.label}", *_mutant_lines(cfg.mutant),
           f"# lab image {image_tag()} (built when missing, --lab-image-source={cfg.lab_image_source})",
           f"# network {topo.network}: bridge, the first free /24 of {lab.SUBNET_SPACE} (shown for {subnet}), "
           f"Docker assigns from {dynamic}, gateway {topo.gateway}, label io.lbconform.run={run_id}",
           f"# containers (caps {' '.join(lab.CAPS)}, tmpfs /run, init; nodes with "
           f"{', '.join(f'{k}={v}' for k, v in lab.NODE_SYSCTLS.items())}; label io.lbconform.run={run_id}):",
           *(f"#   {h.name} ({h.role}) {h.ip}" for h in hosts),
           f"# services {', '.join(f'{s.name}={s.vip} ({s.traffic_policy}, {s.affinity})' for s in provider.services)}, "
           f"backends {', '.join(f'{b.name} on {b.node}:{b.port}' for b in provider.backends)}"]
    for worker in topo.workers:
        out += [f"\n# ===== {worker.short} ({worker.ip}) =====",
                *(f"$ docker exec {worker.name} {shlex.join(argv)}" for argv in provider.lo_commands()),
                f"# {KEEPALIVED_CONF}:", provider.keepalived_conf(worker).rstrip()]
        for mode in cfg.modes:
            out += [f"# {NFT_PATH}, mode {mode}:", provider.ruleset(worker, mode).rstrip()]
    bridge = provider.bridge_ruleset()
    if bridge is not None:
        out += [f"\n# ===== the host's bridge (mutant {cfg.mutant}), removed at the end =====",
                "$ nft -f -   # on the host, as root", bridge.rstrip()]
    return "\n".join(out) + "\n"


def _mutant_lines(name: str | None) -> list[str]:
    """What a mutant breaks and which provider hooks it changes (none for the healthy LB)."""
    if name is None:
        return []
    from .providers.mutants import MUTANTS, Hooks

    mutant = MUTANTS[name]
    changed = [f"{f.name}={getattr(mutant.hooks, f.name)!r}" for f in dataclasses.fields(Hooks)
               if getattr(mutant.hooks, f.name) != f.default]
    return [f"# mutant {name}: breaks \"{mutant.promise}\": {mutant.how}",
            f"# hooks changed: {', '.join(changed)}"]


def _existing_metallb(cfg: RunConfig, client: docker.DockerClient | None, run_id: str) -> str:
    """A cluster of the user's: what the run reads (read only), what it would create (its namespace with the backends
    and services, the clients on which network of which engine), and what it would not test and why."""
    from .platforms import existing

    assert cfg.target is not None
    target = cfg.target
    namespace = existing.namespace_name(run_id)
    from .providers import kube_l2

    settings_ns = kube_l2.existing_namespace(cfg.spec)
    agent = kube_l2.existing_agent(cfg.spec)
    out = [f"# plan: {cfg.label}",
           f"# cluster: context {target.context}, API {target.server}; kubeconfig {target.kubeconfig} "
           f"({target.source}), read only: never written",
           f"# {agent.project} is used as you installed it: nothing of it is installed or changed (no manifest, pool "
           "or advertisement)"]
    view = None
    if cfg.cluster_why:
        out.append(f"# API not reachable: {cfg.cluster_why}")
    else:
        try:
            view = existing.read_cluster(target, settings_ns, agent=agent)
        except Exception as exc:  # e.g. 403 on kube-proxy's ConfigMap: said in one line, the rest is shown
            view = existing.ClusterView(target, False, f"reading the cluster failed: {' '.join(str(exc).split())[:200]}")
        if not view.reachable:
            out.append(f"# API not reachable: {view.why}")
            view = None
    nodes: existing.NodeContainers | None = None
    workers = ["<worker>", "<worker2>", "<worker3>"]
    if view is not None:
        out += [f"# Kubernetes {view.kubernetes}; nodes (name, role, InternalIP, Ready):",
                *(f"#   {n.name} {'control-plane' if n.control_plane else 'worker' if n.worker else 'excluded from LBs'} "
                  f"{n.internal_ip or '-'} {'Ready' if n.ready else 'NotReady'}" for n in view.nodes),
                f"# kube-proxy: {cfg.proxy.note if cfg.proxy else 'not read'} → mode {','.join(cfg.modes) or 'unknown'}",
                f"# {agent.project} in {settings_ns}: " + (view.metallb_why or f"{view.metallb_version} (" + (
                    "speaker" if agent.metallb else f"{agent.kind} {agent.name}") + f" image {view.speaker_image})"),
                *(_metallb_pool_lines(view) if agent.metallb else
                  [f"# the owner report: {_owner_line(cfg)}", "# pools are not read: the allocation checks judge "
                   "svc1's address"]),
                *([f"# namespaces left by earlier runs (removed by the next run once their run is over): "
                   f"{', '.join(view.leftovers)}"] if view.leftovers else [])]
        workers = [n.name for n in view.workers[:3]] or ["<no worker: every node is a control plane or excluded>"]
        nodes = existing.find_node_containers(client, view.nodes)
    else:
        out.append(f"# kube-proxy mode: {','.join(cfg.modes) or 'unknown'} (not read from the cluster)")
    engine = existing.engine_address()
    network = cfg.client_network or (nodes.network if nodes is not None and nodes.all else None)
    if client is None:
        out.append(f"# Docker engine at {engine}: no answer (clients need one on the nodes' segment)")
        network = None
    elif nodes is not None:
        out.append(f"# Docker engine at {engine} ({'this host' if nodes.local else 'another host'}): " +
                   (f"the nodes are its containers {', '.join(sorted(nodes.containers.values()))} on network "
                    f"{nodes.network}" if nodes.all else nodes.why_not()))
    run = {"io.lbconform.run": run_id}
    out += [f"\n# would create, labelled io.lbconform.run={run_id} and removed at the end (also on Ctrl-C or "
            "SIGTERM; a run killed with -9 leaves it to the next run, or: "
            f"{existing.removal_hint(namespace, target.context)}):",
            _yaml([existing.namespace_object(run_id),
                   *metallb.backend_pods(workers, metallb.backend_image(cfg.spec), namespace, run),
                   *(kube_l2.services(cfg.spec, namespace, run) if not agent.metallb else
                     metallb.services(namespace=namespace, extra_labels=run))]).rstrip()]
    if network is not None:
        out += [f"# clients on Docker network {network} of the engine at {engine}:",
                *(f"#   lbc-{run_id}-{short}: address assigned by Docker, caps NET_ADMIN NET_RAW NET_BROADCAST, "
                  f"label io.lbconform.run={run_id}" for short in kind.CLIENTS)]
    else:
        out.append("# no clients: " + (existing.NO_CLIENT_NETWORK if client is not None else f"no engine at {engine}"))
    reach = existing.Reach(cfg.allow_faults, nodes if view is not None else None, network,
                           existing.NO_CLIENT_NETWORK if client is not None else f"no Docker engine answers at {engine}")
    out.append("\n# would not be tested, and why" + ("" if reach.nodes is not None else
                                                     " (the cluster was not read: what the set-up finds adds to this)")
               + ":")
    withheld = _existing_not_tested(cfg, reach)
    out += [f"#   {what}: {why}" for what, why in withheld] or ["#   nothing: every check the provider declares runs"]
    return "\n".join(out) + "\n"


def _metallb_pool_lines(view: object) -> list[str]:
    """MetalLB's pools and L2Advertisements as the existing cluster has them."""
    from .platforms import existing

    assert isinstance(view, existing.ClusterView)
    return ["# pools: " + ("; ".join(f"{p.name} {', '.join(p.addresses)}{'' if p.auto_assign else ' (no autoAssign)'}"
                                     for p in view.pools) or "none"),
            "# L2Advertisements: " + (", ".join(str(a["name"]) for a in view.l2_advertisements)
                                      or "none (MetalLB assigns addresses but announces none in layer 2)")]


def _existing_not_tested(cfg: RunConfig, reach: object) -> list[tuple[str, str]]:
    """(checks, why) a run on an existing cluster would not test, by the same rule the run applies."""
    from .platforms import existing

    assert isinstance(reach, existing.Reach)
    declared = [c.split(":", 1)[1] for c in sorted(cfg.spec.capabilities) if c.startswith("failover:")]
    candidates: list[tuple[str, bool, list[str], str | None]] = [
        ("arp-ownership, owner-spread, snat-cluster, snat-local, balancing-* and affinity-sticky (the checks on the "
         "wire)", True, [], None),
        ("garp-on-announcement (moves the announcement with agent-kill)", True, ["agent-kill"], None),
        *((f"failover-budget, failover-degradation, failback, garp-on-takeover with {kind_}", True, [kind_], None)
          for kind_ in declared),
        ("vip-pending when the pool is exhausted", False, [],
         "it fills the address pool: a service of yours created meanwhile would stay pending"),
    ]
    out = []
    for what, wire, kinds, disturbs in candidates:
        why = existing.not_tested(reach, needs_client=wire, fault_kinds=kinds, disturbs=disturbs)
        if why:
            out.append((what, why))
    return out


#: (implementation, platform) → the plan renderer; the same keys as ``environment.ENVIRONMENTS``
PLANS: dict[tuple[str, str], Callable[[RunConfig, docker.DockerClient | None, str], str]] = {
    ("metallb", "kind"): _kind_metallb, ("keepalived", "lab"): _lab, ("metallb", "existing"): _existing_metallb,
    ("kube-l2", "kind"): _kind_kube_l2, ("kube-l2", "existing"): _existing_metallb}
