"""A Kubernetes L2 LB described by a spec's ``kubernetes:`` section: what a run installs, creates and runs, as data.

Pure functions of the spec (and the run's addresses): the plan prints them, the live provider
(``kube_l2_kind.KindKubeL2``) applies them, and the tests validate them. Nothing of the LB is copied here: manifests
and charts come from the spec's pinned release URLs at run time.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Mapping
from typing import Any

from .. import implementations
from ..errors import ConfigError
from ..platforms import existing
from . import metallb
from .kube_model import (
    OVERRIDE_PLACEHOLDERS,
    POOL_PLACEHOLDERS,
    VALUES_PLACEHOLDERS,
    Generator,
    Kubernetes,
    Override,
    fill,
    render_pool,
)
from .spec import ProviderSpec

#: the node label a ``keep_away: node_label`` agent must not carry (the run adds this affinity at install)
NO_AGENT_LABEL = "lbconform.io/no-agent"
HELM_INSTALL_PAGE = "https://helm.sh/docs/intro/install/"


def section(spec: ProviderSpec) -> Kubernetes:
    """The spec's ``kubernetes:`` section (a spec driven by the generic provider has one: ``load_spec``)."""
    if spec.kubernetes is None:
        raise ConfigError(f"provider {spec.name}: the generic Kubernetes L2 provider needs a kubernetes: section "
                          "(docs/provider-spec.md)")
    return spec.kubernetes


def version(spec: ProviderSpec) -> str:
    return section(spec).install.version


def manifest_urls(spec: ProviderSpec) -> list[str]:
    """The release manifests, ``{version}`` filled with the pin (applied in order, server-side)."""
    return [fill(url, {"version": version(spec)}, ("version",)) for url in section(spec).install.manifests]


def values(spec: ProviderSpec, cluster: str) -> dict[str, Any]:
    """The helm values with ``{cluster}``, ``{version}`` and ``{namespace}`` filled (e.g. Cilium's k8sServiceHost:
    ``{cluster}-control-plane``)."""
    helm = section(spec).install.helm
    if helm is None:
        return {}
    known = {"cluster": cluster, "version": version(spec), "namespace": helm.namespace}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return fill(node, known, VALUES_PLACEHOLDERS) if isinstance(node, str) else node

    return dict(walk(copy.deepcopy(helm.values)))


def helm_command(spec: ProviderSpec, values_file: str, helm: str = "helm") -> list[str]:
    """``helm template`` of the pinned chart (CRDs included), rendered locally and applied server-side."""
    chart = section(spec).install.helm
    assert chart is not None
    return [helm, "template", chart.release, chart.chart, "--repo", chart.repo, "--version", chart.version,
            "--namespace", chart.namespace, "--include-crds", "--values", values_file]


def helm_binary() -> str:
    """helm on PATH, or one line saying it is needed."""
    found = shutil.which("helm")
    if not found:
        raise ConfigError(f"this provider installs a helm chart: helm is needed on PATH to render it "
                          f"(helm template); install it: {HELM_INSTALL_PAGE}")
    return found


def image(generator: Generator, spec: ProviderSpec) -> str:
    return fill(generator.image, {"version": version(spec)}, ("version",))


def generate_command(generator: Generator, spec: ProviderSpec) -> list[str]:
    """The LB image printing its own manifest (kube-vip ``manifest daemonset …``), as ``docker run`` would run it."""
    return ["docker", "run", "--rm", "--network", "host", image(generator, spec), *generator.args]


def overrides(spec: ProviderSpec) -> list[tuple[Override, dict[str, Any]]]:
    """The install's workload patches, ``{version}`` filled, in the spec's order."""
    known = {"version": version(spec)}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return fill(node, known, OVERRIDE_PLACEHOLDERS) if isinstance(node, str) else node

    return [(o, dict(walk(copy.deepcopy(o.patch)))) for o in section(spec).install.overrides]


def override_command(override: Override, patch: dict[str, Any]) -> list[str]:
    """The ``kubectl patch`` an override amounts to (the run sends the same strategic-merge patch through the API)."""
    return ["kubectl", "-n", override.namespace, "patch", override.kind.lower(), override.name, "--type", "strategic",
            "-p", json.dumps(patch, separators=(",", ":"))]


def lb_namespace(spec: ProviderSpec) -> str:
    """The LB's namespace: the install's, else the agent's."""
    kube = section(spec)
    return kube.install.namespace or kube.agent.namespace


def pool_objects(spec: ProviderSpec, first: str, last: str, subnet: str, cluster: str) -> list[dict[str, Any]]:
    """The pool objects of the spec's template for the run's range ``first``-``last`` on ``subnet``."""
    known = {"pool_start": first, "pool_end": last, "pool_range": f"{first}-{last}", "subnet": subnet,
             "namespace": lb_namespace(spec), "cluster": cluster}
    assert set(known) == set(POOL_PLACEHOLDERS)
    try:
        return render_pool(section(spec).pool.template, known)
    except ValueError as exc:
        raise ConfigError(f"provider spec {spec.source or spec.name}: kubernetes.pool.template: {exc}") from exc


def sysctl_commands(spec: ProviderSpec, node: str) -> list[list[str]]:
    """``docker exec NODE sysctl -w KEY=VALUE`` per node sysctl the spec needs (kind nodes are privileged)."""
    return [["docker", "exec", node, "sysctl", "-w", f"{key}={value}"]
            for key, value in section(spec).cluster.node_sysctls.items()]


def service_annotations(spec: ProviderSpec, policy: str) -> dict[str, str]:
    svc = section(spec).service
    return {**svc.annotations, **(svc.local_annotations if policy == "Local" else {})}


def services(spec: ProviderSpec, namespace: str = metallb.NAMESPACE,
             extra_labels: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """svc1..3 with the spec's annotations (Local ones on svc2) and loadBalancerClass."""
    from ..scenarios import SERVICES

    annotations = {name: service_annotations(spec, policy) for name, (policy, _) in SERVICES.items()}
    out = metallb.services({k: v for k, v in annotations.items() if v}, namespace, extra_labels)
    cls = section(spec).service.load_balancer_class
    for svc in out:
        if cls:
            svc["spec"]["loadBalancerClass"] = cls
    return out


def allocation_service(name: str, requested_ip: str | None, sharing_key: str | None, port: int,
                       spec: ProviderSpec) -> dict[str, Any]:
    """A service of the allocation checks: the spec's way of requesting an address and sharing one."""
    svc_section = section(spec).service
    body = metallb.allocation_service(name, None, None, port, spec)
    annotations = dict(service_annotations(spec, "Cluster"))
    requested = svc_section.requested_ip
    if requested_ip:
        if requested is None:
            raise ConfigError(f"provider {spec.name} says no way to request an address "
                              "(kubernetes.service.requested_ip)")
        if requested.annotation:
            annotations[requested.annotation] = requested_ip
        else:
            body["spec"]["loadBalancerIP"] = requested_ip
    if sharing_key:
        if svc_section.sharing_annotation is None:
            raise ConfigError(f"provider {spec.name} says no way to share an address "
                              "(kubernetes.service.sharing_annotation)")
        annotations[svc_section.sharing_annotation] = sharing_key
    if annotations:
        body["metadata"]["annotations"] = annotations
    if svc_section.load_balancer_class:
        body["spec"]["loadBalancerClass"] = svc_section.load_balancer_class
    return body


def avoiding_no_agent(affinity: Mapping[str, Any] | None) -> dict[str, Any]:
    """A pod template's ``affinity`` that also keeps a ``keep_away: node_label`` agent off nodes labelled
    NO_AGENT_LABEL: the expression is added to every required node-selector term (terms are ORed), the rest kept.
    Applied once at install, before the agent is awaited: a DaemonSet that tolerates every taint (Cilium's Helm
    default) still honours affinity, and its controller removes the pod of a node that stops matching."""
    out = copy.deepcopy(dict(affinity or {}))
    required = out.setdefault("nodeAffinity", {}).setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or [{}]
    expression = {"key": NO_AGENT_LABEL, "operator": "DoesNotExist"}
    for term in terms:
        expressions = term.setdefault("matchExpressions", [])
        if expression not in expressions:
            expressions.append(expression)
    required["nodeSelectorTerms"] = terms
    return out


def keep_away_steps(spec: ProviderSpec, node: str) -> tuple[str, str]:
    """(how the agent is kept off ``node``, how that is undone), for the plan and the report."""
    agent = section(spec).agent
    if agent.keep_away == "taint":
        return (f"taint {node} {metallb.AGENT_TAINT['key']}={metallb.AGENT_TAINT['value']}:NoSchedule, delete the "
                f"{agent.name} pod on it", "remove the taint, wait for a new agent pod")
    return (f"label {node} {NO_AGENT_LABEL}=true (the {agent.kind} is patched at install to avoid it), delete the "
            f"{agent.name} pod on it", f"remove the label {NO_AGENT_LABEL}, wait for a new agent pod")


def existing_agent(spec: ProviderSpec) -> existing.Agent:
    """What ``--platform=existing`` reads of the LB as the user installed it: MetalLB's speaker (and its pools), or a
    spec's agent workload."""
    if spec.implementation != implementations.KUBE_L2:
        return existing.Agent()
    agent = section(spec).agent
    return existing.Agent(agent.kind, agent.name, agent.container, spec.project, metallb=False)


def existing_namespace(spec: ProviderSpec) -> str:
    """The namespace read on an existing cluster: MetalLB's, or the spec's agent's."""
    return section(spec).agent.namespace if spec.implementation == implementations.KUBE_L2 else metallb.namespace(spec)
