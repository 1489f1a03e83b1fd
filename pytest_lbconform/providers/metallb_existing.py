"""MetalLB as the user installed it, on their own cluster (``--platform=existing``).

The kind provider's reading of MetalLB (owner report from ServiceL2Status, MetalLB's election, the agent and node
faults) is reused as it is; only what a run creates differs: nothing of MetalLB is installed or changed (no manifest,
no pool, no advertisement), and the backends and svc1..3 go into the run's own namespace ``lbconform-<run id>``
(labelled, deleted at the end). The version is the speaker DaemonSet's image tag; the address pool the allocation
checks judge is the one svc1's address came from.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import docker

from .. import labels
from ..errors import InfrastructureError
from ..platforms import existing
from ..platforms.base import Host, Topology
from . import metallb
from .allocation import Allocator
from .metallb_kind import KindMetalLB
from .spec import ProviderSpec

BACKENDS = 3  #: webpod1..3, on the first three workers (fewer when the cluster has fewer)


class ExistingMetalLB(KindMetalLB):
    """MetalLB L2 on a cluster of the user's; the run's objects in ``lbconform-<run id>``."""

    def __init__(self, spec: ProviderSpec, docker_client: docker.DockerClient | None, view: existing.ClusterView,
                 topology: Topology, run_id: str, progress: Callable[[str], None] = print,
                 container_names: dict[str, str] | None = None) -> None:
        target = view.target
        super().__init__(spec, docker_client, target.kubeconfig, topology, ("", ""), progress,  # type: ignore[arg-type]
                         context=target.context)
        self.view, self.run_id = view, run_id
        self.app_namespace = existing.namespace_name(run_id)
        self.container_names = dict(container_names or {})
        self.pool_name: str | None = None

    def _short(self, node_name: str) -> str:
        """Nodes are known by their own names here (on kind the cluster's prefix is cut; a context named like the
        prefix must not cut it here)."""
        return node_name

    @property
    def backend_nodes(self) -> tuple[Host, ...]:
        return self.topology.workers[:BACKENDS]

    def install(self) -> None:
        """Nothing: the user installed MetalLB their way; the run never changes it."""

    def deploy(self) -> None:
        if not self.backend_nodes:
            raise InfrastructureError("no node can take the backends: every node is a control-plane node or labelled "
                                      f"{existing.EXCLUDE_LB_LABEL}")
        pool = existing.pool_for(self.view.pools)
        node_labels = {str(n["metadata"]["name"]): dict(n["metadata"].get("labels") or {})
                       for n in map(self._dict, self.core.list_node().items)}
        self.ad_nodes = existing.advertised_nodes(self.view.l2_advertisements, pool.name if pool else None, node_labels)
        run = {labels.RUN: self.run_id}
        namespace = self.app_namespace
        self.progress(f"lbconform: creating namespace {namespace} with webpod1..{len(self.backend_nodes)} on "
                      f"{', '.join(n.name for n in self.backend_nodes)} and svc1..3 (MetalLB {self.version()} as "
                      "installed: nothing of it is changed)")
        self.deploy_workload([existing.namespace_object(self.run_id),
                              *metallb.backend_pods([n.name for n in self.backend_nodes],
                                                    metallb.backend_image(self.spec), namespace, run),
                              *metallb.services(namespace=namespace, extra_labels=run)])
        chosen = existing.pool_for(self.view.pools, self.services[0].vip if self.services else None)
        bounds = chosen.bounds() if chosen else None
        vip = self.services[0].vip if self.services else ""
        self.pool = bounds or (vip, vip)
        self.pool_name = chosen.name if chosen else None
        self.allocator = Allocator(self.core, self.spec, self._dict, namespace=namespace, pool=self.pool_name)

    def used_addresses(self) -> set[str]:
        """Every address a LoadBalancer service of the cluster holds (any namespace: the user's too)."""
        used = set()
        for svc in map(self._dict, self.core.list_service_for_all_namespaces().items):
            for ingress in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                if ingress.get("ip"):
                    used.add(str(ingress["ip"]))
        return used

    def free_address(self) -> str:
        """The highest address of the judged pool that no service of the cluster holds (a requested address must be
        free: the user's services may hold the top of the pool)."""
        first, last = (int(ipaddress.IPv4Address(a)) for a in self.pool)
        used = self.used_addresses()
        for value in range(last, first - 1, -1):
            address = str(ipaddress.IPv4Address(value))
            if address not in used:
                return address
        raise InfrastructureError(f"address pool {self.pool_name} ({self.pool[0]}-{self.pool[1]}) has no free address")

    def version(self) -> str:
        """The speaker DaemonSet's image tag, as the cluster runs it."""
        return self.view.metallb_version or "unknown"

    def evidence(self, failed: bool = False) -> dict[str, Any]:
        return {"cluster": f"context {self.view.target.context} ({self.view.target.server}); MetalLB "
                           f"{self.version()} (speaker image {self.view.speaker_image}); pools "
                           + "; ".join(f"{p.name}: {', '.join(p.addresses)}" for p in self.view.pools)}
