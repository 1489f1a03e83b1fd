"""A spec-described Kubernetes L2 LB as the user installed it, on their own cluster (``--platform=existing``).

What differs from kind is what ``ExistingMetalLB`` does for MetalLB: nothing of the LB is installed or changed, the
backends and svc1..3 go into the run's namespace ``lbconform-<run id>``; the owner report and the agent faults are
the spec's (``KindKubeL2``). The pool the allocation checks judge is svc1's address alone (a generic LB's pools are
not read): the checks that need the pool's bounds judge that one address.
"""

from __future__ import annotations

from typing import Any

from .. import labels
from ..errors import InfrastructureError
from ..platforms import existing
from ..platforms.base import Host
from . import kube_l2, metallb
from .allocation import Allocator
from .kube_l2_kind import KindKubeL2
from .metallb_existing import ExistingMetalLB


class ExistingKubeL2(ExistingMetalLB, KindKubeL2):
    """ExistingMetalLB's cluster handling (nothing installed, the run's namespace) with KindKubeL2's owner report and
    keep-away."""

    def deploy(self) -> None:
        if not self.backend_nodes:
            raise InfrastructureError("no node can take the backends: every node is a control-plane node or labelled "
                                      f"{existing.EXCLUDE_LB_LABEL}")
        run = {labels.RUN: self.run_id}
        namespace = self.app_namespace
        self.progress(f"lbconform: creating namespace {namespace} with webpod1..{len(self.backend_nodes)} and svc1..3 "
                      f"({self.spec.project} {self.version()} as installed: nothing of it is changed)")
        self.deploy_workload([existing.namespace_object(self.run_id),
                              *metallb.backend_pods([n.name for n in self.backend_nodes],
                                                    metallb.backend_image(self.spec), namespace, run),
                              *kube_l2.services(self.spec, namespace, run)])
        vip = self.services[0].vip if self.services else ""
        self.pool, self.pool_name = (vip, vip), None
        self.allocator = Allocator(self.core, self.spec, self._dict, namespace=namespace,
                                   make_body=kube_l2.allocation_service)

    def _keep_agent_away(self, node: Host) -> None:
        """As on kind; a ``node_label`` keep-away needs the agent's node affinity, which the run never adds to a
        cluster of the user's: without it the fault is refused in one line."""
        if self.kube.agent.keep_away == "node_label" and not self._agent_avoids_label():
            raise InfrastructureError(f"{self.kube.agent.kind} {self.kube.agent.name} has no node affinity "
                                      f"{kube_l2.NO_AGENT_LABEL} DoesNotExist: the run cannot keep the agent off a node "
                                      "without changing your LB (add it: docs/provider-spec.md, agent.keep_away)")
        KindKubeL2._keep_agent_away(self, node)

    def _agent_avoids_label(self) -> bool:
        agent = self.kube.agent
        read = (self.apps.read_namespaced_daemon_set if agent.kind == "DaemonSet"
                else self.apps.read_namespaced_deployment)
        affinity = ((self._dict(read(agent.name, agent.namespace)).get("spec") or {}).get("template") or {}).get(
            "spec", {}).get("affinity")
        return kube_l2.avoiding_no_agent(affinity) == (affinity or None)

    def evidence(self, failed: bool = False) -> dict[str, Any]:
        return {"cluster": f"context {self.view.target.context} ({self.view.target.server}); {self.spec.project} "
                           f"{self.version()} ({self.kube.agent.kind} {self.kube.agent.name} image "
                           f"{self.view.speaker_image})"}
