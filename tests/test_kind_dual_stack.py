"""The dual-stack kind lane for MetalLB (``--address-families=4,6``), checked without kind: the generated kind config,
the IPv6 pool derived from the ``kind`` network as Docker shows it, the MetalLB objects and Services, what the
provider reads back, and the plan.

kind cannot run on this project's machine: these are contract tests, not an end-to-end run. No Docker.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from types import SimpleNamespace

import docker
import kubernetes_validate
import pytest
import yaml

from pytest_lbconform import plan
from pytest_lbconform.config import from_options
from pytest_lbconform.errors import ConfigError, InfrastructureError
from pytest_lbconform.platforms import kind
from pytest_lbconform.platforms.base import vip_pool6_from_top
from pytest_lbconform.providers import metallb
from pytest_lbconform.providers.spec import builtin_specs
from tests.kind_stand_ins import stand_in_kind_world

NETWORK = Path(__file__).parent / "data" / "kind_network"
SPEC = builtin_specs()["metallb"]
K8S = str(SPEC.settings["kubernetes_version"])
ULA = ipaddress.IPv6Network("fc00:f853:ccd:e793::/64")


class _Engine:
    """What the kind platform asks of the engine about the ``kind`` network: ``networks.get`` (``None``: not there)."""

    def __init__(self, recorded: str | None) -> None:
        self.attrs = json.loads((NETWORK / recorded).read_text())[0] if recorded else None
        self.networks = self

    def get(self, name: str) -> SimpleNamespace:
        if self.attrs is None or name != self.attrs["Name"]:
            raise docker.errors.NotFound(f"network {name} not found")
        return SimpleNamespace(attrs=self.attrs)


# -- the kind cluster config ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", kind.KIND_MODES)
def test_a_dual_stack_lane_is_kinds_ipfamily_dual_with_kinds_ipv6_subnets_after_the_notes_ipv4_ones(mode):
    """kind's validate.go accepts two CIDRs only with ipFamily dual, and then one of each family; the first is the
    primary family, so IPv4 (the notes' subnets) stays it: node InternalIPs and the clients' addresses do not change."""
    dual, v4 = kind.cluster_config("c", mode, dual=True), kind.cluster_config("c", mode)
    networking = dual["networking"]
    assert networking["ipFamily"] == "dual"
    assert networking["podSubnet"] == "10.10.0.0/16,fd00:10:244::/56"
    assert networking["serviceSubnet"] == "10.200.1.0/24,fd00:10:96::/112"
    for key in ("podSubnet", "serviceSubnet"):
        cidrs = [ipaddress.ip_network(c) for c in networking[key].split(",")]
        assert [c.version for c in cidrs] == [4, 6]
    assert cidrs[1].prefixlen <= 112  # kind's own IPv6 service subnet default (a /112)
    assert ipaddress.ip_network(networking["podSubnet"].split(",")[1]).prefixlen <= 64 - 3  # a /64 per node, 4 nodes
    assert {k: v for k, v in networking.items() if k != "ipFamily"} | {
        "podSubnet": "10.10.0.0/16", "serviceSubnet": "10.200.1.0/24"} == v4["networking"]
    assert dual.get("kubeadmConfigPatches") == v4.get("kubeadmConfigPatches")  # ipvs keeps strictARP
    assert "ipFamily" not in v4["networking"]


def test_a_dual_stack_cluster_is_never_reused_for_an_ipv4_run_nor_the_other_way_round():
    dual, v4 = kind.cluster_config("lbc-ipvs", "ipvs", dual=True), kind.cluster_config("lbc-ipvs", "ipvs")
    assert kind.config_hash(dual) != kind.config_hash(v4)
    assert "kind delete cluster --name lbc-ipvs" in kind.reuse_verdict("lbc-ipvs", kind.config_hash(v4),
                                                                       kind.config_hash(dual))


def test_the_kind_cluster_writes_the_dual_stack_config_it_creates(tmp_path):
    calls = []

    def run(cmd, **_):
        calls.append(cmd)
        return SimpleNamespace(returncode=0, stdout="", stderr="")

    kind.KindCluster("lbc-1-nftables", "nftables", tmp_path, kind="kind", run=run, dual=True).create()
    written = yaml.safe_load((tmp_path / "kind-lbc-1-nftables.yaml").read_text())
    assert written["networking"]["ipFamily"] == "dual" and written["networking"]["kubeProxyMode"] == "nftables"
    assert calls[0][:3] == ["kind", "create", "cluster"]


@pytest.mark.parametrize(("families", "dual"), [((4,), False), ((4, 6), True), ((6,), True)])
def test_any_ipv6_family_asks_for_dual_stack_clusters(families, dual):
    assert kind.dual_stack(families) is dual


# -- the kind network's IPv6 subnet, as Docker shows it ---------------------------------------------------------------
def test_kinds_ula_for_the_kind_network_is_the_subnet_docker_shows():
    """kind derives the /64 from sha1("kind" + attempt) (network.go, generateULASubnetFromName); the recorded
    inspect shows the same subnet, so the plan's assumption before the network exists is kind's own answer."""
    recorded = json.loads((NETWORK / "inspect_kind_dual.json").read_text())[0]["IPAM"]["Config"]
    assert kind.ula_subnet("kind") == kind.DEFAULT_KIND_SUBNET6 == ULA
    assert ipaddress.ip_network(recorded[0]["Subnet"]) == ULA
    retried = kind.ula_subnet("kind", 1)
    assert retried != ULA and retried.prefixlen == 64 and retried.subnet_of(ipaddress.IPv6Network("fc00::/8"))


@pytest.mark.parametrize(("name", "attempt"), [("kind", 0), ("kind", 4), ("my-net", 0)])
def test_the_platform_and_the_kind_double_derive_the_same_ula(name, attempt):
    """The kind double (tests/kind_double, which creates the network as kind does for the Docker tests) was written
    from network.go separately: both give one subnet for every name and attempt."""
    import importlib.util

    path = Path(__file__).parent / "kind_double" / "kind_double.py"
    spec = importlib.util.spec_from_file_location("kind_double", path)
    assert spec is not None and spec.loader is not None
    double = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(double)
    assert str(kind.ula_subnet(name, attempt)) == double.ula_subnet(name, attempt)


@pytest.mark.parametrize("recorded", ["inspect_kind_dual.json", "inspect_kind_dual_v4_first.json"])
def test_both_subnets_are_read_from_the_kind_network_in_either_order(recorded):
    engine = _Engine(recorded)
    assert kind.kind_subnet6(engine) == (ULA, True)  # type: ignore[arg-type]
    assert kind.kind_subnet(engine) == (ipaddress.IPv4Network("172.18.0.0/16"), True)  # type: ignore[arg-type]


def test_before_the_kind_network_exists_the_plan_assumes_kinds_ula():
    assert kind.kind_subnet6(_Engine(None)) == (ULA, False)  # type: ignore[arg-type]
    assert kind.kind_subnet6(None) == (ULA, False)


def test_a_kind_network_without_ipv6_stops_a_dual_stack_lane_in_one_line():
    """kind makes the network IPv4-only where Docker's IPv6 fails and never changes an existing one: a dual-stack
    lane would have no IPv6 segment for its VIPs."""
    subnet6, read = kind.kind_subnet6(_Engine("inspect_kind_ipv4_only.json"))  # type: ignore[arg-type]
    assert (subnet6, read) == (None, True)
    with pytest.raises(InfrastructureError) as err:
        kind.need_subnet6(subnet6)
    message = str(err.value)
    assert "\n" not in message and "docker network rm kind" in message and "--address-families=4" in message
    assert kind.need_subnet6(ULA) == ULA


def test_nodes_carry_the_ipv6_address_docker_gave_them_on_the_kind_network():
    networks = {"kind": {"IPAddress": "172.18.0.2", "MacAddress": "FA:FB:F0:9A:B9:59",
                         "GlobalIPv6Address": "fc00:f853:ccd:e793::2", "GlobalIPv6PrefixLen": 64}}
    container = SimpleNamespace(name="myk8s-worker", labels={kind.ROLE_LABEL: "worker"},
                                attrs={"NetworkSettings": {"Networks": networks}})
    engine = SimpleNamespace(containers=SimpleNamespace(list=lambda **_: [container]))
    (node,) = kind.nodes(engine, "myk8s")  # type: ignore[arg-type]
    assert (node.ip, node.ip6, node.mac, node.short) == ("172.18.0.2", "fc00:f853:ccd:e793::2", "fa:fb:f0:9a:b9:59",
                                                         "worker")
    assert node.address(6) == "fc00:f853:ccd:e793::2"


# -- the IPv6 VIP pools ---------------------------------------------------------------------------------------------
def test_the_ipv6_pool_of_block_0_is_the_labs_anchor_on_kinds_ula():
    assert kind.vip_pool6(ULA, 51, 0) == ("fc00:f853:ccd:e793::ffff:ff00", "fc00:f853:ccd:e793::ffff:ff32")
    lab = vip_pool6_from_top(ULA, 51)
    assert (lab[0], lab[-1]) == kind.vip_pool6(ULA, 51, 0)


def test_every_slots_ipv6_pools_are_disjoint_inside_the_network_and_far_above_dockers_addresses():
    """Runs and xdist workers share the one kind network: the IPv6 block of each cluster pairs with its IPv4 block
    (the same pool_index), and no two overlap; Docker hands out ::2, ::3 … (the recorded inspect)."""
    modes = 4
    recorded = json.loads((NETWORK / "inspect_kind_dual.json").read_text())[0]["Containers"].values()
    docker_given = {int(ipaddress.IPv6Interface(c["IPv6Address"]).ip) for c in recorded}
    ranges = [tuple(int(ipaddress.IPv6Address(a)) for a in kind.vip_pool6(ULA, 51, kind.pool_index(slot, m, modes)))
              for slot in range(kind.MAX_SLOTS) for m in range(modes)]
    assert all(hi < lo2 or hi2 < lo for i, (lo, hi) in enumerate(ranges) for (lo2, hi2) in ranges[i + 1:])
    assert all(ipaddress.IPv6Address(x) in ULA for r in ranges for x in r)
    assert min(lo for lo, _ in ranges) > max(docker_given) + 0xFFFF


def test_an_ipv6_subnet_too_small_for_the_pools_is_one_line():
    with pytest.raises(ConfigError, match=r"fc00::/112 is too small for VIP pools \(a /96 or larger"):
        kind.vip_pool6(ipaddress.IPv6Network("fc00::/112"), 51)
    with pytest.raises(ConfigError, match=r"cannot hold 100000001 IPv6 VIP pools of 51"):
        kind.vip_pool6(ULA, 51, 10**8)  # a block would reach down among Docker's low host ids


# -- what MetalLB is given ------------------------------------------------------------------------------------------
def _metallb_range(entry: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    """An IPAddressPool address as MetalLB v0.16.1 parses it (``internal/config/config.go`` ``ParseCIDR``): a CIDR,
    or ``start-end`` split at the first ``-``, both addresses valid, start not after end; here both of one family."""
    if "-" not in entry:
        net = ipaddress.ip_network(entry)
        return net[0], net[-1]
    start, end = (ipaddress.ip_address(p.strip()) for p in entry.split("-", 1))
    assert start.version == end.version and start <= end, entry
    return start, end


def test_the_dual_stack_pool_holds_an_ipv4_and_an_ipv6_range_on_the_kind_network_and_one_advertisement_covers_it():
    """MetalLB allocates to a dual-stack service only from a pool with addresses of both families (usage docs, "IPv6
    and dual stack services"); the L2Advertisement names the pool, so it announces both. IPAddressPool is a CRD
    kubernetes-validate has no schema for: its addresses are checked as MetalLB parses them."""
    pool6 = kind.vip_pool6(ULA, 51)
    pool, advert = metallb.l2_objects("172.18.255.200", "172.18.255.250", SPEC, range6=pool6)
    assert pool["kind"] == "IPAddressPool" and advert["kind"] == "L2Advertisement"
    assert pool["spec"]["addresses"] == ["172.18.255.200-172.18.255.250",
                                         "fc00:f853:ccd:e793::ffff:ff00-fc00:f853:ccd:e793::ffff:ff32"]
    ranges = [_metallb_range(a) for a in pool["spec"]["addresses"]]
    assert [r[0].version for r in ranges] == [4, 6]
    assert ranges[0][0] in ipaddress.IPv4Network("172.18.0.0/16") and ranges[1][1] in ULA
    assert advert["spec"] == {"ipAddressPools": [pool["metadata"]["name"]]}  # no selector: every pool address
    assert metallb.l2_objects("172.18.255.200", "172.18.255.250", SPEC)[0]["spec"]["addresses"] == [
        "172.18.255.200-172.18.255.250"]  # an IPv4 run is as before


@pytest.mark.parametrize("svc", metallb.services(dual=True), ids=lambda s: s["metadata"]["name"])
def test_dual_stack_services_require_both_families_and_validate_strictly(svc):
    kubernetes_validate.validate(svc, K8S, strict=True)
    assert svc["spec"]["ipFamilyPolicy"] == "RequireDualStack" and svc["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    single = next(s for s in metallb.services() if s["metadata"]["name"] == svc["metadata"]["name"])
    assert {k: v for k, v in svc["spec"].items() if k not in ("ipFamilyPolicy", "ipFamilies")} == single["spec"]
    assert "ipFamilyPolicy" not in single["spec"]  # an IPv4 run's services: the cluster's default, SingleStack


def test_both_ingress_addresses_are_read_by_family_not_by_position():
    """MetalLB writes [IPv4, IPv6] for RequireDualStack (allocation.go); reading by family keeps the provider right
    whatever the order."""
    status = {"loadBalancer": {"ingress": [{"ip": "fc00:f853:ccd:e793::ffff:ff00", "ipMode": "VIP"},
                                           {"ip": "172.18.255.200", "ipMode": "VIP"}]}}
    assert metallb.ingress_ips({"status": status}) == {4: "172.18.255.200", 6: "fc00:f853:ccd:e793::ffff:ff00"}
    assert metallb.ingress_ip({"status": status}) == "fc00:f853:ccd:e793::ffff:ff00"  # the old reader: position 0
    assert metallb.ingress_ips({"status": {"loadBalancer": {}}}) == {}
    assert metallb.ingress_ips({"status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}}}) == {}


def test_a_pods_ipv6_address_is_read_from_its_pod_ips():
    """``status.podIPs`` of a dual-stack pod: one address per family, the primary (IPv4) first (Kubernetes PodStatus)."""
    pod_ips = [{"ip": "10.10.1.5"}, {"ip": "fd00:10:244:1::5"}]
    assert metallb.family_addresses(pod_ips) == {4: "10.10.1.5", 6: "fd00:10:244:1::5"}
    assert metallb.family_addresses(None) == {}


def test_each_nodes_ipv6_pod_gateway_is_a_node_address_under_cluster():
    """On a dual-stack node ``spec.podCIDRs`` has one CIDR per family; a pod sees the node's gateway of the family it
    was reached over (10.10.1.1 in the notes for IPv4)."""
    assert metallb.pod_gateway("fd00:10:244:1::/64") == "fd00:10:244:1::1"


# -- configuration and the plan -------------------------------------------------------------------------------------
def _plan(**options: object) -> str:
    return plan.render(from_options(Path("/r"), lb="metallb", plan=True, **options), None)


def test_the_plan_shows_the_dual_stack_lanes():
    text = _plan(address_families="4,6")
    assert ("# kind network IPv6 subnet: fc00:f853:ccd:e793::/64 (assumed: the ULA /64 kind derives from the name "
            "'kind', network.go; no kind network yet)") in text
    lanes = text.split("\n# ===== mode ")[1:]
    assert [lane.split(":", 1)[0] for lane in lanes] == ["iptables", "nftables", "ipvs"]
    for index, lane in enumerate(lanes):
        config = yaml.safe_load(lane.split(".yaml:\n", 1)[1].split("\n$ ", 1)[0])
        assert config["networking"]["ipFamily"] == "dual"
        assert config["networking"]["podSubnet"] == "10.10.0.0/16,fd00:10:244::/56"
        first6, last6 = kind.vip_pool6(ULA, 51, kind.pool_index(0, index, 3))
        objects = list(yaml.safe_load_all(lane.split("# MetalLB L2 objects", 1)[1].split("\n", 1)[1]
                                          .split("# backends and services", 1)[0]))
        assert objects[0]["spec"]["addresses"][1] == f"{first6}-{last6}"
        workload = [d for d in yaml.safe_load_all(lane.split("(dual-stack: an IPv4 and an IPv6 VIP each):\n", 1)[1]
                                                  .split("\n$ ", 1)[0])]
        services = [d for d in workload if d["kind"] == "Service"]
        assert len(services) == 3 and all(s["spec"]["ipFamilyPolicy"] == "RequireDualStack" for s in services)
        for doc in workload:
            kubernetes_validate.validate(doc, K8S, strict=True)


def test_the_negative_control_says_it_fails_over_ipv4_only():
    """strictARP is an IPv4 matter: over IPv6 the kernel answers NDP only for addresses on the receiving interface, so
    the kube-ipvs0 addresses are not answered by every node (net/ipv6/ndisc.c; read, not measured)."""
    lane = _plan(address_families="4,6", proxy_mode="ipvs-nostrictarp")
    assert f"# note: {kind.NOSTRICTARP_V6}" in lane and "ipv6_get_ifaddr(..., dev, 1)" in lane
    assert "fails over IPv4 only" not in _plan(proxy_mode="ipvs-nostrictarp")
    assert "fails over IPv4 only" not in _plan(address_families="4,6", proxy_mode="ipvs")


def test_the_report_states_that_the_kind_clusters_are_dual_stack(tmp_path):
    from pytest_lbconform.plugin import run_environment
    from pytest_lbconform.report.page import _header

    env = run_environment(from_options(tmp_path, lb="metallb", plan=True, address_families="4,6"))
    assert env["kind_clusters"].startswith("dual-stack: kind ipFamily dual, IPv4 primary")
    assert "kind_clusters" not in run_environment(from_options(tmp_path, lb="metallb", plan=True))
    header = _header({"implementation": {}, "environment": env})
    assert "<tr><th>kind clusters</th><td>dual-stack: kind ipFamily dual" in header


def test_an_ipv4_plan_is_unchanged_by_the_dual_stack_lane():
    text = _plan()
    assert "ipFamily" not in text and "IPv6" not in text and "RequireDualStack" not in text


def test_the_plan_reads_the_kind_networks_ipv6_subnet_or_says_the_run_would_stop():
    cfg = from_options(Path("/r"), lb="metallb", plan=True, address_families="4,6", proxy_mode="iptables")
    read = plan.render(cfg, _Engine("inspect_kind_dual_v4_first.json"))  # type: ignore[arg-type]
    assert "# kind network IPv6 subnet: fc00:f853:ccd:e793::/64 (read from docker)" in read
    stop = plan.render(cfg, _Engine("inspect_kind_ipv4_only.json"))  # type: ignore[arg-type]
    assert "# IPv6: kind network has no IPv6 subnet: the run would stop there" in stop


@pytest.mark.parametrize("lb", ["kube-vip", "cilium", "purelb", "loxilb"])
def test_ipv6_on_kind_for_a_spec_described_lb_is_refused_in_one_line(lb):
    with pytest.raises(ConfigError) as err:
        from_options(Path("/r"), lb=lb, plan=True, address_families="4,6")
    message = str(err.value)
    assert message.startswith("--address-families='4,6' asks for IPv6, but on kind only --lb=metallb has dual-stack")
    assert "use --address-families=4" in message and "\n" not in message


# -- the environment wires it together ------------------------------------------------------------------------------
@pytest.fixture
def lanes(tmp_path, monkeypatch):
    """A KindEnvironment whose kind, MetalLB, clients and slot lock are stand-ins recording what it is asked for
    (as in tests/test_kind_logs.py); the engine answers ``docker network inspect kind`` from a recorded output."""

    from pytest_lbconform.environment import KindEnvironment

    made: dict[str, list] = {"clusters": [], "providers": []}

    class Cluster:
        dual = False

        def __init__(self, name, mode, workdir, kind="kind", run=None):
            self.name, self.mode, self.workdir = name, mode, workdir
            self.kubeconfig = workdir / f"kubeconfig-{name}"
            made["clusters"].append(self)

        def create(self, image=None):
            self.config = kind.cluster_config(self.name, self.mode, dual=self.dual)

        def delete(self):
            pass

    class Provider:
        def __init__(self, *args, **kwargs):
            self.args, self.kwargs = args, kwargs
            made["providers"].append(self)

        def deploy(self):
            pass

        def version(self):
            return "v0.16.1"

    stand_in_kind_world(monkeypatch, Cluster, Provider, slot=1, ip6="fc00:f853:ccd:e793::9")

    def build(recorded: str, families: str = "4,6") -> KindEnvironment:
        e = KindEnvironment.__new__(KindEnvironment)
        e.cfg = from_options(tmp_path, lb="metallb", proxy_mode="iptables,nftables", plan=True,
                             address_families=families, report_dir=str(tmp_path / "reports"))
        e.client, e.progress, e.kind, e.run_id, e.workdir = _Engine(recorded), lambda m: None, "kind", "r1", tmp_path
        e.clusters, e.probes, e.clients, e.image, e.version, e.slot = {}, {}, (), "img", "", 0
        e.failed_modes = set()
        return e

    return build, made


def test_a_dual_stack_run_makes_dual_clusters_and_gives_metallb_the_slots_ipv6_block(lanes):
    build, made = lanes
    e = build("inspect_kind_dual.json")
    lut = e.for_mode("nftables")
    (cluster,) = made["clusters"]
    assert cluster.dual and cluster.config["networking"]["ipFamily"] == "dual"
    assert lut.topology.subnet6 == ULA and e.slot == 1
    (provider,) = made["providers"]
    block = kind.pool_index(1, 1, 2)  # slot 1, the second of two modes: the same block as the IPv4 pool's
    assert provider.args[4] == kind.vip_pool(ipaddress.IPv4Network("172.18.0.0/16"), 51, block)
    assert provider.kwargs["pool6"] == kind.vip_pool6(ULA, 51, block)


def test_an_ipv4_run_makes_ipv4_clusters_and_metallb_gets_no_ipv6_range(lanes):
    build, made = lanes
    lut = build("inspect_kind_dual.json", families="4").for_mode("iptables")
    assert not made["clusters"][0].dual and "ipFamily" not in made["clusters"][0].config["networking"]
    assert lut.topology.subnet6 is None and "pool6" not in made["providers"][0].kwargs


def test_a_dual_stack_run_on_a_kind_network_without_ipv6_stops_in_one_line_and_its_cluster_is_deleted_later(lanes):
    build, made = lanes
    e = build("inspect_kind_ipv4_only.json")
    with pytest.raises(InfrastructureError, match="has no IPv6 subnet"):
        e.for_mode("iptables")
    assert list(e.clusters) == ["iptables"] and not made["providers"]  # the teardown deletes what was made
