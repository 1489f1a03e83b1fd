"""``--plan``: print what a run would create and apply, without creating anything.

Used by users to review a run, and by the project's tests to snapshot the kind path (which cannot
run on the project's own machine).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import docker
import yaml

from .config import RunConfig
from .platforms import kind
from .providers import metallb

WORKDIR = Path("<workdir>")


def render(cfg: RunConfig, client: docker.DockerClient | None, run_id: str = "<run>") -> str:
    """The plan of ``cfg`` as text: commands prefixed ``$``, objects as YAML documents. The renderer is
    picked from :data:`PLANS` by (implementation, platform), as the environment is from ENVIRONMENTS."""
    renderer = PLANS.get((cfg.spec.implementation, cfg.platform))
    if renderer is None:
        return f"# no plan renderer for --lb={cfg.lb} --platform={cfg.platform}\n"
    return renderer(cfg, client, run_id)


def _yaml(objects: list[dict[str, object]]) -> str:
    return "".join("---\n" + yaml.safe_dump(o, sort_keys=False) for o in objects)


def _kind_metallb(cfg: RunConfig, client: docker.DockerClient | None, run_id: str) -> str:
    subnet, read = kind.kind_subnet(client)
    size = int(cfg.spec.settings.get("pool_size", 51))
    out = [f"# plan: {cfg.label}",
           f"# kind network subnet: {subnet} ({'read from docker' if read else 'assumed: no kind network yet'})",
           f"# MetalLB {metallb.version(cfg.spec)}: official manifest installed at run time from "
           f"{metallb.manifest_url(cfg.spec)}"]
    for index, mode in enumerate(cfg.modes):
        name = kind.cluster_name(run_id, mode)
        kubeconfig = WORKDIR / f"kubeconfig-{name}"
        config_path = WORKDIR / f"kind-{name}.yaml"
        first, last = kind.vip_pool(subnet, size, kind.pool_index(0, index, len(cfg.modes)))
        out += [f"\n# ===== mode {mode}: cluster {name} =====",
                "$ " + shlex.join(kind.create_command("kind", name, config_path, kubeconfig)),
                f"# {config_path}:", yaml.safe_dump(kind.cluster_config(name, mode), sort_keys=False).rstrip(),
                f"$ docker pull {metallb.backend_image(cfg.spec)}   # with --preload-images, then:",
                "$ " + shlex.join(kind.load_image_command("kind", name, metallb.backend_image(cfg.spec))),
                f"# MetalLB L2 objects (pool {first}-{last}):", _yaml(metallb.l2_objects(first, last)).rstrip(),
                "# backends and services:",
                _yaml([*metallb.backend_pods([f"{name}-worker", f"{name}-worker2", f"{name}-worker3"],
                                             metallb.backend_image(cfg.spec)),
                       *metallb.services()]).rstrip(),
                "$ " + shlex.join(kind.export_logs_command("kind", name, Path("reports/kind-logs") / name))
                + "   # on failure",
                "$ " + shlex.join(kind.delete_command("kind", name, kubeconfig)) + "   # at the end, unless --keep"]
    out.append("\n# clients on the kind network (lab image, python3 + scapy); the pools above are those of slot 0:")
    out.append("# a run takes the lowest slot no other run's clients hold (host-wide lock), its pools by slot")
    for short in kind.CLIENTS:
        out.append(f"#   {short}: docker network kind, address assigned by Docker, caps NET_ADMIN NET_RAW "
                   f"NET_BROADCAST, labels io.lbconform.run={run_id} {kind.SLOT_LABEL}=<slot>")
    return "\n".join(out) + "\n"


def _lab(cfg: RunConfig, client: docker.DockerClient | None = None, run_id: str = "<run>") -> str:
    import ipaddress

    from .platforms.base import Host, Topology, vip_pool_from_top
    from .providers.keepalived import lab_backends, lab_services, render_keepalived, render_ruleset

    subnet = ipaddress.IPv4Network("172.28.0.0/24")
    nodes = tuple(Host(f"lbc-<run>-{s}", r, str(subnet.network_address + 2 + i), "?", s)
                  for i, (r, s) in enumerate([("control-plane", "control-plane"), ("worker", "worker"),
                                              ("worker", "worker2"), ("worker", "worker3")]))
    topo = Topology("lbc-<run>", "lbc-<run>", subnet, str(subnet.network_address + 1), nodes, (),
                    vip_pool_from_top(subnet, 8))
    services, backends = lab_services(topo), lab_backends(topo, 8080)
    worker = topo.workers[0]
    out = [f"# plan: {cfg.label} (the first free /24 from 172.28.0.0/14; shown for {subnet})",
           f"# nodes {', '.join(n.short + '=' + n.ip for n in nodes)}; mypc .100, mypc2 .200",
           f"# services {', '.join(f'{s.name}={s.vip} ({s.traffic_policy}, {s.affinity})' for s in services)}",
           f"# keepalived.conf on {worker.short}:",
           render_keepalived(worker, 0, services, 3, float(cfg.spec.settings.get("advert_int", 0.1))).rstrip()]
    for mode in cfg.modes:
        out += [f"# nftables on {worker.short}, mode {mode}:", render_ruleset(worker, services, backends, mode).rstrip()]
    return "\n".join(out) + "\n"


#: (implementation, platform) → the plan renderer; the same keys as ``environment.ENVIRONMENTS``
PLANS: dict[tuple[str, str], Callable[[RunConfig, docker.DockerClient | None, str], str]] = {
    ("metallb", "kind"): _kind_metallb, ("keepalived", "lab"): _lab}
