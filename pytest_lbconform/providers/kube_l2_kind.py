"""Any Kubernetes L2 LB a spec describes (``kubernetes:`` section), driven on a kind cluster through the API.

The MetalLB provider's cluster handling (workload, waits, node restarts, faults) is reused; what differs comes from
the spec: the install (release manifests, a helm chart, a generated manifest; applied server-side), the node sysctls,
the pool objects, the Services' annotations and class, the owner report (one reader per kind, ``owner_readers``) and
how the agent is kept off a node. Covered by contract tests; not run end to end on this project's machine (kind's node
image cannot be pulled here).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from ..errors import InfrastructureError
from ..platforms.base import Host, Topology
from ..waiting import wait_for
from . import kube_l2
from .allocation import Allocator
from .base import Service
from .kube_model import Kubernetes
from .metallb_kind import INSTALL_BUDGET, STABLE_FOR, KindMetalLB, transient_api_error
from .owner_readers import Holders, http, lease, service_annotation, status_objects
from .spec import ProviderSpec

FIELD_MANAGER = "lbconform"


class KindKubeL2(KindMetalLB):
    """A spec-described L2 LB on one kind cluster (one data-plane mode)."""

    def __init__(self, spec: ProviderSpec, docker_client: docker.DockerClient, kubeconfig: str, topology: Topology,
                 pool: tuple[str, str], progress: Callable[[str], None] = print, context: str | None = None) -> None:
        super().__init__(spec, docker_client, kubeconfig, topology, pool, progress, context=context)
        self.kube: Kubernetes = kube_l2.section(spec)
        self.namespace = self.kube.agent.namespace
        self.agent_selector = self.kube.agent.selector
        self.agent_container = self.kube.agent.container
        self.allocator = Allocator(self.core, spec, self._dict, make_body=kube_l2.allocation_service)
        self._dynamic: Any = None

    # -- deployment ----------------------------------------------------------------------------------------------
    def deploy(self) -> None:
        self.install()
        workers = [n.name for n in self.topology.workers]
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lbconform-alloc"}}
        from . import metallb

        self.deploy_workload([namespace, *metallb.backend_pods(workers, metallb.backend_image(self.spec)),
                              *kube_l2.services(self.spec)])

    def install(self) -> None:
        """Node sysctls, then the release manifests, the chart and the generated manifests (server-side apply), the
        agent's keep-away affinity when it needs one, the agent Ready, and the pool objects."""
        for node in self.topology.nodes:
            for argv in kube_l2.sysctl_commands(self.spec, node.name):
                result = self.docker.containers.get(node.name).exec_run(argv[3:])
                if result.exit_code != 0:
                    output = result.output if isinstance(result.output, bytes) else b""
                    raise InfrastructureError(f"{' '.join(argv)} failed: {output.decode(errors='replace').strip()}")
        namespace = self.kube.install.namespace
        if namespace:
            self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        for url in kube_l2.manifest_urls(self.spec):
            self.progress(f"lbconform: applying {url}")
            with urllib.request.urlopen(url, timeout=60) as response:
                self.apply_all(list(yaml.safe_load_all(response.read())))
        if self.kube.install.helm is not None:
            self.apply_all(self.helm_template())
        for generator in self.kube.install.generate:
            self.progress(f"lbconform: generating a manifest with {kube_l2.image(generator, self.spec)}")
            out = self.docker.containers.run(kube_l2.image(generator, self.spec), generator.args, remove=True,
                                             network_mode="host")
            self.apply_all(list(yaml.safe_load_all(out)))
        self.apply_overrides()
        if self.kube.agent.keep_away == "node_label":
            self.patch_agent_affinity()
        wait_for(self._metallb_ready, bool, budget=INSTALL_BUDGET, interval=2,
                 what=f"{self.kube.agent.kind} {self.kube.agent.name} ready", transient=transient_api_error)
        for obj in kube_l2.pool_objects(self.spec, *self.pool, str(self.topology.subnet), self.topology.cluster):
            wait_for(functools.partial(self.applied, obj), bool, budget=120, interval=2,
                     what=f"applying {obj['kind']} {obj['metadata']['name']}", transient=_retry_apply)

    def apply_overrides(self) -> None:
        """The spec's strategic-merge patches of installed workloads (``install.overrides``), in order."""
        for override, patch in kube_l2.overrides(self.spec):
            self.progress(f"lbconform: patching {override.kind} {override.namespace}/{override.name}")
            send = (self.apps.patch_namespaced_daemon_set if override.kind == "DaemonSet"
                    else self.apps.patch_namespaced_deployment)
            wait_for(functools.partial(_sent, send, override.name, override.namespace, patch), bool, budget=120,
                     interval=2, what=f"patching {override.kind} {override.name}", transient=transient_api_error)

    def helm_template(self) -> list[dict[str, Any]]:
        """The chart rendered by ``helm template`` with the spec's values (helm on PATH: checked at start-up)."""
        with tempfile.TemporaryDirectory(prefix="lbconform-helm-") as tmp:
            values = Path(tmp) / "values.yaml"
            values.write_text(yaml.safe_dump(kube_l2.values(self.spec, self.topology.cluster)))
            argv = kube_l2.helm_command(self.spec, str(values), kube_l2.helm_binary())
            self.progress(f"lbconform: {' '.join(argv)}")
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise InfrastructureError(f"helm template failed ({done.returncode}): {' '.join(done.stderr.split())[:300]}")
        return list(yaml.safe_load_all(done.stdout))

    def apply_all(self, documents: list[Any]) -> None:
        for doc in documents:
            if isinstance(doc, dict) and doc.get("kind"):
                if doc["kind"].endswith("List"):
                    self.apply_all(list(doc.get("items") or []))
                    continue
                wait_for(functools.partial(self.applied, doc), bool, budget=120, interval=2,
                         what=f"applying {doc['kind']} {doc.get('metadata', {}).get('name')}",
                         transient=_retry_apply)

    def applied(self, obj: dict[str, Any]) -> bool:
        self.apply(obj)
        return True

    def apply(self, obj: dict[str, Any]) -> None:
        """Server-side apply of ``obj`` (field manager ``lbconform``, conflicts forced: the run owns its cluster)."""
        from kubernetes.dynamic import DynamicClient

        if self._dynamic is None:
            self._dynamic = DynamicClient(self.api)  # type: ignore[no-untyped-call]
        try:
            resource = self._dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        except Exception:  # a CRD applied a moment ago: discovery must be read again
            self._dynamic.resources.invalidate_cache()
            raise
        meta = obj.get("metadata") or {}
        namespace = (meta.get("namespace") or self.kube.install.namespace or "default") if resource.namespaced else None
        resource.server_side_apply(body=obj, name=meta["name"], namespace=namespace, field_manager=FIELD_MANAGER,
                                   force_conflicts=True)

    def patch_agent_affinity(self) -> None:
        agent = self.kube.agent
        read = (self.apps.read_namespaced_daemon_set if agent.kind == "DaemonSet"
                else self.apps.read_namespaced_deployment)
        patch = (self.apps.patch_namespaced_daemon_set if agent.kind == "DaemonSet"
                 else self.apps.patch_namespaced_deployment)
        current = self._dict(read(agent.name, agent.namespace))
        affinity = ((current.get("spec") or {}).get("template") or {}).get("spec", {}).get("affinity")
        patch(agent.name, agent.namespace, {"spec": {"template": {"spec": {
            "affinity": kube_l2.avoiding_no_agent(affinity)}}}})

    def _metallb_ready(self) -> bool:
        """The agent workload is ready: every scheduled DaemonSet pod Ready, or the Deployment available."""
        agent = self.kube.agent
        if agent.kind == "Deployment":
            status = self._dict(self.apps.read_namespaced_deployment(agent.name, agent.namespace)).get("status", {})
            return bool(status.get("availableReplicas"))
        status = self._dict(self.apps.read_namespaced_daemon_set(agent.name, agent.namespace)).get("status", {})
        wanted = status.get("desiredNumberScheduled", 0)
        return bool(wanted > 0 and status.get("numberReady") == wanted)

    # -- the owner report ----------------------------------------------------------------------------------------
    def report(self, service: Service) -> Holders:
        """What the LB's own report says about ``service`` (the spec's owner-report kind, read by its reader)."""
        owner = self.kube.owner_report
        svc = self._dict(self.core.read_namespaced_service(service.name, self.app_namespace))
        if owner.lease is not None:
            namespace, name = lease.lease_key(owner.lease, svc)
            try:
                found = self._dict(k8s.CoordinationV1Api(self.api).read_namespaced_lease(name, namespace))
            except ApiException as exc:
                if exc.status != 404:
                    raise
                found = None
            return lease.holders(found, owner.lease, dt.datetime.now(dt.UTC))
        if owner.status_objects is not None:
            report = owner.status_objects
            listed: Any = self.custom.list_namespaced_custom_object(report.group, report.version, report.namespace,
                                                                    report.plural, label_selector=report.label_selector)
            found_all = status_objects.by_service(listed["items"], report, self.app_namespace, self.not_ready_nodes())
            return found_all.get(service.name, Holders((), report.plural, "no status object"))
        if owner.service_annotation is not None:
            return service_annotation.holders(svc, owner.service_annotation, service.vip)
        assert owner.http is not None
        return http.holders(self.agent_answers(), owner.http)

    def agent_answers(self) -> dict[str, Any]:
        """Node → the JSON its agent pod answers on the spec's endpoint (through the API server's pod proxy)."""
        report = self.kube.owner_report.http
        assert report is not None
        answers: dict[str, Any] = {}
        for pod in self._pods(self.namespace, self.agent_selector):
            node = str((pod.get("spec") or {}).get("nodeName", ""))
            name = f"{report.scheme}:{pod['metadata']['name']}:{report.port}" if report.scheme == "https" else \
                f"{pod['metadata']['name']}:{report.port}"
            try:
                raw = self.core.connect_get_namespaced_pod_proxy_with_path(name, self.namespace,
                                                                           report.path.lstrip("/"))
                answers[node] = json.loads(raw) if isinstance(raw, str) else raw
            except (ApiException, ValueError):
                answers[node] = None
        return answers

    def holders(self, service: Service) -> list[str]:
        return [self._short(n) for n in self.report(service).nodes]

    def expected_owners(self) -> dict[str, str | None]:
        """Unknown: a generic LB's election is not computed from the API, so convergence is "one holder per
        service, unchanged for STABLE_FOR s" (``KindMetalLB.wait_converged``'s fallback)."""
        return {s.name: None for s in self.services}

    def converged_what(self) -> str:
        """The generic wait: no election is computed, one holder per service must stay the same for STABLE_FOR s."""
        return (f"every service announced by exactly one node in the LB's {self.kube.owner_report.kind} owner report, "
                f"the same node for {STABLE_FOR:g} s")

    # -- keeping the agent away ------------------------------------------------------------------------------------
    def _keep_agent_away(self, node: Host) -> None:
        if self.kube.agent.keep_away == "taint":
            super()._keep_agent_away(node)
            return
        self.core.patch_node(node.name, {"metadata": {"labels": {kube_l2.NO_AGENT_LABEL: "true"}}})

    def _let_agent_back(self, node: Host) -> None:
        if self.kube.agent.keep_away == "taint":
            super()._let_agent_back(node)
            return
        self.core.patch_node(node.name, {"metadata": {"labels": {kube_l2.NO_AGENT_LABEL: None}}})

    def version(self) -> str:
        return kube_l2.version(self.spec)


def _sent(send: Callable[..., Any], name: str, namespace: str, body: dict[str, Any]) -> bool:
    send(name, namespace, body)
    return True


def _retry_apply(exc: BaseException) -> bool:
    """Apply again: the API's transient answers, and a kind the API does not serve yet (its CRD was just applied)."""
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    return transient_api_error(exc) or isinstance(exc, ResourceNotFoundError)
