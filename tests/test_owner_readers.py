"""The owner-report readers on objects shaped after each LB's own source (files cited per test, from
docs research ``providers.md``; values made up where the source only gives the shape)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pytest_lbconform.providers import metallb
from pytest_lbconform.providers.kube_model import (
    HttpReport,
    LeaseReport,
    ServiceAnnotationReport,
    StatusObjectsReport,
)
from pytest_lbconform.providers.owner_readers import http, lease, service_annotation, status_objects, value_at

DATA = Path(__file__).parent / "data"
NOW = dt.datetime(2026, 12, 6, 20, 0, 10, tzinfo=dt.UTC)


def _service(name: str = "svc1", namespace: str = "default", annotations: dict[str, str] | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}}}


def _lease(name: str, namespace: str, holder: str | None, renew: str = "2026-12-06T20:00:05.000000Z") -> dict:
    # coordination.k8s.io/v1 Lease as client-go leader election writes it (LeaseSpec: holderIdentity,
    # leaseDurationSeconds, acquireTime, renewTime, leaseTransitions)
    spec = {"leaseDurationSeconds": 15, "acquireTime": "2026-12-06T19:59:00.000000Z", "renewTime": renew,
            "leaseTransitions": 1}
    if holder is not None:
        spec["holderIdentity"] = holder
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


# -- Lease --------------------------------------------------------------------------------------------------------
KUBE_VIP = LeaseReport(namespace="{service_namespace}", name="kubevip-{service}",
                       name_annotation="kube-vip.io/leaseName")
CILIUM = LeaseReport(namespace="kube-system", name="cilium-l2announce-{service_namespace}-{service}")


def test_kube_vip_per_service_lease_is_in_the_service_namespace():
    # kube-vip pkg/lease/lease.go ServiceName(): fmt.Sprintf("kubevip-%s", service.Name); Identity = node name
    # (pkg/election/election.go runKubernetesLeaderElectionOrDie)
    assert lease.lease_key(KUBE_VIP, _service("svc2", "lbconform-abc")) == ("lbconform-abc", "kubevip-svc2")
    found = lease.holders(_lease("kubevip-svc2", "lbconform-abc", "kind-worker2"), KUBE_VIP, NOW)
    assert found.nodes == ("kind-worker2",) and found.node == "kind-worker2" and found.note == ""


def test_kube_vip_lease_name_annotation_overrides_the_pattern():
    # kube-vip pkg/services/processor.go: kube-vip.io/leaseName = [<ns>/]<name>
    svc = _service(annotations={"kube-vip.io/leaseName": "shared/one-lease"})
    assert lease.lease_key(KUBE_VIP, svc) == ("shared", "one-lease")
    svc = _service(annotations={"kube-vip.io/leaseName": "one-lease"})
    assert lease.lease_key(KUBE_VIP, svc) == ("default", "one-lease")


def test_cilium_lease_is_in_kube_system_named_after_namespace_and_service():
    # cilium pkg/l2announcer/l2announcer.go: leasePrefix "cilium-l2announce", Name "%s-%s-%s" (prefix, ns, name),
    # Identity l2a.localNode.Name, namespace DaemonConfig.K8sNamespace
    assert lease.lease_key(CILIUM, _service("svc3", "default")) == ("kube-system", "cilium-l2announce-default-svc3")
    found = lease.holders(_lease("cilium-l2announce-default-svc3", "kube-system", "kind-worker3"), CILIUM, NOW)
    assert found.nodes == ("kind-worker3",)


def test_an_expired_lease_still_names_its_holder_and_says_so():
    old = _lease("kubevip-svc1", "default", "kind-worker", renew="2026-12-06T19:59:40.123456789Z")
    found = lease.holders(old, KUBE_VIP, NOW)
    assert found.nodes == ("kind-worker",) and "expired" in found.note


def test_no_lease_or_no_holder_is_no_owner():
    assert lease.holders(None, CILIUM).nodes == ()
    released = lease.holders(_lease("kubevip-svc1", "default", None), KUBE_VIP, NOW)
    assert released.nodes == () and "no holder" in released.note


def test_a_holder_pattern_maps_the_identity_to_the_node():
    report = LeaseReport(namespace="acme-system", name="acme-{service}", holder="node/{node}")
    assert lease.holders(_lease("acme-svc1", "acme-system", "node/kind-worker"), report).nodes == ("kind-worker",)
    other = lease.holders(_lease("acme-svc1", "acme-system", "pod/xyz"), report)
    assert other.nodes == () and "does not match" in other.note


# -- status objects (MetalLB ServiceL2Status) ---------------------------------------------------------------------
METALLB = StatusObjectsReport(group="metallb.io", version="v1beta1", plural="servicel2statuses",
                              namespace="metallb-system", service=["status.serviceName", "label:metallb.io/service-name"],
                              service_namespace=["status.serviceNamespace", "label:metallb.io/service-namespace"],
                              node=["label:metallb.io/node", "status.node"])


def test_servicel2status_of_the_kans_notes_reads_as_the_metallb_reader_does():
    items = json.loads((DATA / "kans_servicel2status.json").read_text())["items"]
    found = status_objects.by_service(items, METALLB)
    assert {s: h.nodes for s, h in found.items()} == {"svc1": ("myk8s-worker",), "svc2": ("myk8s-worker",),
                                                     "svc3": ("myk8s-worker3",)}
    legacy = metallb.owners_from_l2status(items)
    assert {s: h.nodes for s, h in found.items()} == {s: a.nodes for s, a in legacy.items()}


def test_servicel2status_label_wins_over_an_immutable_status_node():
    # metallb#2930 (fixed by #2938, v0.16.0): an older speaker reused the object and could not change status.node
    items = json.loads((DATA / "kind_api" / "l2status_old_release_moved.json").read_text())["items"]
    found = status_objects.by_service(items, METALLB)
    legacy = metallb.owners_from_l2status(items)
    assert {s: h.nodes for s, h in found.items()} == {s: a.nodes for s, a in legacy.items()}
    assert any("used" in h.note for h in found.values())


def test_servicel2status_of_excluded_nodes_and_other_namespaces_is_left_out():
    items = json.loads((DATA / "kans_servicel2status.json").read_text())["items"]
    found = status_objects.by_service(items, METALLB, exclude={"myk8s-worker3"})
    assert found["svc3"].nodes == () and "left out" in found["svc3"].note
    assert status_objects.by_service(items, METALLB, namespace="elsewhere") == {}


# -- Service annotation (PureLB) ----------------------------------------------------------------------------------
PURELB = ServiceAnnotationReport(key="purelb.io/announcing-IPv4", format="{node},{interface},{ip}")


def test_purelb_announcing_annotation_names_the_node_for_the_vip():
    # purelb pkg/apis/purelb/v2/annotations.go AnnounceAnnotation; internal/local/announcer_local.go writes
    # "node,interface,ip" entries separated by spaces
    svc = _service(annotations={"purelb.io/announcing-IPv4": "kind-worker2,eth0,172.18.255.201"})
    assert service_annotation.holders(svc, PURELB, "172.18.255.201").nodes == ("kind-worker2",)
    assert service_annotation.holders(svc, PURELB, "172.18.255.9").nodes == ()


def test_purelb_append_only_annotation_lists_both_nodes_unless_the_newest_counts():
    # v0.16.6: a new winner appends its entry and the old one stays (fixed after it, commit bc10b11d)
    value = "kind-worker,eth0,172.18.255.200 kind-worker3,eth0,172.18.255.200"
    svc = _service(annotations={"purelb.io/announcing-IPv4": value})
    assert service_annotation.holders(svc, PURELB, "172.18.255.200").nodes == ("kind-worker", "kind-worker3")
    newest = PURELB.model_copy(update={"entries": "last"})
    assert service_annotation.holders(svc, newest, "172.18.255.200").nodes == ("kind-worker3",)


def test_kube_vip_viphost_annotation_is_the_node_itself():
    # kube-vip pkg/services/services.go updateStatus writes kube-vip.io/vipHost = the node's name
    report = ServiceAnnotationReport(key="kube-vip.io/vipHost")
    assert service_annotation.holders(_service(annotations={"kube-vip.io/vipHost": "kind-worker"}), report).nodes == (
        "kind-worker",)
    missing = service_annotation.holders(_service(), report)
    assert missing.nodes == () and "no annotation" in missing.note


def test_an_entry_in_another_form_is_left_out_and_said():
    svc = _service(annotations={"purelb.io/announcing-IPv4": "garbage kind-worker,eth0,172.18.255.200"})
    found = service_annotation.holders(svc, PURELB, "172.18.255.200")
    assert found.nodes == ("kind-worker",) and "garbage" in found.note


# -- HTTP (LoxiLB cistate) ----------------------------------------------------------------------------------------
LOXILB = HttpReport(port=11111, path="/netlox/v1/config/cistate/all", items="Attr", state="state", active=["MASTER"],
                    match={"instance": "llb-inst0"})


def _cistate(state: str, instance: str = "llb-inst0") -> dict:
    # loxilb api/swagger.yml /config/cistate/all → CIStatusGetEntry {instance, state, vip, sync}
    return {"Attr": [{"instance": instance, "state": state, "vip": "0.0.0.0", "sync": 0}]}


def test_loxilb_master_is_the_holder():
    answers = {"kind-worker": _cistate("BACKUP"), "kind-worker2": _cistate("MASTER"), "kind-worker3": _cistate("BACKUP")}
    assert http.holders(answers, LOXILB).nodes == ("kind-worker2",)


def test_loxilb_two_masters_are_both_reported_and_silent_agents_noted():
    # loxilb PR #1127: a cold restart of both loxilbs briefly gives two MASTERs
    answers = {"kind-worker": _cistate("MASTER"), "kind-worker2": _cistate("MASTER"), "kind-worker3": None}
    found = http.holders(answers, LOXILB)
    assert found.nodes == ("kind-worker", "kind-worker2") and "no answer from kind-worker3" in found.note


def test_loxilb_other_instances_do_not_count():
    assert not http.active(_cistate("MASTER", instance="llb-inst1"), LOXILB)
    assert http.active({"state": "MASTER"}, HttpReport(port=1, path="/s", state="state", active=["MASTER"]))
    assert not http.active("not json object", LOXILB)


def test_value_at_reads_labels_annotations_and_fields():
    obj = {"metadata": {"labels": {"a/b": "1"}, "annotations": {"c": "2"}}, "status": {"node": "n"}}
    assert (value_at(obj, "label:a/b"), value_at(obj, "annotation:c"), value_at(obj, "status.node"),
            value_at(obj, "status.node.x")) == ("1", "2", "n", None)


def test_the_builtin_metallb_spec_s_owner_report_reads_as_the_metallb_reader():
    """metallb.yaml's kubernetes.owner_report (status_objects) says what providers/metallb.py reads in Python."""
    from pytest_lbconform.providers.spec import builtin_specs

    spec = builtin_specs()["metallb"]
    assert spec.kubernetes is not None and spec.kubernetes.owner_report.status_objects == METALLB
    for name in ("kans_servicel2status.json", "kind_api/l2status_old_release_moved.json",
                 "kind_api/l2status_dangling_victim.json"):
        items = json.loads((DATA / name).read_text())["items"]
        found = status_objects.by_service(items, METALLB, exclude={"myk8s-worker"})
        legacy = metallb.owners_from_l2status(items, exclude={"myk8s-worker"})
        assert {s: h.nodes for s, h in found.items() if h.nodes} == {s: a.nodes for s, a in legacy.items()}, name
