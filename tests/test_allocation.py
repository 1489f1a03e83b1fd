"""VIP-allocation verdicts, and the allocator against a fake Kubernetes API that behaves like an IPAM."""

import ipaddress

from pytest_lbconform.providers.allocation import NAMESPACE, Allocator
from pytest_lbconform.providers.spec import builtin_specs
from pytest_lbconform.verdicts import allocation as v
from pytest_lbconform.verdicts.allocation import Allocation

POOL = ("172.18.255.200", "172.18.255.203")
SPEC = builtin_specs()["metallb"]


class FakeIPAM:
    """create/read/delete services and list events, allocating from POOL as MetalLB would."""

    def __init__(self):
        self.services, self.events = {}, {}

    def _free(self):
        used = {s["ip"] for s in self.services.values()}
        lo, hi = (int(ipaddress.IPv4Address(a)) for a in POOL)
        return [str(ipaddress.IPv4Address(i)) for i in range(lo, hi + 1) if str(ipaddress.IPv4Address(i)) not in used]

    def create_namespaced_service(self, namespace, body):
        assert namespace == NAMESPACE
        name, ann = body["metadata"]["name"], body["metadata"].get("annotations", {})
        want, key = ann.get("metallb.io/loadBalancerIPs"), ann.get("metallb.io/allow-shared-ip")
        sharer = next((s for s in self.services.values() if key and s["key"] == key), None)
        if sharer:
            ip = sharer["ip"]
        elif want:
            ip = want if want in self._free() else None
        else:
            ip = next(iter(self._free()), None)
        if ip is None:
            message = f'Failed to allocate IP for "{name}": no available IPs'
            self.events[name] = [{"reason": "AllocationFailed", "message": message}]
        self.services[name] = {"ip": ip, "key": key}

    def read_namespaced_service(self, name, namespace):
        ip = self.services[name]["ip"]
        return {"status": {"loadBalancer": {"ingress": [{"ip": ip}] if ip else []}}}

    def delete_namespaced_service(self, name, namespace):
        del self.services[name]

    def list_namespaced_event(self, namespace, field_selector=""):
        return {"items": self.events.get(field_selector.split("=")[-1], [])}


def allocator():
    return Allocator(FakeIPAM(), SPEC, budget=1.0)


def test_allocator_reads_addresses_and_reasons():
    a = allocator()
    got = [a.create(f"s{i}") for i in range(4)]
    assert v.from_pool(got, *POOL).passed and v.distinct(got).passed
    pending = a.create("s5", expect_pending=True)
    assert pending.ip is None and "no available IPs" in pending.reason
    assert v.stays_pending(pending, "pool exhausted").passed


def test_allocator_request_release_and_share():
    a = allocator()
    assert v.honoured(a.create("r", requested_ip="172.18.255.203"), "172.18.255.203").passed
    before = a.create("x")
    a.delete("x")
    assert v.released(before, a.create("y", requested_ip=before.ip)).passed
    one, two = a.create("p", sharing_key="k", port=80), a.create("q", sharing_key="k", port=8080)
    assert v.shared(one, two).passed


def test_outside_the_pool_is_pending_with_the_reason():
    got = allocator().create("o", requested_ip="172.18.0.100", expect_pending=True)
    assert v.stays_pending(got, "outside the pool").passed


def test_verdicts_fail_where_they_should():
    assert not v.from_pool([Allocation("a", "10.0.0.1")], *POOL).passed
    assert not v.distinct([Allocation("a", "172.18.255.200"), Allocation("b", "172.18.255.200")]).passed
    assert not v.honoured(Allocation("a", "172.18.255.201"), "172.18.255.200").passed
    assert not v.stays_pending(Allocation("a", "172.18.255.201"), "x").passed
    assert not v.stays_pending(Allocation("a", None, None), "x").passed  # pending but no reason given
    assert not v.released(Allocation("a", "172.18.255.200"), Allocation("b", "172.18.255.201")).passed
    assert not v.shared(Allocation("a", "172.18.255.200"), Allocation("b", None, "conflict")).passed
