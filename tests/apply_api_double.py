"""An API double for the objects the generic Kubernetes L2 provider (``providers/kube_l2_kind.KindKubeL2``) writes
itself: the discovery documents the real kubernetes ``DynamicClient`` reads before a server-side apply (``/version``,
``/api``, ``/api/v1``, ``/apis``, ``/apis/<group>/<version>``), the agent workloads it reads and patches (apps/v1
DaemonSets and Deployments), and every PATCH recorded as it came over HTTP (method, path, content type, query, body).

Served with pytest-httpserver (``respond_with_handler``); it stores nothing a PATCH sends (a workload read after a
patch answers as before): it shows what the client sends, not what an API server would make of it. The resource
catalogue is what the built-in specs and ``docs/examples/acme-l2.yaml`` create, with the plurals and scopes their CRDs
declare. A stand-in for tests, never a measurement.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from werkzeug import Request, Response

#: (group, version) → (plural, kind, namespaced) served there; the core group is ""
RESOURCES: dict[tuple[str, str], tuple[tuple[str, str, bool], ...]] = {
    ("", "v1"): (("namespaces", "Namespace", False), ("services", "Service", True),
                 ("configmaps", "ConfigMap", True), ("nodes", "Node", False), ("pods", "Pod", True)),
    ("apps", "v1"): (("daemonsets", "DaemonSet", True), ("deployments", "Deployment", True)),
    ("metallb.io", "v1beta1"): (("ipaddresspools", "IPAddressPool", True),
                                ("l2advertisements", "L2Advertisement", True)),
    ("cilium.io", "v2"): (("ciliumloadbalancerippools", "CiliumLoadBalancerIPPool", False),),
    ("cilium.io", "v2alpha1"): (("ciliuml2announcementpolicies", "CiliumL2AnnouncementPolicy", False),),
    ("purelb.io", "v2"): (("servicegroups", "ServiceGroup", True), ("lbnodeagents", "LBNodeAgent", True)),
    ("loxiurl.loxilb.io", "v1"): (("loxiurls", "LoxiURL", False),),
    ("acme.example.com", "v1"): (("acmepools", "AcmePool", True),),
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
WORKLOAD = re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<plural>daemonsets|deployments)/(?P<name>[^/]+)$")


@dataclass(frozen=True)
class Sent:
    """One write as the double received it."""

    method: str
    path: str
    content_type: str
    query: dict[str, str]
    body: Any


class ApplyApiDouble:
    """``sent`` records every non-GET request; ``workloads`` maps (plural, namespace, name) to the object a GET of
    that DaemonSet or Deployment answers (a PATCH of one not there is a 404, as from an API server)."""

    def __init__(self, workloads: dict[tuple[str, str, str], dict[str, Any]] | None = None) -> None:
        self.workloads = dict(workloads or {})
        self.sent: list[Sent] = []
        self.gets: list[str] = []

    def __call__(self, request: Request) -> Response:
        path, method = request.path, request.method
        if method == "GET":
            self.gets.append(path)
            found = self._get(path)
            return _json(found) if found is not None else _missing(method, path)
        raw = request.get_data()
        body = yaml.safe_load(raw) if raw else None  # JSON is YAML: an apply-patch+yaml body parses either way
        self.sent.append(Sent(method, path, request.content_type or "", dict(request.args.items()), body))
        if method != "PATCH":
            return _missing(method, path)
        if match := WORKLOAD.match(path):
            current = self.workloads.get((match["plural"], match["ns"], match["name"]))
            return _json(current) if current is not None else _missing(method, path)
        return _json(body) if isinstance(body, dict) else _missing(method, path)

    def _get(self, path: str) -> dict[str, Any] | None:
        if path == "/version":
            return {"major": "1", "minor": "33", "gitVersion": "v1.33.1"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = sorted({g for g, _ in RESOURCES if g})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g) for g in groups]}
        if path == "/api/v1":
            return _resource_list("", "v1")
        if (parts := path.split("/"))[1:2] == ["apis"] and len(parts) == 4 and (parts[2], parts[3]) in RESOURCES:
            return _resource_list(parts[2], parts[3])
        if match := WORKLOAD.match(path):
            found = self.workloads.get((match["plural"], match["ns"], match["name"]))
            return copy.deepcopy(found) if found is not None else None
        return None

    def applies(self) -> list[Sent]:
        """The server-side applies received, in order."""
        return [s for s in self.sent if s.content_type == "application/apply-patch+yaml"]


def resource_path(api_version: str, kind: str, name: str, namespace: str | None) -> str:
    """The path an object of ``kind`` is written at, from the catalogue (KeyError for a kind not served)."""
    group, _, version = api_version.rpartition("/")
    plural, namespaced = next((p, n) for p, k, n in RESOURCES[(group, version)] if k == kind)
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{prefix}/namespaces/{namespace}/{plural}/{name}" if namespaced else f"{prefix}/{plural}/{name}"


def _group(group: str) -> dict[str, Any]:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for g, v in RESOURCES if g == group]
    return {"name": group, "versions": versions, "preferredVersion": versions[-1]}


def _resource_list(group: str, version: str) -> dict[str, Any]:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                           "verbs": VERBS} for plural, kind, namespaced in RESOURCES[(group, version)]]}


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


def _missing(method: str, path: str) -> Response:
    return Response(json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                "reason": "NotFound", "message": f"{method} {path}: not in the double"}),
                    status=404, content_type="application/json")
