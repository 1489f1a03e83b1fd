"""IPv6 and dual-stack without a lab: the run's ULA prefix, the keepalived and nftables halves, the NDP records the
agent makes, the verdicts in NDP's words, and the address-family option."""

from __future__ import annotations

import dataclasses
import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_lbconform.checks import CATEGORIES, CHECKS
from pytest_lbconform.config import address_families, host_ipv6
from pytest_lbconform.errors import ConfigError
from pytest_lbconform.platforms.base import Host, Topology, vip_pool6_from_top, vip_pool_from_top
from pytest_lbconform.platforms.lab import free_ula, ula_for, v6_address
from pytest_lbconform.probes import agent, whoami
from pytest_lbconform.probes.records import ArpObservation, ArpReply
from pytest_lbconform.providers.keepalived import KeepalivedLab, lab_backends, lab_services, render_ruleset
from pytest_lbconform.providers.spec import builtin_specs
from pytest_lbconform.verdicts.arp import arp_ownership, families_on_one_node
from pytest_lbconform.verdicts.family import CATEGORY_V6, CHECK_V6, in_family, words_v6
from pytest_lbconform.verdicts.result import Verdict

SUBNET = ipaddress.IPv4Network("172.28.0.0/24")
SUBNET6 = ipaddress.IPv6Network("fd12:3456:789a::/64")
NODES = (Host("c-control-plane", "control-plane", "172.28.0.2", "02:00:00:00:00:02", "control-plane",
              v6_address(SUBNET6, SUBNET, "172.28.0.2")),
         *(Host(f"c-{s}", "worker", f"172.28.0.{i}", f"02:00:00:00:00:0{i}", s, v6_address(SUBNET6, SUBNET, f"172.28.0.{i}"))
           for i, s in ((3, "worker"), (4, "worker2"), (5, "worker3"))))
TOPO = Topology("c", "c", SUBNET, "172.28.0.1", NODES, (), vip_pool_from_top(SUBNET, 8), SUBNET6,
                vip_pool6_from_top(SUBNET6, 8))
SERVICES = lab_services(TOPO)
BACKENDS = lab_backends(TOPO, 8080)
MACS = {n.short: n.mac for n in NODES}


# -- the run's addresses -----------------------------------------------------------------------------------------
def test_each_run_gets_its_own_unique_local_64():
    first, second = ula_for("68a79b"), ula_for("2ed9c2")
    assert first.prefixlen == 64 and first.subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert first != second and ula_for("68a79b") == first  # from the run id: stable, and distinct per run
    assert free_ula("68a79b", [first]) == ula_for("68a79b", 1)  # a prefix in use is stepped past
    assert free_ula("68a79b", [ipaddress.IPv6Network("fe80::/64")]) == first


def test_hosts_read_alike_in_both_families_and_vips_sit_far_from_them():
    assert v6_address(SUBNET6, SUBNET, "172.28.0.100") == "fd12:3456:789a::100"
    assert v6_address(SUBNET6, SUBNET, "172.28.0.3") == "fd12:3456:789a::3"
    assert TOPO.vip_pool6[0] == "fd12:3456:789a::ffff:ff00" and len(set(TOPO.vip_pool6)) == 8
    assert {n.ip6 for n in NODES} <= TOPO.node_addresses and {n.ip for n in NODES} <= TOPO.node_addresses
    with pytest.raises(ValueError, match="too small"):
        vip_pool6_from_top(ipaddress.IPv6Network("fd00::/104"), 8)  # ::ffff:ff00 needs 32 bits of host id


def test_a_service_is_asked_about_in_one_family_at_a_time():
    svc = SERVICES[0]
    assert svc.address(4) == svc.vip and svc.address(6) == TOPO.vip_pool6[0]
    with pytest.raises(ValueError, match="no IPv6 address"):
        dataclasses.replace(svc, vip6=None).address(6)
    assert BACKENDS[0].address(6) == "fd12:3456:789a::3"


# -- keepalived and nftables ---------------------------------------------------------------------------------------
def provider(mutant: str | None = None) -> KeepalivedLab:
    return KeepalivedLab.planned(builtin_specs()["keepalived"], TOPO, mutant=mutant)


def test_each_ipv6_vip_has_a_vrrp_instance_of_its_own_with_the_ipv4_priorities():
    conf = provider().keepalived_conf(NODES[1])
    for svc in SERVICES:
        v4 = conf.split(f"vrrp_instance {svc.name} {{")[1].split("}\n}")[0]
        v6 = conf.split(f"vrrp_instance {svc.name}_v6 {{")[1].split("}\n}")[0]
        assert f"{svc.vip6}/128 dev eth0" in v6 and f"{svc.vip}/32 dev eth0" in v4
        assert v4.split("priority ")[1].split("\n")[0] == v6.split("priority ")[1].split("\n")[0]


def test_family_split_gives_the_ipv6_instances_the_next_services_priorities():
    lb = provider("family-split")
    for svc in SERVICES:
        assert lb.preferred_owner(dataclasses.replace(svc, vip=svc.vip6)) != lb.preferred_owner(svc)


def halves(rules: str) -> tuple[str, str]:
    """The IPv4 and the IPv6 table of a ruleset."""
    at = rules.index("table ip6 lbconform\n")
    return rules[:at], rules[at:]


def test_the_ipv6_table_mirrors_the_ipv4_one():
    v4, v6 = halves(render_ruleset(NODES[1], SERVICES, BACKENDS, "random"))
    assert "table ip lbconform {" in v4 and "ip6" not in v4
    assert f"ip6 daddr {SERVICES[0].vip6} tcp dport 80 dnat to numgen random mod 3 map {{ 0 : fd12:3456:789a::3" in v6
    assert f"ip6 daddr {SERVICES[1].vip6} tcp dport 80 dnat to [fd12:3456:789a::3]:8080" in v6  # Local: own backend
    assert "jhash ip6 saddr" in v6 and "snat to fd12:3456:789a::3" in v6
    masqueraded = v6.split("masquerade")[0].rsplit("{", 1)[1]
    assert SERVICES[1].vip6 not in masqueraded  # Local keeps the client address


def test_snat_on_local_v6_masquerades_local_over_ipv6_only():
    v4, v6 = halves(provider("snat-on-local-v6").ruleset(NODES[1], "random"))
    assert SERVICES[1].vip6 in v6.split("masquerade")[0].rsplit("{", 1)[1]
    assert SERVICES[1].vip not in v4.split("masquerade")[0].rsplit("{", 1)[1]


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed (scripts/setup installs it)")
def test_nft_accepts_both_tables(tmp_path):
    """`nft -c` checks the ruleset without loading it (as root: it needs a netlink socket)."""
    path = tmp_path / "service.nft"
    for mutant in (None, "snat-on-local-v6", "lossy"):
        path.write_text(provider(mutant).ruleset(NODES[1], "rr"))
        done = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True, check=False)
        if "Operation not permitted" in done.stderr:
            pytest.skip("nft -c needs CAP_NET_ADMIN")
        assert done.returncode == 0, done.stderr


def test_na_suppressed_drops_unsolicited_advertisements_only_and_proxy_ndp_proxies_every_ipv6_vip():
    table = provider("na-suppressed").bridge_ruleset() or ""
    assert "ip6 daddr ff02::1 icmpv6 type nd-neighbor-advert ip6 saddr {" in table
    assert all(s.vip6 in table for s in SERVICES if s.vip6)
    commands = provider("proxy-ndp").lo_commands()
    assert commands == [["ip", "-6", "neigh", "replace", "proxy", s.vip6, "dev", "eth0"] for s in SERVICES]


# -- what the agent records ---------------------------------------------------------------------------------------
def test_a_neighbor_solicitation_goes_to_the_solicited_node_group_with_hop_limit_255():
    from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import Ether

    ns = agent._solicit("fd12:3456:789a::ffff:ff00", "02:42:ac:1c:00:64", "fd12:3456:789a::100")
    assert ns[Ether].dst == "33:33:ff:ff:ff:00" and ns[IPv6].dst == "ff02::1:ffff:ff00" and ns[IPv6].hlim == 255
    assert ns[ICMPv6ND_NS].tgt == "fd12:3456:789a::ffff:ff00"
    assert ns[ICMPv6NDOptSrcLLAddr].lladdr == "02:42:ac:1c:00:64"


def advert(tgt: str, src_mac: str, lladdr: str | None, solicited: bool) -> object:
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
    from scapy.layers.l2 import Ether

    pkt = (Ether(src=src_mac, dst="33:33:00:00:00:01") / IPv6(src=tgt, dst="ff02::1")
           / ICMPv6ND_NA(tgt=tgt, R=1, S=int(solicited), O=1))
    if lladdr:
        pkt = pkt / ICMPv6NDOptDstLLAddr(lladdr=lladdr)
    pkt.time = 1000.0
    return pkt


def test_an_unsolicited_advertisement_is_recorded_like_a_gratuitous_arp():
    """Seen from keepalived on the lab: 5 NAs to ff02::1, S=0, O=1, target link-layer address its own MAC."""
    vip = "fd12:3456:789a::ffff:ff00"
    record = agent._garp_record(advert(vip, "02:42:ac:1c:00:04", "02:42:ac:1c:00:04", False), vip)
    assert record == {"t": 1000.0, "op": 136, "mac": "02:42:ac:1c:00:04", "ether_src": "02:42:ac:1c:00:04",
                      "hwdst": "33:33:00:00:00:01"}
    assert agent._garp_record(advert(vip, "02:42:ac:1c:00:04", "02:42:ac:1c:00:04", True), vip) is None  # an answer
    assert agent._garp_record(advert("fd12:3456:789a::ffff:ff01", "02:42:ac:1c:00:04", None, False), vip) is None
    spoofed = agent._garp_record(advert(vip, "02:00:00:00:be:ef", "02:42:ac:1c:00:04", False), vip)
    assert spoofed is not None and spoofed["ether_src"] != spoofed["mac"]  # the verdicts do not credit it


def test_whoami_writes_remote_addresses_as_traefik_does():
    assert whoami.remote_addr("::ffff:172.28.0.100", 40000) == "172.28.0.100:40000"
    assert whoami.remote_addr("fd12::100", 40000) == "[fd12::100]:40000"
    assert agent.parse_whoami("Hostname: w\nRemoteAddr: [fd12::100]:40000\n")["remote_ip"] == "fd12::100"


# -- verdicts in NDP's words --------------------------------------------------------------------------------------
def test_every_ipv4_category_of_a_check_with_an_ndp_form_maps_to_one_the_ipv6_check_declares():
    for v4, v6 in CHECK_V6.items():
        for category in CHECKS[v4].categories:
            assert CATEGORY_V6.get(category, category) in CHECKS[v6].categories, (v4, category)
    assert set(CATEGORY_V6.values()) <= set(CATEGORIES)
    for category in CHECKS["failback"].categories:  # failback keeps its id in both families
        assert CATEGORY_V6.get(category, category) in CHECKS["failback"].categories


def test_two_ndp_responders_are_multiple_ndp_owners_in_ndp_words():
    vip = "fd12:3456:789a::ffff:ff00"
    obs = ArpObservation(vip, (ArpReply(1.0, MACS["worker"], 0, MACS["worker"]),
                               ArpReply(1.1, "02:42:ac:1c:00:c8", 0, "02:42:ac:1c:00:c8")), 3)
    verdict = in_family(arp_ownership(obs, MACS, "worker"), 6)
    assert (verdict.check, verdict.category) == ("ndp-ownership", "multiple NDP owners")
    assert "ARP" not in verdict.expected + verdict.measured and "NDP" in verdict.expected
    assert verdict.figures["family"] == "IPv6"


def test_an_na_whose_ethernet_source_is_not_its_target_link_layer_address_is_an_na_source_mismatch():
    vip = "fd12:3456:789a::ffff:ff00"
    obs = ArpObservation(vip, (ArpReply(1.0, MACS["worker"], 0, "02:00:00:00:be:ef"),), 3)
    verdict = in_family(arp_ownership(obs, MACS, "worker"), 6)
    assert verdict.category == "NA source mismatch"
    assert "target link-layer address" in verdict.measured and "ARP sender" not in verdict.measured


def test_words_change_whole_words_only_and_ipv4_is_unchanged():
    assert words_v6("first GARP from worker2; no gratuitous ARP; arp-ownership") == (
        "first unsolicited NA from worker2; no unsolicited neighbour advertisement; arp-ownership")
    verdict = Verdict("arp-ownership", True, "exactly 1 MAC answers ARP", "1 MAC")
    assert in_family(verdict, 4) is verdict


def test_a_dual_stack_service_split_over_two_nodes_fails_and_one_node_passes():
    def seen(vip: str, *macs: str) -> ArpObservation:
        return ArpObservation(vip, tuple(ArpReply(1.0, m, 0, m) for m in macs), 3)

    split = families_on_one_node("svc1", ("worker", "worker2"), (seen("172.28.0.243", MACS["worker"]),
                                                                 seen("fd12::ff00", MACS["worker2"])), MACS)
    assert not split.passed and split.category == "families split" and "worker2" in split.measured
    whole = families_on_one_node("svc1", ("worker", "worker"), (seen("172.28.0.243", MACS["worker"]),
                                                                seen("fd12::ff00", MACS["worker"])), MACS)
    assert whole.passed
    unseen = families_on_one_node("svc1", ("worker", "worker"), (seen("172.28.0.243", MACS["worker"]),
                                                                 seen("fd12::ff00")), MACS)
    assert not unseen.passed and "no single responder" in unseen.measured


# -- the option ---------------------------------------------------------------------------------------------------
def switch(tmp_path: Path, value: str | None) -> Path:
    path = tmp_path / "disable_ipv6"
    if value is not None:
        path.write_text(value + "\n")
    return path


def test_the_lab_judges_both_families_where_the_host_has_ipv6_and_says_why_not_elsewhere(tmp_path):
    assert address_families(None, "--address-families", "lab", switch(tmp_path, "0")) == ((4, 6), "")
    families, why = address_families(None, "--address-families", "lab", switch(tmp_path, "1"))
    assert families == (4,) and "IPv6 is disabled on this host" in why
    families, why = address_families(None, "--address-families", "kind", switch(tmp_path, "0"))
    assert families == (4,) and "--address-families=4,6" in why
    assert "no IPv6" in host_ipv6(tmp_path / "absent")


@pytest.mark.parametrize("given", ["5", "4,4", "ipv6", "4;6", ",", "4,6,"])
def test_anything_but_4_6_or_both_is_one_line(tmp_path, given):
    with pytest.raises(ConfigError, match=r"accepted: 4, 6 or 4,6") as err:
        address_families(given, "--address-families", "lab", switch(tmp_path, "0"))
    assert "\n" not in str(err.value)


def test_asking_for_ipv6_on_a_host_without_it_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"asks for IPv6, but IPv6 is disabled on this host.*use --address-families=4"):
        address_families("4,6", "--address-families", "lab", switch(tmp_path, "1"))
    assert address_families("6", "LBCONFORM_ADDRESS_FAMILIES", "lab", switch(tmp_path, "0")) == (
        (6,), "LBCONFORM_ADDRESS_FAMILIES=6")


# -- the report ---------------------------------------------------------------------------------------------------
def test_the_report_shows_each_profile_per_address_family_side_by_side():
    from pytest_lbconform.checks import PROFILES
    from pytest_lbconform.report import page
    from pytest_lbconform.report.conformance import CheckResult, address_family, profile_report

    assert address_family("suites/test_failover.py::test_failover[lab-random-v6-agent-kill-svc1]") == "IPv6"
    assert address_family("suites/test_arp_ownership.py::test_exactly_one_node_answers_arp[kind-ipvs-v4-svc2]") == "IPv4"
    assert address_family("suites/test_arp_ownership.py::test_dual_stack_service_is_announced_by_one_node"
                          "[lab-rr-v4+v6]") == "IPv4+IPv6"
    assert address_family("suites/test_arp_ownership.py::test_vips_are_spread_over_nodes_as_the_provider_intends"
                          "[lab-random]") == "IPv4"
    ids = {"v4": "passed", "v6": "failed"}
    results = [CheckResult(f"suites/test_snat.py::test_local_policy_keeps_the_client_address[lab-random-{f}-mypc]",
                           "snat", outcome, profile="SERVICE-TRAFFIC", tier="core" if f == "v4" else "extended")
               for f, outcome in ids.items()]
    prof = profile_report(PROFILES["SERVICE-TRAFFIC"], results, "lab", {})
    assert prof["address_families"]["IPv4"]["result"] == "success"
    assert prof["address_families"]["IPv6"]["result"] == "failure" and prof["address_families"]["IPv6"]["failed"] == 1
    html = page._families({"profiles": [prof]})
    assert "id='address-families'" in html and "<th>IPv4</th><th>IPv6</th>" in html
    assert page._families({"profiles": [profile_report(PROFILES["SERVICE-TRAFFIC"], results[:1], "lab", {})]}) == ""


def test_the_announce_timing_bench_pairs_each_failover_check_of_both_families():
    import importlib.util

    spec = importlib.util.spec_from_file_location("announce_timing", Path(__file__).parents[1] / "bench" /
                                                  "announce_timing.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def check(family: int, announced: float | None, outage: float) -> dict[str, object]:
        return {"id": f"suites/test_failover.py::test_failover[lab-random-v{family}-node-stop-svc1]",
                "timeline": {"garp_from_new_owner_ms": announced, "neighbour_to_new_owner_ms": None,
                             "outage_ms": outage}}

    report = {"profiles": [{"checks": [check(4, 351.2, 360.0), check(6, 353.0, 358.0),
                                       {"id": "suites/test_failover.py::test_failover[lab-rr-v4-agent-kill-svc2]",
                                        "timeline": {"outage_ms": 20}}]}]}
    text = bench.table(report)
    assert "| random | node-stop | svc1 | 351 / 353 | – / – | 360 / 358 |" in text
    assert "agent-kill" not in text  # it ran in one family only
    assert "announced: median 351 ms (IPv4, n=1) vs 353 ms (IPv6, n=1)" in text
