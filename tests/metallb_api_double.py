"""An API double backed by the MetalLB model: the Kubernetes API paths the kind provider calls, answered from
``tests/metallb_model.Cluster`` (Nodes, Leases, speaker Pods, ServiceL2Statuses, EndpointSlices, Services, Events),
and the provider's writes (a Node's taints, a Pod's deletion) applied to the model; the backends and services the
provider creates are recorded (``created``): the model runs them already (webpod1..3, its services).

Time in the model passes per API request (``tick`` model seconds each), so a wait is counted in requests, not in
wall-clock seconds: deterministic, and fast with the provider's poll intervals patched down. A stand-in for tests
(see ``tests/data/metallb_model/README.md``), never a measurement.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

from werkzeug import Request, Response

from tests.metallb_model import Cluster, moment

NODE = re.compile(r"^/api/v1/nodes/(?P<name>[^/]+)$")
POD = re.compile(r"^/api/v1/namespaces/metallb-system/pods/(?P<name>[^/]+)$")
LEASE = re.compile(r"^/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/(?P<name>[^/]+)$")


class ModelApi:
    """The handler; ``requests`` counts what was asked (method, path)."""

    def __init__(self, cluster: Cluster, tick: float = 0.1) -> None:
        self.cluster, self.tick = cluster, tick
        self.requests: list[tuple[str, str]] = []
        self.created: list[dict[str, Any]] = []  #: the objects the provider created (the model has them already)

    def __call__(self, request: Request) -> Response:
        self.cluster.advance(self.tick)
        self.requests.append((request.method, request.path))
        body = self._answer(request)
        if body is None:
            return _json({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                          "reason": "NotFound", "message": f"{request.method} {request.path}: not in the double"}, 404)
        return _json(body)

    def _answer(self, request: Request) -> dict[str, Any] | None:
        c, path, method = self.cluster, request.path, request.method
        if path == "/api/v1/nodes":
            return c.nodes_json()
        if (m := NODE.match(path)) and m["name"] in c.nodes:
            if method == "PATCH":
                c.patch_taints(m["name"], (json.loads(request.get_data() or b"{}").get("spec") or {}).get("taints") or [])
            return c.node_json(m["name"])
        if path == "/api/v1/namespaces/metallb-system/pods":
            field = request.args.get("fieldSelector", "")
            node = field.removeprefix("spec.nodeName=") if field.startswith("spec.nodeName=") else None
            return c.pods_json(node)
        if (m := POD.match(path)) and method == "DELETE":
            pod = c.pods.get(m["name"])
            if pod is None:
                return None
            body = json.loads(request.get_data() or b"{}")
            grace = request.args.get("gracePeriodSeconds", body.get("gracePeriodSeconds"))
            answer = c.pods_json(pod.node)["items"]
            c.delete_pod(m["name"], None if grace is None else float(grace))
            return next(p for p in answer if p["metadata"]["name"] == m["name"])
        if path == "/apis/metallb.io/v1beta1/namespaces/metallb-system/servicel2statuses":
            return c.l2statuses_json()
        if (m := LEASE.match(path)) and m["name"] in c.nodes:
            return c.lease_json(m["name"])
        if path == "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices":
            service = request.args.get("labelSelector", "").removeprefix("kubernetes.io/service-name=")
            return c.endpointslices_json(service)
        if path in ("/api/v1/namespaces", "/api/v1/namespaces/default/pods", "/api/v1/namespaces/default/services"):
            return self._workload(request)
        if path == "/api/v1/namespaces/default/events":
            return {"apiVersion": "v1", "kind": "EventList", "metadata": {}, "items": []}
        return None

    def _workload(self, request: Request) -> dict[str, Any] | None:
        """The backends and services: created by the provider (recorded; the model already runs them), then listed."""
        if request.method == "POST":
            body: dict[str, Any] = json.loads(request.get_data() or b"{}")
            self.created.append(body)
            return body
        if request.path.endswith("/pods"):
            return self.cluster.webpods_json()
        return self.cluster.services_json() if request.path.endswith("/services") else None

    def docker(self) -> SimpleNamespace:
        """A docker client stand-in: a node container's start time and address, from the model."""
        def get(name: str) -> SimpleNamespace:
            node = self.cluster.nodes[name]
            return SimpleNamespace(attrs={
                "State": {"Running": node.running, "StartedAt": moment(node.booted).strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
                "NetworkSettings": {"Networks": {"kind": {"IPAddress": node.ip, "MacAddress": node.mac}}}})
        return SimpleNamespace(containers=SimpleNamespace(get=get))


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
