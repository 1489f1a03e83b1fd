"""An API double of a cluster the user already has, with MetalLB installed their way (``--platform=existing``).

Built on the MetalLB model's double (``tests/metallb_api_double.ModelApi``: nodes, leases, speaker pods,
ServiceL2Statuses, the speakers' election), it adds what a run on an existing cluster reads and writes:

- read only: ``/version``, kube-proxy's ConfigMap (and DaemonSet) in kube-system, the speaker DaemonSet (its image
  is the MetalLB version), the IPAddressPools and L2Advertisements, namespaces by label;
- written by the run: its namespace (created, deleted: everything in it goes, and the model stops announcing its
  services), its pods (Ready at once, with a pod IP) and its services (a LoadBalancer service gets an address from
  the pool, the requested one when it is free and in the pool, else it stays pending with MetalLB's event);
  svc1..3 with endpoints become services of the model, so MetalLB's election announces them.

``writes`` lists every write (method, path): ``--plan`` must leave it empty. A stand-in for tests, never a
measurement.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from typing import Any

from werkzeug import Request, Response

from tests.metallb_api_double import ModelApi, _json
from tests.metallb_model import Cluster

NS = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)$")
IN_NS = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<kind>pods|services|events)(?:/(?P<name>[^/]+))?$")
SLICES = re.compile(r"^/apis/discovery.k8s.io/v1/namespaces/(?P<ns>[^/]+)/endpointslices$")
SYSTEM = ("default", "kube-system", "kube-node-lease", "metallb-system")


def kube_proxy_configmap(mode: str = "", strict_arp: bool = False) -> dict[str, Any]:
    """kube-proxy's ConfigMap as kubeadm writes it (``config.conf``: a KubeProxyConfiguration)."""
    conf = (f"apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"{mode}\"\n"
            f"ipvs:\n  scheduler: \"\"\n  strictARP: {'true' if strict_arp else 'false'}\n")
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-proxy", "namespace": "kube-system"},
            "data": {"config.conf": conf, "kubeconfig.conf": "apiVersion: v1\nkind: Config\n"}}


class ExistingApi(ModelApi):
    """The handler of an existing cluster's API (see the module docstring)."""

    def __init__(self, cluster: Cluster, tick: float = 0.1, *, kube_proxy: dict[str, Any] | None = None,
                 kube_proxy_daemonset: bool = True, speaker_image: str = "quay.io/metallb/speaker:v0.16.1",
                 pools: dict[str, str] | None = None, metallb: bool = True) -> None:
        super().__init__(cluster, tick)
        cluster.services = ()
        self.kube_proxy = kube_proxy if kube_proxy is not None else kube_proxy_configmap()
        self.kube_proxy_daemonset, self.speaker_image, self.metallb = kube_proxy_daemonset, speaker_image, metallb
        self.pools = pools if pools is not None else {"default-pool": "172.18.255.200-172.18.255.250"}
        self.namespaces: dict[str, dict[str, Any]] = {n: {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": n}} for n in SYSTEM}
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  #: (namespace, kind, name) → object
        self.events: list[dict[str, Any]] = []
        #: (namespace, name) → image of another LB's agent DaemonSet (a spec-described LB installed by the user)
        self.daemonsets: dict[tuple[str, str], str] = {}
        self.writes: list[tuple[str, str]] = []
        self.deleted: list[str] = []  #: namespaces deleted through the API
        self._uids = itertools.count(1)

    def _answer(self, request: Request) -> dict[str, Any] | None:  # noqa: PLR0912 (one route each)
        path, method = request.path, request.method
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            self.writes.append((method, path))
        if path in ("/version", "/version/"):
            return {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "gitCommit": "0" * 40, "gitTreeState": "clean",
                    "buildDate": "2026-08-26T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc",
                    "platform": "linux/amd64"}
        if path == "/api/v1/namespaces/kube-system/configmaps/kube-proxy":
            return self.kube_proxy or None
        if path == "/apis/apps/v1/namespaces/kube-system/daemonsets/kube-proxy":
            return _daemonset("kube-proxy", "kube-system", "registry.k8s.io/kube-proxy:v1.37.0") \
                if self.kube_proxy_daemonset else None
        parts = path.split("/")
        if len(parts) == 8 and parts[1:4] == ["apis", "apps", "v1"] and parts[6] == "daemonsets" \
                and (parts[5], parts[7]) in self.daemonsets:
            return _daemonset(parts[7], parts[5], self.daemonsets[(parts[5], parts[7])])
        if path == "/apis/apps/v1/namespaces/metallb-system/daemonsets/speaker":
            return _daemonset("speaker", "metallb-system", self.speaker_image) if self.metallb else None
        if path == "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools" and self.metallb:
            return _list("metallb.io/v1beta1", "IPAddressPoolList", [
                {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
                 "metadata": {"name": name, "namespace": "metallb-system"}, "spec": {"addresses": [addresses]}}
                for name, addresses in self.pools.items()])
        if path == "/apis/metallb.io/v1beta1/namespaces/metallb-system/l2advertisements" and self.metallb:
            return _list("metallb.io/v1beta1", "L2AdvertisementList", [
                {"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
                 "metadata": {"name": "default", "namespace": "metallb-system"}, "spec": {}}])
        if path == "/api/v1/namespaces":
            if method == "POST":
                return self._create_namespace(json.loads(request.get_data()))
            selector = request.args.get("labelSelector", "")
            items = [n for n in self.namespaces.values() if not selector or selector in (n["metadata"].get("labels") or {})]
            return _list("v1", "NamespaceList", items)
        if (m := NS.match(path)) and m["ns"] in self.namespaces:
            if method == "DELETE":
                return self._delete_namespace(m["ns"])
            return self.namespaces[m["ns"]]
        if path == "/api/v1/services":
            return _list("v1", "ServiceList", [o for (_, kind, _), o in self.objects.items() if kind == "services"])
        if (m := IN_NS.match(path)) and m["ns"] not in ("metallb-system",):
            return self._in_namespace(m["ns"], m["kind"], m["name"], request)
        if (m := SLICES.match(path)) and m["ns"] == self.cluster.namespace:
            service = request.args.get("labelSelector", "").removeprefix("kubernetes.io/service-name=")
            if any(s.name == service for s in self.cluster.services):
                return self.cluster.endpointslices_json(service)
            return _list("discovery.k8s.io/v1", "EndpointSliceList", [])
        return super()._answer(request)

    # -- the run's objects ---------------------------------------------------------------------------------------------
    def _create_namespace(self, body: dict[str, Any]) -> dict[str, Any] | None:
        name = body["metadata"]["name"]
        if name in self.namespaces:
            return None  # the client reads a 404 as a failure; a test never creates one twice
        body["metadata"]["uid"] = f"ns-{next(self._uids)}"
        self.namespaces[name] = body
        self.cluster.namespace = name
        return body

    def _delete_namespace(self, name: str) -> dict[str, Any]:
        gone = self.namespaces.pop(name)
        for key in [k for k in self.objects if k[0] == name]:
            del self.objects[key]
        self.events = [e for e in self.events if e["metadata"]["namespace"] != name]
        if self.cluster.namespace == name:
            self.cluster.remove_services()
        self.deleted.append(name)
        return gone

    def _in_namespace(self, ns: str, kind: str, name: str | None, request: Request) -> dict[str, Any] | None:
        if ns not in self.namespaces:
            return None
        if kind == "events":
            field = request.args.get("fieldSelector", "").removeprefix("involvedObject.name=")
            return _list("v1", "EventList", [e for e in self.events if e["metadata"]["namespace"] == ns
                                             and (not field or e["involvedObject"]["name"] == field)])
        if request.method == "POST":
            body = json.loads(request.get_data())
            body["metadata"] |= {"namespace": ns, "uid": f"{kind}-{next(self._uids)}"}
            if kind == "pods":
                index = sum(1 for k in self.objects if k[0] == ns and k[1] == "pods") + 1
                body["status"] = {"phase": "Running", "podIP": f"10.10.{index}.5",
                                  "hostIP": self.cluster.nodes[body["spec"]["nodeName"]].ip,
                                  "conditions": [{"type": "Ready", "status": "True"}]}
            else:
                self._allocate(ns, body)
            self.objects[(ns, kind, body["metadata"]["name"])] = body
            return body
        if name is None:
            selector = request.args.get("labelSelector", "")
            key, _, value = selector.partition("=")
            items = [o for (n, k, _), o in self.objects.items() if n == ns and k == kind
                     and (not selector or (o["metadata"].get("labels") or {}).get(key) == value)]
            return _list("v1", "PodList" if kind == "pods" else "ServiceList", items)
        obj = self.objects.get((ns, kind, name))
        if obj is not None and request.method == "DELETE":
            del self.objects[(ns, kind, name)]
        return obj

    def _allocate(self, ns: str, svc: dict[str, Any]) -> None:
        """MetalLB's controller for a LoadBalancer service: an address from the pool (the requested one when it is
        in the pool and free), else pending with its AllocationFailed event; svc1..3 (endpoints on every worker)
        join the model, whose speakers elect their announcer."""
        if svc["spec"].get("type") != "LoadBalancer":
            return
        annotations = svc["metadata"].get("annotations") or {}
        requested = annotations.get("metallb.io/loadBalancerIPs")
        key = annotations.get("metallb.io/allow-shared-ip")
        sharing = next((o for o in self.objects.values() if key and o["metadata"]["namespace"] == ns and
                        (o["metadata"].get("annotations") or {}).get("metallb.io/allow-shared-ip") == key and
                        ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress")), None)
        if sharing is not None and not requested:  # the same sharing key: the same address (ports not compared)
            svc["status"] = {"loadBalancer": dict(sharing["status"]["loadBalancer"])}
            return
        pool = self.pools[annotations.get("metallb.io/address-pool") or next(iter(self.pools))]
        first, last = (int(ipaddress.IPv4Address(a)) for a in pool.split("-"))
        used = {i["ip"] for o in self.objects.values() for i in
                ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []}
        candidates = [str(ipaddress.IPv4Address(v)) for v in range(first, last + 1)]
        if requested:
            ip = requested if requested in candidates and requested not in used else None
            why = (f'Failed to allocate IP for "{ns}/{svc["metadata"]["name"]}": ["{requested}"] is not allowed in '
                   "config" if requested not in candidates else f"{requested} is already in use")
        else:
            ip = next((c for c in candidates if c not in used), None)
            why = "no available IPs"
        if ip is None:
            self.events.append({"apiVersion": "v1", "kind": "Event", "reason": "AllocationFailed", "message": why,
                                "metadata": {"name": f"{svc['metadata']['name']}.1", "namespace": ns},
                                "involvedObject": {"kind": "Service", "name": svc["metadata"]["name"], "namespace": ns}})
            svc["status"] = {"loadBalancer": {}}
            return
        svc["status"] = {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}
        if (svc["spec"].get("selector") or {}).get("app") == "webpod":
            self.cluster.add_service(svc["metadata"]["name"], ip, svc["spec"].get("externalTrafficPolicy", "Cluster"))


def _daemonset(name: str, namespace: str, image: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}},
            "status": {"desiredNumberScheduled": 4, "numberReady": 4, "currentNumberScheduled": 4,
                       "numberMisscheduled": 0}}


def _list(api_version: str, kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {}, "items": items}


def serve(httpserver: Any, api: ExistingApi) -> str:
    """Serve ``api`` on pytest-httpserver; the API's address."""
    httpserver.expect_request(re.compile(".*")).respond_with_handler(api)
    return str(httpserver.url_for("")).rstrip("/")


def kubeconfig_text(server: str, context: str = "mycluster") -> str:
    import yaml

    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "users": [{"name": context, "user": {"token": "double"}}]})


__all__ = ["ExistingApi", "Response", "_json", "kube_proxy_configmap", "kubeconfig_text", "serve"]
