"""The owner-report test data (``tests/data/owner_reports``) is what Kubernetes accepts and what upstream writes, and
the Lease-election model serves Leases of the same shape. No Docker."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest

from pytest_lbconform.providers.lease_timing import LeaseTimings
from tests.lease_model import Cluster, cilium, kube_vip

DATA = Path(__file__).parent / "data" / "owner_reports"
K8S = "1.31"  #: the schemas the suite validates its own manifests against (metallb.yaml kubernetes_version)
OBJECTS = sorted(p for p in DATA.glob("*.json") if not p.name.startswith("loxilb_"))
LOXILB = sorted(DATA.glob("loxilb_*.json"))


def _load(path: Path):
    return json.loads(path.read_text())


def _items(obj):
    return obj["items"] if obj["kind"].endswith("List") else [obj]


@pytest.mark.parametrize("path", OBJECTS, ids=lambda p: p.stem)
def test_every_kubernetes_object_validates_strictly(path):
    for obj in _items(_load(path)):
        kubernetes_validate.validate(obj, K8S, strict=True)


def test_every_file_is_described_in_the_readme():
    readme = (DATA / "README.md").read_text()
    assert [p.name for p in [*OBJECTS, *LOXILB] if f"`{p.name}`" not in readme] == []


@pytest.mark.parametrize("path", LOXILB, ids=lambda p: p.stem)
def test_loxilb_cistate_documents_follow_the_swagger_definition(path):
    """loxilb v0.9.8.8 api/swagger.yml: {Attr: [CIStatusGetEntry]}, ``sync`` required, the rest strings."""
    doc = _load(path)
    assert set(doc) == {"Attr"}
    for entry in doc["Attr"]:
        assert "sync" in entry and isinstance(entry["sync"], int)
        assert set(entry) <= {"instance", "state", "vip", "sync"}
        assert entry["state"] in ("MASTER", "BACKUP")


def test_lease_names_follow_the_upstream_patterns():
    assert _load(DATA / "kube-vip_lease_per_service.json")["metadata"]["name"] == "kubevip-svc1"
    cilium_lease = _load(DATA / "cilium_lease.json")["metadata"]
    assert (cilium_lease["namespace"], cilium_lease["name"]) == ("kube-system", "cilium-l2announce-lbc-run-svc1")
    for released in ("kube-vip_lease_released.json", "cilium_lease_released.json"):
        spec = _load(DATA / released)["spec"]
        assert (spec["holderIdentity"], spec["leaseDurationSeconds"]) == ("", 1)
    names = [i["metadata"]["name"] for i in _load(DATA / "purelb_node_leases.json")["items"]]
    assert all(n == "purelb-node-" + i["spec"]["holderIdentity"] for n, i in
               zip(names, _load(DATA / "purelb_node_leases.json")["items"], strict=True))


def test_purelb_announcing_entries_are_node_iface_ip_triples():
    for name in ("purelb_service_announcing.json", "purelb_service_announcing_after_takeover.json"):
        value = _load(DATA / name)["metadata"]["annotations"]["purelb.io/announcing-IPv4"]
        assert all(len(entry.split(",")) == 3 for entry in value.split(" "))


@pytest.mark.parametrize("flavor", [kube_vip(LeaseTimings(5, 3, 1)), cilium(LeaseTimings(3, 1, 0.2))],
                         ids=["kube-vip", "cilium"])
def test_the_model_serves_leases_shaped_like_the_data(flavor):
    c = Cluster(flavor, namespace="lbc-run")
    ns, name = c.lease_key(c.services[0])
    served = c.lease_json(ns, name)
    data = _load(DATA / ("kube-vip_lease_per_service.json" if flavor.name == "kube-vip" else "cilium_lease.json"))
    assert served is not None
    assert (served["metadata"]["namespace"], served["metadata"]["name"]) == \
        (data["metadata"]["namespace"], data["metadata"]["name"])
    assert set(served["spec"]) == set(data["spec"])
    kubernetes_validate.validate(served, K8S, strict=True)


# -- the built-in specs' readers on the upstream-shaped objects ----------------------------------------------------
def test_the_lease_reader_with_the_kube_vip_and_cilium_specs_names_the_holder():
    from pytest_lbconform.providers.owner_readers import lease
    from pytest_lbconform.providers.spec import builtin_specs

    specs = builtin_specs()
    for name, held, released in (("kube-vip", "kube-vip_lease_per_service.json", "kube-vip_lease_released.json"),
                                 ("cilium", "cilium_lease.json", "cilium_lease_released.json")):
        report = specs[name].kubernetes.owner_report.lease  # type: ignore[union-attr]
        assert report is not None
        service = {"metadata": {"name": "svc1", "namespace": "lbc-run"}}
        data = _load(DATA / held)
        assert lease.lease_key(report, service) == (data["metadata"]["namespace"], data["metadata"]["name"])
        assert lease.holders(data, report).nodes == (data["spec"]["holderIdentity"],)
        assert lease.holders(_load(DATA / released), report).nodes == ()
    kube_vip = specs["kube-vip"].kubernetes.owner_report.lease  # type: ignore[union-attr]
    renamed = {"metadata": {"name": "svc1", "namespace": "lbc-run", "annotations": {"kube-vip.io/leaseName": "shared"}}}
    assert lease.lease_key(kube_vip, renamed) == ("lbc-run", "shared")   # kube-vip.io/leaseName


def test_the_purelb_spec_reads_the_newest_entry_of_its_append_only_annotation():
    from pytest_lbconform.providers.owner_readers import service_annotation
    from pytest_lbconform.providers.spec import builtin_specs

    report = builtin_specs()["purelb"].kubernetes.owner_report.service_annotation  # type: ignore[union-attr]
    assert report is not None
    vip = "172.18.255.200"
    assert service_annotation.holders(_load(DATA / "purelb_service_announcing.json"), report, vip).nodes == \
        ("myk8s-worker",)
    after = service_annotation.holders(_load(DATA / "purelb_service_announcing_after_takeover.json"), report, vip)
    assert after.nodes == ("myk8s-worker2",)
