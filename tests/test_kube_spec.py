"""The ``kubernetes:`` section of a provider spec (``providers/kube_model.py``): the vendor example loads, and every
bad value is one line naming the file, the key, the value and what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_lbconform.errors import ConfigError
from pytest_lbconform.providers.kube_model import SAMPLE, fill, render_pool
from pytest_lbconform.providers.spec import KUBE_L2, load_spec
from tests.conftest import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "acme-l2.yaml"

KUBE_GOOD = """\
name: mine
platforms: [kind]
modes: {kind: [iptables]}
capabilities: [arp, owner_report]
kubernetes:
  install: {version: v1.0.0, manifests: ['https://example.com/r/{version}/lb.yaml']}
  pool:
    template: |
      apiVersion: example.com/v1
      kind: Pool
      metadata: {name: p, namespace: '{namespace}'}
      spec: {range: '{pool_range}'}
  owner_report:
    lease: {namespace: lb-system, name: 'lb-{service}'}
  agent: {namespace: lb-system, name: agent, selector: app=agent}
"""


def kube_spec_text(change: str) -> str:
    """KUBE_GOOD with ``change`` (``dotted.key: YAML value``, or ``-dotted.key`` to delete) applied."""
    data = yaml.safe_load(KUBE_GOOD)
    key, _, value = change.partition(": ")
    parts = key.lstrip("-").split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if key.startswith("-"):
        node.pop(parts[-1])
    else:
        node[parts[-1]] = yaml.safe_load(value)
    return yaml.safe_dump(data, sort_keys=False)


def _with(tmp_path: Path, change: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(kube_spec_text(change))
    return path


KUBE_BAD = [
    ("kubernetes.owner_report: {bgp_table: {name: x}}",
     "unknown owner report kind 'bgp_table' at 'kubernetes.owner_report.bgp_table'; supported kinds: lease, "
     "status_objects, service_annotation, http"),
    ("kubernetes.owner_report: {}", "give exactly one owner report kind, not 0 (none); supported kinds: lease"),
    ("kubernetes.owner_report: {lease: {namespace: a, name: b}, http: {port: 1, path: /x, state: s, active: [M]}}",
     "give exactly one owner report kind, not 2 (lease, http)"),
    ("kubernetes.owner_report.lease.name: 'lb-{svc}'", "unknown placeholder {svc}; accepted: {service}, "
                                                       "{service_namespace}"),
    ("kubernetes.owner_report.lease.holder: 'pod'", "kubernetes.owner_report.lease.holder='pod' is not accepted"),
    ("kubernetes.install: {version: v1.0.0}", "says nothing to install"),
    ("kubernetes.install.version: latest", "kubernetes.install.version='latest' is not accepted"),
    ("kubernetes.install.manifests: ['http://example.com/lb.yaml']", "kubernetes.install.manifests.0="),
    ("kubernetes.install.manifests: ['https://example.com/{version.__class__}']", "kubernetes.install.manifests.0="),
    ("kubernetes.install.helm: {repo: 'https://charts.example.com', chart: lb, version: 1.0.0, release: lb, "
     "namespace: lb, values: {host: '{cluster}-control-plane', x: '{secret}'}}", "unknown placeholder {secret}"),
    ("kubernetes.install.generate: [{image: 'example.com/lb:latest', args: []}]", "kubernetes.install.generate.0.args"),
    ("kubernetes.pool.template: 'kind: Pool'", "every document needs apiVersion, kind and metadata.name"),
    ("kubernetes.pool.template: 'a: {pool_first}'", "unknown placeholder {pool_first}"),
    ("kubernetes.pool.template: 'a: [unclosed'", "not valid YAML once filled"),
    ("kubernetes.cluster: {node_sysctls: {kernel.panic: '1'}}", "kubernetes.cluster.node_sysctls.kernel.panic"),
    ("kubernetes.cluster: {node_sysctls: {net.ipv4.conf.all.arp_ignore: 1}}",
     "kubernetes.cluster.node_sysctls.net.ipv4.conf.all.arp_ignore=1 is not accepted"),
    ("kubernetes.cluster: {disable_cni: true}", "unknown key 'kubernetes.cluster.disable_cni'; did you mean "
                                                "'disable_default_cni'?"),
    ("kubernetes.service: {requested_ip: {}}", "give exactly one of annotation or field"),
    ("kubernetes.service: {requested_ip: {field: spec.clusterIP}}", "kubernetes.service.requested_ip.field="),
    ("kubernetes.service: {load_balancer_class: 'bad class'}", "kubernetes.service.load_balancer_class="),
    ("kubernetes.agent.keep_away: cordon", "kubernetes.agent.keep_away='cordon' is not accepted"),
    ("kubernetes.agent.kind: StatefulSet", "kubernetes.agent.kind='StatefulSet' is not accepted"),
    ("-kubernetes.agent", "missing key(s) kubernetes.agent"),
    ("kubernetes.owner_report: {http: {port: 11111, path: /x, state: s, active: []}}",
     "kubernetes.owner_report.http.active=[] is not accepted"),
    ("kubernetes.owner_report: {service_annotation: {key: a.io/b, format: '{ip}'}}", "needs {node}"),
    ("kubernetes.owner_report: {status_objects: {group: g.io, version: v1, plural: xs, namespace: n, service: [], "
     "node: [status.node]}}", "kubernetes.owner_report.status_objects.service=[] is not accepted"),
    ("not_supported: [{capability: arp, reason: r, source: 'https://x.io/a'}]",
     "not_supported names arp, which capabilities declares"),
    ("not_supported: [{capability: teleport, reason: r, source: 'https://x.io/a'}]", "unknown capability 'teleport'"),
    ("not_supported: [{capability: affinity, reason: r, source: 'ftp://x.io/a'}]", "not_supported.0.source="),
    ("not_supported: [{capability: affinity, reason: r}]", "missing key(s) not_supported.0.source"),
    ("reasons: {speed: fast}", "unknown capability or fault kind 'speed'"),
    ("platforms: [kind, lab]", "a kubernetes: section runs on kind or existing, not lab"),
]


@pytest.mark.parametrize(("change", "fragment"), KUBE_BAD, ids=[c[:60] for c, _ in KUBE_BAD])
def test_a_bad_kubernetes_value_is_one_line(tmp_path, change, fragment):
    path = _with(tmp_path, change)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    message = str(info.value)
    assert message.startswith(f"provider spec {path}: ") and fragment in message, message
    assert "\n" not in message


def test_the_base_spec_loads_and_is_driven_by_the_generic_provider(tmp_path):
    spec = load_spec(_with(tmp_path, "project: mine"))
    assert spec.implementation == KUBE_L2 and spec.kubernetes is not None
    assert spec.kubernetes.owner_report.kind == "lease" and spec.kubernetes.agent.keep_away == "taint"


def test_the_vendor_example_loads_with_reasons_and_not_supported_entries():
    spec = load_spec(EXAMPLE)
    assert spec.implementation == KUBE_L2 and spec.kubernetes is not None
    assert spec.kubernetes.owner_report.lease is not None
    assert spec.kubernetes.owner_report.lease.holder == "node/{node}"
    assert set(spec.budgets) <= set(spec.reasons)
    freeze = spec.unsupported("failover:node-freeze")
    assert freeze is not None and freeze.source.startswith("https://") and spec.unsupported("arp") is None


def test_pool_template_renders_objects_with_the_run_s_addresses():
    template = yaml.safe_load(KUBE_GOOD)["kubernetes"]["pool"]["template"]
    objects = render_pool(template, {**SAMPLE, "namespace": "lb-system", "pool_range": "10.0.0.1-10.0.0.9"})
    assert objects == [{"apiVersion": "example.com/v1", "kind": "Pool",
                        "metadata": {"name": "p", "namespace": "lb-system"}, "spec": {"range": "10.0.0.1-10.0.0.9"}}]


def test_fill_leaves_yaml_flow_braces_alone():
    assert fill("a: {b: {service}}", {"service": "svc1"}, ("service",)) == "a: {b: svc1}"
    with pytest.raises(ValueError, match="unknown placeholder"):
        fill("{x}", {}, ("service",))


def test_docs_provider_spec_names_every_key():
    """docs/provider-spec.md describes every key the spec model accepts (a key added to the model without a line
    there fails here)."""
    from pydantic import BaseModel

    from pytest_lbconform.providers import kube_model, spec_model

    text = (ROOT / "docs" / "provider-spec.md").read_text()
    models = [m for m in [*vars(kube_model).values(), spec_model.SpecModel, spec_model.Settings]
              if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__.startswith("pytest_lbconform")]
    missing = sorted({f"{m.__name__}.{key}" for m in models for key in m.model_fields if f"`{key}`" not in text})
    assert not missing, f"docs/provider-spec.md does not describe: {', '.join(missing)}"
