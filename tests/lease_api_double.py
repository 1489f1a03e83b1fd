"""An API double backed by the Lease-election model (``tests/lease_model.py``): the CoreV1 / CoordinationV1 calls the
generic Kubernetes L2 provider (``providers/kube_l2_kind.KindKubeL2``) makes for its owner report and its agent
faults, answered from the model, and its writes (a node's taints or labels, a pod's deletion) applied to the model.

The counterpart of ``tests/metallb_api_double.py`` for kube-vip and Cilium: time in the model passes per call (``tick``
model seconds), so a wait is counted in calls, deterministic. A stand-in for tests, never a measurement.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from kubernetes.client.exceptions import ApiException

from tests.lease_model import NO_AGENT_LABEL, Cluster


class LeaseModelApi:
    """``calls`` records (method, name) of every call."""

    def __init__(self, cluster: Cluster, tick: float = 0.05, node_label_keep_away: bool = False) -> None:
        self.cluster, self.tick = cluster, tick
        self.calls: list[tuple[str, str]] = []
        if node_label_keep_away:  # what KindKubeL2.patch_agent_affinity does at install
            cluster.patch_affinity([{"key": NO_AGENT_LABEL, "operator": "DoesNotExist"}])

    def _call(self, method: str, name: str = "") -> None:
        self.cluster.advance(self.tick)
        self.calls.append((method, name))

    # -- reads -------------------------------------------------------------------------------------------------------
    def read_namespaced_service(self, name: str, namespace: str) -> dict[str, Any]:
        self._call("read_namespaced_service", name)
        found = [s for s in self.cluster.services_json()["items"]
                 if s["metadata"]["name"] == name and s["metadata"]["namespace"] == namespace]
        if not found:
            raise ApiException(status=404, reason="Not Found")
        return found[0]

    def read_namespaced_lease(self, name: str, namespace: str) -> dict[str, Any]:
        self._call("read_namespaced_lease", f"{namespace}/{name}")
        lease = self.cluster.lease_json(namespace, name)
        if lease is None:
            raise ApiException(status=404, reason="Not Found")
        return lease

    def read_node(self, name: str) -> dict[str, Any]:
        self._call("read_node", name)
        return self.cluster.node_json(name)

    def list_node(self) -> SimpleNamespace:
        self._call("list_node")
        return SimpleNamespace(items=self.cluster.nodes_json()["items"])

    def list_namespaced_pod(self, namespace: str, label_selector: str = "", field_selector: str = "") -> SimpleNamespace:
        self._call("list_namespaced_pod", field_selector)
        node = field_selector.removeprefix("spec.nodeName=") if field_selector.startswith("spec.nodeName=") else None
        wanted = dict(part.split("=", 1) for part in label_selector.split(",") if "=" in part)
        items = [p for p in self.cluster.pods_json(node)["items"] if p["metadata"]["namespace"] == namespace
                 and all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
        return SimpleNamespace(items=items)

    # -- writes ------------------------------------------------------------------------------------------------------
    def patch_node(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self._call("patch_node", name)
        if "taints" in (body.get("spec") or {}):
            self.cluster.patch_taints(name, body["spec"]["taints"])
        for key, value in ((body.get("metadata") or {}).get("labels") or {}).items():
            self.cluster.label(name, key, value)
        return self.cluster.node_json(name)

    def delete_namespaced_pod(self, name: str, namespace: str, grace_period_seconds: int | None = None,
                              **_: Any) -> None:
        self._call("delete_namespaced_pod", name)
        self.cluster.delete_pod(name, None if grace_period_seconds is None else float(grace_period_seconds))
