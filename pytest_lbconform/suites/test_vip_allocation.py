"""VIP allocation through the Kubernetes API: addresses come from the configured pool, are unique,
honour a requested IP, refuse one outside the pool with a reason, are released and reusable, leave
a service pending when the pool is exhausted, and are shared under a sharing key.

The lab has no Kubernetes API: there these skip ("provider keepalived does not declare capability ipam")."""

import contextlib
import ipaddress
import itertools

import pytest

from pytest_lbconform.report.evidence import check, check_all, label
from pytest_lbconform.verdicts import allocation as v

pytestmark = pytest.mark.requires("ipam")
_names = itertools.count(1)


@pytest.fixture
def alloc(request, lb):
    """The provider's allocator; every service a check creates is deleted afterwards."""
    allocator = lb.provider.allocator
    created: list[str] = []

    class Allocations:
        """``alloc(**spec)`` creates a service; ``alloc.delete(name)``; ``alloc.pool`` is the VIP pool."""

        pool = lb.provider.pool
        delete = staticmethod(allocator.delete)

        @staticmethod
        def free() -> str:
            """An address of the pool no service holds (the top; on a cluster of yours the highest one free)."""
            return str(lb.provider.free_address() if hasattr(lb.provider, "free_address") else lb.provider.pool[1])

        @staticmethod
        def used() -> int:
            """How many addresses of the pool services hold before the check (on a cluster of yours, its own too)."""
            if hasattr(lb.provider, "used_addresses"):
                first, last = (ipaddress.IPv4Address(a) for a in lb.provider.pool)
                return sum(first <= ipaddress.IPv4Address(a) <= last for a in lb.provider.used_addresses())
            return len(lb.services)

        def __call__(self, **kwargs):
            name = f"alloc{next(_names)}"
            created.append(name)
            return allocator.create(name, **kwargs)

    label(request, "VIP allocation", request.node.originalname, provider=lb.spec.name, mode=lb.mode)
    yield Allocations()
    for name in created:
        with contextlib.suppress(Exception):  # a check may have deleted it already
            allocator.delete(name)


@pytest.mark.judges("vip-from-pool", "vip-distinct")
def test_addresses_come_from_the_pool_and_are_distinct(request, lb, alloc):
    allocations = [alloc() for _ in range(3)]
    check_all(request, [v.from_pool(allocations, *alloc.pool), v.distinct(allocations)], mode=lb.mode)


@pytest.mark.judges("vip-requested")
def test_a_requested_address_is_honoured(request, lb, alloc):
    requested = alloc.free()  # the top of the pool, or the highest address no service of your cluster holds
    check(request, v.honoured(alloc(requested_ip=requested), requested), mode=lb.mode)


@pytest.mark.requires("ipam_pool_only")  # kube-vip and LoxiLB accept any requested address by design
@pytest.mark.judges("vip-pending")
def test_a_request_outside_the_pool_stays_pending_with_a_reason(request, lb, alloc):
    # on the segment, never in the pool: a client's address, or a node's where the run has no client
    outside = lb.topology.client("mypc").ip if lb.topology.clients else lb.topology.nodes[0].ip
    check(request, v.stays_pending(alloc(requested_ip=outside, expect_pending=True), "outside the pool"), mode=lb.mode)


@pytest.mark.judges("vip-released")
def test_a_deleted_services_address_is_released_and_reusable(request, lb, alloc):
    before = alloc()
    alloc.delete(before.service)
    after = alloc(requested_ip=before.ip)
    check(request, v.released(before, after), mode=lb.mode)


@pytest.mark.disturbs("it fills the address pool: a service of yours created meanwhile would stay pending")
@pytest.mark.judges("vip-pending")
def test_an_exhausted_pool_leaves_the_next_service_pending(request, lb, alloc):
    first, last = alloc.pool
    size = int(ipaddress.IPv4Address(last)) - int(ipaddress.IPv4Address(first)) + 1
    free = size - alloc.used()
    filled = [alloc() for _ in range(free)]
    assert all(a.ip for a in filled), f"could not fill the pool: {[a for a in filled if not a.ip][:3]}"
    check(request, v.stays_pending(alloc(expect_pending=True), "pool exhausted"), mode=lb.mode)


@pytest.mark.requires("ipam_sharing")
@pytest.mark.judges("vip-shared")
def test_a_sharing_key_puts_two_ports_on_one_address(request, lb, alloc):
    first = alloc(sharing_key="lbconform-shared", port=80)
    second = alloc(sharing_key="lbconform-shared", port=8080)
    check(request, v.shared(first, second), mode=lb.mode)
