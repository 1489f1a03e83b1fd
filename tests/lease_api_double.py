"""An API double backed by the Lease-election model (``tests/lease_model.py``): the CoreV1 / CoordinationV1 calls the
generic Kubernetes L2 provider (``providers/kube_l2_kind.KindKubeL2``) makes for its owner report and its agent
faults, answered from the model, and its writes (a node's taints or labels, a pod's deletion) applied to the model.

The counterpart of ``tests/metallb_api_double.py`` for kube-vip and Cilium: time in the model passes per call (``tick``
model seconds), so a wait is counted in calls, deterministic. It answers as the client objects the provider holds
(methods named as CoreV1Api's) or, called with a werkzeug request, over HTTP for the real kubernetes client (the paths
those methods use). A stand-in for tests, never a measurement.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

from kubernetes.client.exceptions import ApiException
from werkzeug import Request, Response

from tests.lease_model import NO_AGENT_LABEL, Cluster

SERVICE = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?P<name>[^/]+)$")
SERVICES = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services$")
LEASE = re.compile(r"^/apis/coordination.k8s.io/v1/namespaces/(?P<ns>[^/]+)/leases/(?P<name>[^/]+)$")
NODE = re.compile(r"^/api/v1/nodes/(?P<name>[^/]+)$")
PODS = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods$")
POD = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods/(?P<name>[^/]+)$")


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

    # -- over HTTP ---------------------------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        """The same calls as HTTP requests of the real kubernetes client; anything else is a 404 naming the request."""
        path, method = request.path, request.method
        try:
            body = self._http(path, method, request)
        except ApiException as exc:
            return _json({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": exc.status,
                          "reason": "NotFound", "message": f"{method} {path}: not found"}, exc.status or 500)
        if body is None:
            return _json({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404, "reason": "NotFound",
                          "message": f"{method} {path}: not in the double"}, 404)
        return _json(body)

    def _http(self, path: str, method: str, request: Request) -> dict[str, Any] | None:
        if method == "GET" and (m := SERVICE.match(path)):
            return self.read_namespaced_service(m["name"], m["ns"])
        if method == "GET" and (m := SERVICES.match(path)):
            self._call("list_namespaced_service", m["ns"])
            items = [s for s in self.cluster.services_json()["items"] if s["metadata"]["namespace"] == m["ns"]]
            return {"apiVersion": "v1", "kind": "ServiceList", "metadata": {}, "items": items}
        if method == "GET" and (m := LEASE.match(path)):
            return self.read_namespaced_lease(m["name"], m["ns"])
        if path == "/api/v1/nodes" and method == "GET":
            self._call("list_node")
            return self.cluster.nodes_json()
        if (m := NODE.match(path)) and m["name"] in self.cluster.nodes:
            if method == "PATCH":
                return self.patch_node(m["name"], json.loads(request.get_data() or b"{}"))
            return self.read_node(m["name"])
        if method == "GET" and (m := PODS.match(path)):
            listed = self.list_namespaced_pod(m["ns"], request.args.get("labelSelector", ""),
                                              request.args.get("fieldSelector", ""))
            return {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": listed.items}
        if method == "DELETE" and (m := POD.match(path)):
            pod = self.cluster.pods.get(m["name"])
            if pod is None:
                raise ApiException(status=404)
            options = json.loads(request.get_data() or b"{}")
            grace = request.args.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
            answer = next(p for p in self.cluster.pods_json(pod.node)["items"] if p["metadata"]["name"] == m["name"])
            self.delete_namespaced_pod(m["name"], m["ns"], None if grace is None else int(grace))
            return answer
        return None


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
