"""The reference provider's generated keepalived.conf and nftables rulesets."""

import ipaddress

import pytest

from pytest_lbconform.platforms.base import Host, Topology, vip_pool_from_top
from pytest_lbconform.providers.keepalived import (
    lab_backends,
    lab_services,
    priority,
    render_keepalived,
    render_ruleset,
)

SUBNET = ipaddress.IPv4Network("172.28.0.0/24")
NODES = (Host("c-control-plane", "control-plane", "172.28.0.2", "02:00:00:00:00:02", "control-plane"),
         *(Host(f"c-{s}", "worker", f"172.28.0.{i}", f"02:00:00:00:00:0{i}", s)
           for i, s in ((3, "worker"), (4, "worker2"), (5, "worker3"))))
TOPO = Topology("c", "c", SUBNET, "172.28.0.1", NODES, (), vip_pool_from_top(SUBNET, 8))
SERVICES = lab_services(TOPO)
BACKENDS = lab_backends(TOPO, 8080)


def test_vip_pool_is_taken_from_the_top_of_the_subnet():
    assert TOPO.vip_pool[0] == "172.28.0.243" and TOPO.vip_pool[-1] == "172.28.0.250"


def test_each_vip_prefers_a_different_node():
    preferred = [max(range(3), key=lambda n: priority(n, s, 3)) for s in range(3)]
    assert sorted(preferred) == [0, 1, 2]


def test_keepalived_conf_is_vrrpv3_with_subsecond_adverts_and_all_backup():
    conf = render_keepalived(NODES[1], 0, SERVICES, 3, 0.1)
    assert "vrrp_version 3" in conf and conf.count("state BACKUP") == 3
    assert "advert_int 0.1" in conf and f"{SERVICES[0].vip}/32 dev eth0" in conf


@pytest.mark.parametrize(("mode", "generator"), [("random", "numgen random mod 3"), ("rr", "numgen inc mod 3")])
def test_cluster_service_spreads_over_every_backend(mode, generator):
    rules = render_ruleset(NODES[1], SERVICES, BACKENDS, mode)
    mapping = "map { 0 : 172.28.0.3, 1 : 172.28.0.4, 2 : 172.28.0.5 } : 8080"
    assert f"ip daddr {SERVICES[0].vip} tcp dport 80 dnat to {generator} {mapping}" in rules


def test_local_service_only_reaches_the_nodes_own_backend_and_is_not_masqueraded():
    rules = render_ruleset(NODES[2], SERVICES, BACKENDS, "random")
    assert f"ip daddr {SERVICES[1].vip} tcp dport 80 dnat to 172.28.0.4:8080" in rules
    masq = next(line for line in rules.splitlines() if "masquerade" in line)
    assert SERVICES[1].vip not in masq and SERVICES[0].vip in masq


def test_cluster_traffic_to_a_local_backend_is_snatted_to_the_node():
    rules = render_ruleset(NODES[1], SERVICES, BACKENDS, "random")
    assert "type nat hook input" in rules and "snat to 172.28.0.3" in rules


def test_clientip_affinity_hashes_the_source_address():
    assert "jhash ip saddr mod 3" in render_ruleset(NODES[1], SERVICES, BACKENDS, "rr")


def test_ruleset_replaces_the_table_atomically():
    assert render_ruleset(NODES[1], SERVICES, BACKENDS, "rr").startswith("table ip lbconform\ndelete table ip lbconform\n")


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="random, rr"):
        render_ruleset(NODES[1], SERVICES, BACKENDS, "ipvs")


def test_preferred_owner_is_the_highest_priority_node():
    from pytest_lbconform.providers.keepalived import KeepalivedLab
    from pytest_lbconform.providers.spec import builtin_specs

    provider = KeepalivedLab(builtin_specs()["keepalived"], None, TOPO)  # type: ignore[arg-type]
    assert [provider.preferred_owner(s) for s in SERVICES] == ["worker", "worker2", "worker3"]


def test_lossy_mutant_adds_a_refusing_endpoint_to_every_map():
    rules = render_ruleset(NODES[1], SERVICES, BACKENDS, "random", refuse_to="172.28.0.2")
    assert "numgen random mod 4 map { 0 : 172.28.0.3, 1 : 172.28.0.4, 2 : 172.28.0.5, 3 : 172.28.0.2 }" in rules
    assert "jhash ip saddr mod 4" in rules  # svc3 (ClientIP)
    assert "3 : 172.28.0.2 } : 8080" in rules.split(SERVICES[1].vip)[1].splitlines()[0]  # svc2 (Local)


def test_owner_collapse_mutant_gives_every_vip_the_same_preferred_node():
    confs = [render_keepalived(n, i, SERVICES, 3, 0.1, collapse=True) for i, n in enumerate(NODES[1:])]
    top = [max(range(3), key=lambda i: int(confs[i].split(f"vrrp_instance {s.name}")[1].split("priority ")[1].split()[0]))
           for s in SERVICES]
    assert top == [0, 0, 0]


def test_rr_drops_backend_leaves_webpod1_out_of_svc1_in_rr_mode_only():
    node = NODES[2]
    rr = render_ruleset(node, SERVICES, BACKENDS, "rr", rr_drops_first=True)
    svc1 = next(line for line in rr.splitlines() if SERVICES[0].vip in line and "dnat" in line)
    assert "numgen inc mod 2" in svc1 and BACKENDS[0].ip not in svc1 and BACKENDS[1].ip in svc1
    svc3 = next(line for line in rr.splitlines() if SERVICES[2].vip in line and "dnat" in line)
    assert BACKENDS[0].ip in svc3  # only svc1
    assert render_ruleset(node, SERVICES, BACKENDS, "random", rr_drops_first=True) == \
        render_ruleset(node, SERVICES, BACKENDS, "random")


def test_affinity_ignored_schedules_svc3_with_the_modes_scheduler():
    rules = render_ruleset(NODES[1], SERVICES, BACKENDS, "random", affinity_ignored=True)
    svc3 = next(line for line in rules.splitlines() if SERVICES[2].vip in line and "dnat" in line)
    assert "numgen random mod 3" in svc3 and "jhash" not in rules
    assert "jhash ip saddr mod 3" in render_ruleset(NODES[1], SERVICES, BACKENDS, "random")
