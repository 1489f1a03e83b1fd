"""``--plan``: what it prints is what the run would create and load, rendered by the same functions (no Docker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lbconform import plan
from pytest_lbconform.config import from_options
from pytest_lbconform.paths import SUITES
from pytest_lbconform.platforms import kind
from pytest_lbconform.providers.keepalived import KeepalivedLab
from pytest_lbconform.providers.mutants import MUTANTS


def lab_plan(mutant: str | None = None, modes: str = "random,rr") -> str:
    return plan.render(from_options(Path("/r"), plan=True, lab_mutant=mutant, proxy_mode=modes), None)


def section(text: str, worker: str) -> str:
    """The part of a lab plan about one worker."""
    return text.split(f"# ===== {worker} (")[1].split("# =====", maxsplit=1)[0]


def test_the_healthy_lab_plan_shows_every_worker_the_network_and_the_containers():
    text = lab_plan()
    for worker, ip in (("worker", "172.28.0.3"), ("worker2", "172.28.0.4"), ("worker3", "172.28.0.5")):
        part = section(text, worker)
        assert f"router_id {worker}" in part and "advert_int 0.1" in part
        assert "numgen random mod 3" in part and "numgen inc mod 3" in part and f"snat to {ip}" in part
    assert "# network lbc-<run>: bridge, the first free /24 of 172.28.0.0/14" in text
    for name in ("control-plane (control-plane) 172.28.0.2", "mypc (client) 172.28.0.100",
                 "mypc2 (client) 172.28.0.200"):
        assert f"#   lbc-<run>-{name}" in text
    assert "mutant" not in text and "table bridge" not in text and "dev lo" not in text


def test_slow_failover_is_planned_with_its_advert_interval():
    """The plan used to show the healthy advert_int 0.1 for slow-failover."""
    text = lab_plan("slow-failover")
    assert text.count("advert_int 1.0") == 9 and "advert_int 0.1" not in text
    assert "# hooks changed: advert_int=1.0" in text


@pytest.mark.parametrize(("mutant", "rule"), [
    ("garp-loss", "ether type arp arp saddr ip 172.28.0.243 arp daddr ip 172.28.0.243 drop"),
    ("silent-failback", "ether type arp ether saddr <worker MAC> arp saddr ip 172.28.0.243 arp daddr ip 172.28.0.243 drop"),
    ("ether-spoof", "ether saddr set 02:00:00:00:be:ef"),
])
def test_a_bridge_mutant_plans_its_host_bridge_table(mutant, rule):
    text = lab_plan(mutant)
    bridge = text.split(f"# ===== the host's bridge (mutant {mutant}), removed at the end =====")[1]
    assert bridge.lstrip().startswith("$ nft -f -") and "table bridge lbconform_mutant_lbc_<run> {" in bridge
    assert rule in bridge


@pytest.mark.parametrize(("mutant", "worker", "fragment"), [
    ("multi-responder", "worker2", "$ docker exec lbc-<run>-worker2 ip addr replace 172.28.0.245/32 dev lo"),
    ("skewed", "worker", "numgen random mod 4 map { 0 : 172.28.0.3, 1 : 172.28.0.3,"),
    ("snat-on-local", "worker", "{ 172.28.0.243, 172.28.0.244, 172.28.0.245 } masquerade"),
    ("lossy", "worker", "3 : 172.28.0.2 } : 8080"),
    ("no-failover", "worker2", "vrrp_instance svc2"),
])
def test_a_mutant_is_planned_with_what_it_changes(mutant, worker, fragment):
    assert fragment in section(lab_plan(mutant), worker)
    assert fragment not in section(lab_plan(), worker) or mutant == "no-failover"


def test_no_failover_plans_only_the_preferred_instances():
    text = lab_plan("no-failover")
    assert [section(text, w).count("vrrp_instance") for w in ("worker", "worker2", "worker3")] == [1, 1, 1]


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_every_mutant_plan_names_the_mutant_and_its_hooks(mutant):
    text = lab_plan(mutant, "random")
    assert text.startswith(f"# plan: lb=keepalived platform=lab modes=random mutant={mutant}\n")
    assert f"# mutant {mutant}: breaks \"{MUTANTS[mutant].promise}\"" in text and "# hooks changed: " in text


def test_the_planned_provider_reaches_no_engine():
    provider = KeepalivedLab.planned(from_options(Path("/r")).spec, _topology(), None)
    with pytest.raises(RuntimeError, match="--plan contacts no Docker engine"):
        provider.holders(provider.services[0])


def _topology():
    import ipaddress

    from pytest_lbconform.platforms.base import Host, Topology, vip_pool_from_top
    from pytest_lbconform.platforms.lab import host_layout

    subnet = ipaddress.IPv4Network("172.28.0.0/24")
    hosts = tuple(Host(n, r, ip, "?", s) for n, s, r, ip in host_layout("c", subnet))
    return Topology("c", "c", subnet, "172.28.0.1", hosts[:4], hosts[4:], vip_pool_from_top(subnet, 8))


def test_the_kind_plan_uses_the_kind_image_given():
    """--kind-image was accepted and left out of the plan."""
    text = plan.render(from_options(Path("/r"), lb="metallb", plan=True, kind_image="localhost:5000/node:dev"), None)
    assert text.count("--wait 5m --image localhost:5000/node:dev\n") == 3


def test_the_kind_plan_shows_the_three_lanes_with_their_pinned_node_images():
    """`pytest --lb=metallb --plan`: iptables, nftables and ipvs, each with the newest node image kind publishes that
    runs the mode, pinned by digest; the ipvs lane says the mode is deprecated upstream."""
    text = plan.render(from_options(Path("/r"), lb="metallb", plan=True), None)
    for mode in ("iptables", "nftables", "ipvs"):
        section = text.split(f"# ===== mode {mode}: cluster ")[1].split("# ===== mode")[0]
        image = kind.node_image(mode)
        assert f"--image {image}   # the node image built for kind {kind.KIND_VERSION}" in section
        assert f"# node image {image} (Kubernetes 1.37: the newest node image kind v0.33.0 publishes" in section
        assert ("# note: kube-proxy's IPVS mode is deprecated upstream (KEP-5495)" in section) == (mode == "ipvs")
    assert "kubeProxyMode: nftables" in text and "strictARP: true" in text


@pytest.mark.parametrize("lb", ["kube-vip", "purelb", "cilium"])
def test_a_spec_described_lb_plans_its_lanes_as_metallb_does(lb):
    """The generic provider's plan names each lane's node image and why, and its ipvs lane says the mode is
    deprecated upstream, as MetalLB's does (one renderer of the lane header for both)."""
    text = plan.render(from_options(Path("/r"), lb=lb, plan=True), None)
    sections = text.split("# ===== mode ")[1:]
    assert sections
    for section in sections:
        mode = section.split(":", 1)[0]
        image = kind.node_image(mode)
        runs = "runs without kube-proxy" if mode == "kube-proxy-replacement" else f"runs kube-proxy {mode}"
        assert f"# node image {image} (Kubernetes 1.37: the newest node image kind v0.33.0 publishes that {runs})" \
            in section
        assert ("# note: kube-proxy's IPVS mode is deprecated upstream (KEP-5495)" in section) == (mode == "ipvs")


def test_the_plan_says_which_checks_the_run_collects():
    text = plan.render(from_options(Path("/r"), plan=True), None, tests=[str(SUITES)])
    assert text.splitlines()[1] == f"# checks collected from: {SUITES} (the shipped suites)"
