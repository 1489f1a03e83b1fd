"""The ``kubernetes:`` section of a provider spec: a Kubernetes L2 LB described as data (``providers/kube_l2.py``
drives it). Strict, unknown keys refused; templates are checked by rendering them with sample values.

Placeholders are ``{name}`` with a lower-case identifier; any other brace (a YAML flow mapping) is left alone, and an
unknown placeholder is refused, naming the accepted ones (:func:`fill`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Text = Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]
#: a qualified Kubernetes annotation or label key (``prefix/name``)
Key = Annotated[str, StringConstraints(pattern=r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
KeyValue = Annotated[str, StringConstraints(max_length=253, pattern=r"^[^\x00-\x1f\x7f]*$")]
#: an https URL; ``{version}`` may appear once (the spec's pinned release)
Url = Annotated[str, StringConstraints(
    pattern=r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~/@:+-]*(\{version\}[A-Za-z0-9._~/@:+-]*)?)?$")]
Release = Annotated[str, StringConstraints(pattern=r"^v?\d+\.\d+\.\d+(\.\d+)?$")]
Image = Annotated[str, StringConstraints(
    pattern=r"^[a-z0-9./_-]+(:([A-Za-z0-9._-]+|\{version\})|@sha256:[0-9a-f]{64})$")]
Arg = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Sysctl = Annotated[str, StringConstraints(pattern=r"^net\.ipv[46]\.[a-z0-9_.]+$")]
SysctlValue = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")]
#: where a value is read in an object: ``label:KEY``, ``annotation:KEY`` or a dotted field path (``status.node``)
Path = Annotated[str, StringConstraints(pattern=r"^((label|annotation):([a-z0-9.-]+/)?[A-Za-z0-9._-]+|[A-Za-z0-9_]+"
                                                r"(\.[A-Za-z0-9_]+){0,5})$")]

#: placeholders each template may use
POOL_PLACEHOLDERS = ("pool_start", "pool_end", "pool_range", "subnet", "namespace", "cluster")
LEASE_PLACEHOLDERS = ("service", "service_namespace")
HOLDER_PLACEHOLDERS = ("node",)
VALUES_PLACEHOLDERS = ("cluster", "version", "namespace")
OVERRIDE_PLACEHOLDERS = ("version",)
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
SAMPLE = {"pool_start": "172.18.255.200", "pool_end": "172.18.255.250", "pool_range": "172.18.255.200-172.18.255.250",
          "subnet": "172.18.0.0/16", "namespace": "lb-system", "cluster": "lbc", "service": "svc1",
          "service_namespace": "default", "node": "lbc-worker", "version": "v1.0.0", "ip": "172.18.255.200",
          "interface": "eth0"}
OWNER_REPORT_KINDS = ("lease", "status_objects", "service_annotation", "http")
KEEP_AWAY = ("taint", "node_label")
MAX_TEMPLATE = 8192


def fill(template: str, values: dict[str, str], accepted: tuple[str, ...]) -> str:
    """``template`` with each ``{name}`` replaced; an unknown name raises ``ValueError`` naming the accepted ones."""
    unknown = sorted({m for m in PLACEHOLDER.findall(template) if m not in accepted})
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}; accepted: "
                         f"{', '.join('{' + a + '}' for a in accepted)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _checked(template: str, accepted: tuple[str, ...]) -> str:
    fill(template, SAMPLE, accepted)
    return template


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Helm(_Strict):
    """A chart rendered with ``helm template`` (helm on PATH) and applied server-side."""

    repo: Url
    chart: Name
    version: Release
    release: Name
    namespace: Name
    values: Annotated[dict[str, Any], Field(max_length=64)] = {}

    @field_validator("values")
    @classmethod
    def scalar_tree(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Values are plain YAML (mappings, lists, strings, numbers, booleans); strings may use {cluster},
        {version} and {namespace}."""
        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if not isinstance(k, str):
                        raise ValueError(f"a values key must be a string, not {k!r}")
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
            elif isinstance(node, str):
                fill(node, SAMPLE, VALUES_PLACEHOLDERS)
            elif not isinstance(node, (int, float, bool)) and node is not None:
                raise ValueError(f"values hold YAML scalars, lists and mappings, not {type(node).__name__}")
        walk(value)
        return value


class Generator(_Strict):
    """A manifest printed by the LB's own image (``docker run --rm --network host IMAGE ARGS``), as kube-vip's
    ``manifest daemonset`` does."""

    image: Image
    args: Annotated[list[Arg], Field(min_length=1, max_length=32)]


class Override(_Strict):
    """A strategic-merge patch of one installed workload, applied right after the install: what a release manifest
    does not set and a run needs (kube-loxilb's flags, a pinned image where the manifest says ``latest``, where a pod
    may run). It names only what changes (containers merge by name, a list such as ``args`` is replaced); strings may
    use ``{version}``."""

    kind: Literal["Deployment", "DaemonSet"]
    namespace: Name
    name: Name
    patch: Annotated[dict[str, Any], Field(min_length=1, max_length=8)]

    @field_validator("patch")
    @classmethod
    def plain_tree(cls, value: dict[str, Any]) -> dict[str, Any]:
        _plain(value, OVERRIDE_PLACEHOLDERS)
        return value


def _plain(node: Any, accepted: tuple[str, ...]) -> None:
    """Refuse anything but YAML mappings (string keys), lists, strings (placeholders among ``accepted``), numbers,
    booleans and null."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str):
                raise ValueError(f"a key must be a string, not {k!r}")
            _plain(v, accepted)
    elif isinstance(node, list):
        for v in node:
            _plain(v, accepted)
    elif isinstance(node, str):
        fill(node, SAMPLE, accepted)
    elif not isinstance(node, (int, float, bool)) and node is not None:
        raise ValueError(f"only YAML scalars, lists and mappings, not {type(node).__name__}")


class Install(_Strict):
    """How the LB is installed on kind: pinned release manifests, a helm chart, a generated manifest (any mix, in
    that order); ``namespace`` is created first when given; ``overrides`` patch installed workloads afterwards."""

    version: Release
    namespace: Name | None = None
    manifests: Annotated[list[Url], Field(max_length=8)] = []
    helm: Helm | None = None
    generate: Annotated[list[Generator], Field(max_length=4)] = []
    overrides: Annotated[list[Override], Field(max_length=8)] = []

    @model_validator(mode="after")
    def something(self) -> Install:
        if not (self.manifests or self.helm or self.generate):
            raise ValueError("says nothing to install; give manifests (URLs), helm (a chart) or generate")
        return self


class Cluster(_Strict):
    """What the kind cluster needs; kube-proxy's mode comes from the run's mode (``kube-proxy-replacement``: none)."""

    disable_default_cni: bool = False
    node_sysctls: Annotated[dict[Sysctl, SysctlValue], Field(max_length=16)] = {}


class Pool(_Strict):
    """The pool objects the run creates, as a YAML template (``{pool_start}``, ``{pool_end}``, ``{pool_range}``,
    ``{subnet}``, ``{namespace}``, ``{cluster}``)."""

    template: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEMPLATE)]

    @field_validator("template")
    @classmethod
    def renders(cls, value: str) -> str:
        documents = render_pool(value, SAMPLE)
        if not documents:
            raise ValueError("renders no object")
        return value


def render_pool(template: str, values: dict[str, str]) -> list[dict[str, Any]]:
    """The pool objects of ``template`` filled with ``values``; each a mapping with apiVersion, kind, metadata.name."""
    text = fill(template, values, POOL_PLACEHOLDERS)
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML once filled ({' '.join(str(exc).split())[:120]})") from exc
    for doc in documents:
        if not (isinstance(doc, dict) and isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str)
                and isinstance(doc.get("metadata"), dict) and doc["metadata"].get("name")):
            raise ValueError("every document needs apiVersion, kind and metadata.name")
    return documents


class RequestedIp(_Strict):
    """How a Service asks for an address: an annotation, or ``spec.loadBalancerIP`` (deprecated upstream)."""

    annotation: Key | None = None
    field: Literal["spec.loadBalancerIP"] | None = None

    @model_validator(mode="after")
    def one(self) -> RequestedIp:
        if (self.annotation is None) == (self.field is None):
            raise ValueError("give exactly one of annotation or field")
        return self


class ServiceSection(_Strict):
    """How the run's Services talk to the LB."""

    requested_ip: RequestedIp | None = None
    sharing_annotation: Key | None = None
    pool_annotation: Key | None = None
    load_balancer_class: Key | None = None
    annotations: Annotated[dict[Key, KeyValue], Field(max_length=8)] = {}
    local_annotations: Annotated[dict[Key, KeyValue], Field(max_length=8)] = {}  #: on externalTrafficPolicy: Local


class LeaseReport(_Strict):
    """A coordination.k8s.io/v1 Lease per service (or one for all): its holderIdentity names the node."""

    namespace: Annotated[str, StringConstraints(pattern=r"^([a-z0-9][a-z0-9-]{0,62}|\{service_namespace\})$")]
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9{][a-z0-9{}_.-]{0,120}$")]
    holder: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]*\{node\}[A-Za-z0-9._:/-]*$")] = "{node}"
    #: a Service annotation that names another Lease (``[namespace/]name``), as kube-vip's ``kube-vip.io/leaseName``
    name_annotation: Key | None = None

    @field_validator("name")
    @classmethod
    def name_placeholders(cls, value: str) -> str:
        return _checked(value, LEASE_PLACEHOLDERS)


class StatusObjectsReport(_Strict):
    """Labelled status objects (MetalLB's ServiceL2Status): one per announcing node and service."""

    group: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+$")]
    version: Annotated[str, StringConstraints(pattern=r"^v[0-9]+((alpha|beta)[0-9]+)?$")]
    plural: Name
    namespace: Name
    label_selector: Annotated[str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9./_=,!-]*$")] = ""
    service: Annotated[list[Path], Field(min_length=1, max_length=4)]
    service_namespace: Annotated[list[Path], Field(max_length=4)] = []
    node: Annotated[list[Path], Field(min_length=1, max_length=4)]


class ServiceAnnotationReport(_Strict):
    """An annotation on the Service naming the announcer(s), e.g. PureLB's ``node,interface,ip`` entries."""

    key: Key
    format: Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,100}$")] = "{node}"
    separator: Annotated[str, StringConstraints(min_length=1, max_length=3)] = " "
    entries: Literal["all", "last"] = "all"  #: "last": an append-only annotation, the newest entry is the owner

    @field_validator("format")
    @classmethod
    def format_placeholders(cls, value: str) -> str:
        fields = PLACEHOLDER.findall(value)
        if "node" not in fields:
            raise ValueError("needs {node}")
        _checked(value, ("node", "ip", "interface"))
        return value


class HttpReport(_Strict):
    """An HTTP endpoint of each agent pod (read through the API server's pod proxy) saying whether that node is
    active, e.g. LoxiLB's ``/netlox/v1/config/cistate/all`` → ``Attr[].state`` MASTER/BACKUP."""

    port: Annotated[int, Field(ge=1, le=65535)]
    path: Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/-]{0,200}$")]
    scheme: Literal["http", "https"] = "http"
    items: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,4}$")] | None = None
    state: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,4}$")]
    active: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(min_length=1, max_length=4)]
    match: Annotated[dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]+$")], KeyValue],
                     Field(max_length=4)] = {}


class OwnerReport(_Strict):
    """Where the LB reports the announcing node: exactly one kind."""

    lease: LeaseReport | None = None
    status_objects: StatusObjectsReport | None = None
    service_annotation: ServiceAnnotationReport | None = None
    http: HttpReport | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> OwnerReport:
        given = [k for k in OWNER_REPORT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one owner report kind, not {len(given)} ({', '.join(given) or 'none'}); "
                             f"supported kinds: {', '.join(OWNER_REPORT_KINDS)}")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in OWNER_REPORT_KINDS if getattr(self, k) is not None)


class Agent(_Strict):
    """The LB's per-node agent and how a fault keeps it off a node: ``taint`` (NoSchedule + delete: the DaemonSet
    must not tolerate it) or ``node_label`` (the run adds a node affinity on ``lbconform.io/no-agent`` at install,
    labels the node and deletes the pod; undone by removing the label): for DaemonSets that tolerate every taint."""

    kind: Literal["DaemonSet", "Deployment"] = "DaemonSet"
    namespace: Name
    name: Name
    selector: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9./_=,!-]+$")]
    container: Name | None = None
    keep_away: Literal["taint", "node_label"] = "taint"


class Kubernetes(_Strict):
    """A declarative Kubernetes L2 LB."""

    install: Install
    cluster: Cluster = Cluster()
    pool: Pool
    service: ServiceSection = ServiceSection()
    owner_report: OwnerReport
    agent: Agent


class NotSupported(_Strict):
    """A capability the LB does not have by design, with the reason and its upstream source (shown in the report)."""

    capability: str
    reason: Text
    source: Annotated[str, StringConstraints(pattern=r"^https://[A-Za-z0-9.-]+(/[^\s\x00-\x1f\x7f]{0,300})?$")]
