"""A complete certification report built from data, through the same code a run uses: the verdict functions on
recorded or synthetic observations, ``evidence.record``/``attach_*``/``record_timeline`` on a stand-in for the
test's request, ``conformance.from_report`` on a stand-in for pytest's report, ``conformance.build`` and
``conformance.write``. No Docker: the failover check is the trace recorded on the lab
(``tests/data/lab_rr_node_stop_trace.json``, node-stop of svc1's owner, 0.5 s of baseline) extended by a synthetic
failback; ARP replies, bursts and GARP frames are synthetic, shaped like the lab's (keepalived on the reference lab).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapWriter

from pytest_lbconform import checks
from pytest_lbconform.faults import FAULT_KINDS
from pytest_lbconform.platforms.base import Host
from pytest_lbconform.probes.records import ArpObservation, ArpReply, AvailabilityTrace, GarpFrame, NeighbourEntry, Sample
from pytest_lbconform.report import conformance, evidence
from pytest_lbconform.report.plots import ProbePoint, affinity_chart, balancing_histogram, csv_rows, failover_timeline
from pytest_lbconform.verdicts import arp, balancing, failover, snat

TRACE = Path(__file__).parent / "data" / "lab_rr_node_stop_trace.json"
SUITES = "pytest_lbconform/suites"
NODES = {"control-plane": ("172.28.0.2", "02:42:ac:1c:00:02"), "worker": ("172.28.0.3", "02:42:ac:1c:00:03"),
         "worker2": ("172.28.0.4", "02:42:ac:1c:00:04"), "worker3": ("172.28.0.5", "02:42:ac:1c:00:05")}
MACS = {n: mac for n, (_, mac) in NODES.items()}
NODE_IPS = [ip for ip, _ in NODES.values()]
CLIENTS = {"mypc": "172.28.0.100", "mypc2": "172.28.0.200"}
VIPS = {"svc1": ("172.28.0.243", "worker"), "svc2": ("172.28.0.242", "worker2"), "svc3": ("172.28.0.241", "worker3")}
BACKENDS = {"webpod1": "worker", "webpod2": "worker2", "webpod3": "worker3"}
MODE = "random"
BUDGET = 1.5
IMPLEMENTATION = {"project": "keepalived (VRRPv3) + nftables — pytest-lbconform reference LB", "provider": "keepalived",
                  "version": "Keepalived v2.2.7 (01/16,2022)", "organization": "pytest-lbconform",
                  "url": "https://www.keepalived.org/",
                  "contact": ["pytest-lbconform maintainers (the project's issue tracker)"], "spec": "built-in"}
CAPABILITIES = ["affinity", "arp", "balancing", "failover:agent-kill", "failover:node-isolate", "failover:node-stop",
                "garp", "owner_report", "snat", "spread_owners"]


class Check:
    """A stand-in for one suite test: its request (evidence goes to ``report_dir``) and its pytest report."""

    def __init__(self, report_dir: Path, test: str, judges: tuple[str, ...]) -> None:
        self.report_dir = report_dir
        self.nodeid = f"{SUITES}/{test}"
        primary = checks.CHECKS[judges[0]]
        meta = {"checks": list(judges), "profile": primary.profile, "tier": primary.tier, "capabilities": [],
                "missing": [], "applies": checks.profile_applies(primary.profile, "lab")}
        self.request = SimpleNamespace(node=SimpleNamespace(nodeid=self.nodeid, user_properties=[(evidence.META, meta)]))

    def result(self, skipped: str = "") -> conformance.CheckResult:
        failed = any(not v["passed"] for k, v in self.request.node.user_properties if k == evidence.PROPERTY)
        report = SimpleNamespace(nodeid=self.nodeid, when="call" if not skipped else "setup", passed=not (failed or skipped),
                                 failed=failed, skipped=bool(skipped), duration=1.0,
                                 longrepr=("file", 1, f"Skipped: {skipped}") if skipped else None,
                                 longreprtext="", user_properties=self.request.node.user_properties)
        result = conformance.from_report(report)
        assert result is not None
        return result


def pcap(frames: list[tuple[float, str, str, int, str, str]]) -> bytes:
    """``(t, ether src, ether dst, op, sender MAC, sender IP / target IP)`` frames as a pcap."""
    buf = io.BytesIO()
    writer = PcapWriter(buf, sync=True)
    for t, src, dst, op, hwsrc, ips in frames:
        psrc, pdst = ips.split("/")
        packet = Ether(src=src, dst=dst) / ARP(op=op, hwsrc=hwsrc, psrc=psrc, pdst=pdst)
        packet.time = t
        writer.write(packet)
    writer.flush()
    return buf.getvalue()


def who_has(vip: str, owner: str, client: str = "mypc", t: float = 1_000.0) -> ArpObservation:
    mac, cmac = MACS[owner], "02:42:ac:1c:00:64"
    replies = tuple(ArpReply(t + 0.001 + i * 0.2, mac, i, mac) for i in range(3))
    frames = [(t + i * 0.2, cmac, "ff:ff:ff:ff:ff:ff", 1, cmac, f"{CLIENTS[client]}/{vip}") for i in range(3)]
    frames += [(r.t, mac, cmac, 2, mac, f"{vip}/{CLIENTS[client]}") for r in replies]
    return ArpObservation(vip, replies, 3, pcap(sorted(frames)))


def burst(client: str, n: int, backends: list[str], remote: str | None = None, start: float = 2_000.0) -> list[Sample]:
    return [Sample(start + i * 0.004, True, backends[i % len(backends)], remote or NODE_IPS[1 + i % 3],
                   0.0011 + i % 5 * 1e-4, None, 40_000 + i) for i in range(n)]


@contextmanager
def judged(report_dir: Path, results: list[conformance.CheckResult], test: str, *judges: str) -> Iterator[Check]:
    check = Check(report_dir, test, judges)
    yield check
    results.append(check.result())


def arp_checks(report_dir: Path, results: list[conformance.CheckResult]) -> None:
    for svc, (vip, owner) in VIPS.items():
        with judged(report_dir, results, f"test_arp_ownership.py::test_exactly_one_node_answers_arp[lab-{MODE}-{svc}]",
                    "arp-ownership") as c:
            obs = who_has(vip, owner)
            evidence.attach_pcap(c.request, report_dir, f"arp who-has {vip}", obs.pcap)
            evidence.record(c.request, arp.arp_ownership(obs, MACS, owner), service=svc, mode=MODE)
    with judged(report_dir, results, f"test_arp_ownership.py::test_every_service_has_its_own_single_owner[lab-{MODE}]",
                "arp-ownership") as c:
        for svc, (vip, owner) in VIPS.items():
            obs = who_has(vip, owner, "mypc2")
            evidence.attach_pcap(c.request, report_dir, f"arp who-has {vip} ({svc})", obs.pcap)
            evidence.record(c.request, arp.arp_ownership(obs, MACS, owner), mode=MODE,
                            owners={s: o for s, (_, o) in VIPS.items()})
    with judged(report_dir, results, f"test_arp_ownership.py::test_vips_are_spread_over_nodes_as_the_provider_intends"
                                     f"[lab-{MODE}]", "owner-spread") as c:
        intended = {svc: owner for svc, (_, owner) in VIPS.items()}
        for svc, (vip, owner) in VIPS.items():
            evidence.attach_pcap(c.request, report_dir, f"arp who-has {vip} ({svc})", who_has(vip, owner, "mypc2").pcap)
        evidence.attach_file(c.request, report_dir, "owners: intended, reported, on the wire.json", evidence.json_text(
            {svc: {"vip": vip, "intended": o, "reported": o, "on the wire": o} for svc, (vip, o) in VIPS.items()}))
        evidence.record(c.request, arp.owners_as_intended(intended, intended, intended), mode=MODE)
    with judged(report_dir, results, f"test_arp_ownership.py::test_reannouncement_sends_gratuitous_arp[lab-{MODE}]",
                "garp-on-announcement") as c:
        vip, stopped = 3_000.0, 3_000.0
        frames = [GarpFrame(stopped + 0.112 + i * 0.001, 1, MACS["worker2"], MACS["worker2"]) for i in range(5)]
        frames += [GarpFrame(stopped + 2.61 + i * 0.001, 1, MACS["worker"], MACS["worker"]) for i in range(5)]
        hosts = {n: Host(f"lbc-x-{n}", "worker", ip, mac, n) for n, (ip, mac) in NODES.items()}
        verdict = arp.garp_after(frames, [(hosts["worker2"], stopped), (hosts["worker"], stopped + 2.5)], VIPS["svc1"][0])
        evidence.record_timeline(c.request, {"t0": "the agent was stopped", "garp_frames": garp_rows(
            frames, stopped, {"worker2": stopped, "worker": stopped + 2.5})})
        evidence.attach_file(c.request, report_dir, "gratuitous ARP frames.pcap", pcap(
            [(f.t, f.mac, "ff:ff:ff:ff:ff:ff", f.op, f.mac, f"{VIPS['svc1'][0]}/{VIPS['svc1'][0]}") for f in frames]))
        evidence.record(c.request, verdict, mode=MODE, moved_to="worker2", back_to="worker")
        del vip


def garp_rows(frames: list[GarpFrame], t0: float, since: dict[str, float]) -> list[dict[str, Any]]:
    by_mac = {mac: n for n, mac in MACS.items()}
    rows = []
    for f in frames:
        node = by_mac.get(f.mac)
        credited = node in since and f.t >= since[node]
        rows.append({"t_ms": round((f.t - t0) * 1000, 1), "op": {1: "request", 2: "reply"}[f.op],
                     "arp_sender_mac": f.mac, "ether_src": f.ether_src, "node": node, "credited": credited,
                     "why": f"from {node}, after it took the VIP over" if credited else "before it took the VIP over"})
    return rows


def failover_trace() -> tuple[AvailabilityTrace, dict[str, Any]]:
    """The recorded node-stop trace, extended by a synthetic undo at +1.0 s after its end and a failback."""
    raw = json.loads(TRACE.read_text())
    samples = [Sample(**s) for s in raw["samples"]]
    undo = raw["end"] + 0.5
    end = undo + 2.0
    samples += [Sample(raw["end"] + i * 0.01, True, "webpod1", NODE_IPS[2], 0.0011 + i % 5 * 2e-4) for i in range(50)]
    samples += [Sample(undo + i * 0.01, True, "webpod1", NODE_IPS[1 if i > 40 else 2], 0.0009 + i % 7 * 1e-4)
                for i in range(200)]
    garps = [GarpFrame(**g) for g in raw["garps"]] + [GarpFrame(undo + 0.38, 1, MACS["worker"], MACS["worker"])]
    neighbour = [NeighbourEntry(**n) for n in raw["neighbour"]] + [NeighbourEntry(undo + 0.39, MACS["worker"])]
    trace = AvailabilityTrace("172.28.0.243", raw["interval"], raw["timeout"], raw["start"], end, tuple(samples),
                              tuple(garps), tuple(neighbour))
    return trace, {**raw, "undo": undo}


def failover_checks(report_dir: Path, results: list[conformance.CheckResult]) -> None:
    trace, raw = failover_trace()
    fault, undo = raw["fault"], raw["undo"]
    owners = {ip: n for n, (ip, _) in NODES.items()}
    with judged(report_dir, results, f"test_failover.py::test_failover[lab-{MODE}-node-stop-svc1]", "failover-budget",
                "failover-degradation", "failback", "garp-on-takeover", "arp-ownership") as c:
        probes = failover.attribute(trace.samples, "Cluster", owners, BACKENDS)
        tl = failover.build_timeline(trace, probes, fault_kind="node-stop", fault=fault, undo=undo, victim="worker",
                                     new_owner="worker2", final_owner="worker", node_macs=MACS, old_dataplane_serves=False)
        figures = tl.figures()
        since = {"worker2": fault, "worker": undo}
        evidence.record_timeline(c.request, {**figures, "garp_frames": garp_rows(list(trace.garps), fault, since)})
        evidence.attach_file(c.request, report_dir, "failover timeline (ms relative to the fault).json",
                             evidence.json_text(figures))
        points = [ProbePoint(round(p.t - fault, 4), p.ok, p.via, None if s.latency is None else s.latency * 1000, p.error)
                  for p, s in zip(probes, sorted(trace.samples, key=lambda s: s.t), strict=True)]
        marks = {"GARP from the new owner": figures["garp_from_new_owner_ms"], "neighbour entry flips":
                 figures["neighbour_to_new_owner_ms"], "first answer via the new owner": figures["first_via_new_ms"],
                 "undo": figures["undo_ms"], "failback: first answer via the final owner": figures["first_via_final_ms"]}
        evidence.attach_plot(c.request, report_dir, f"failover timeline node-stop svc1 {MODE}", failover_timeline(
            points, {k: None if v is None else v / 1000 for k, v in marks.items()}, BUDGET,
            f"node-stop on worker, svc1 (Cluster), mode {MODE}: outage {figures['outage_ms']} ms, budget {BUDGET:g} s",
            timeout_ms=200), csv_rows(points))
        evidence.attach_file(c.request, report_dir, "gratuitous ARP frames.pcap", pcap(
            [(g.t, g.ether_src or g.mac, "ff:ff:ff:ff:ff:ff", g.op, g.mac, "172.28.0.243/172.28.0.243")
             for g in trace.garps]))
        during, after = who_has("172.28.0.243", "worker2", t=fault + 0.6), who_has("172.28.0.243", "worker", t=undo + 1)
        evidence.attach_pcap(c.request, report_dir, "arp during the fault", during.pcap, fault, "the fault")
        evidence.attach_pcap(c.request, report_dir, "arp after the failback", after.pcap, fault, "the fault")
        verdicts = [failover.within_budget(tl, BUDGET),
                    failover.degradation(tl, 1 / 3, "the victim's endpoints stay in the service map"),
                    failover.garp_from_new_owner(tl), arp.arp_ownership(during, MACS, "worker2"),
                    failover.failback(tl, BUDGET), arp.arp_ownership(after, MACS, "worker")]
        for v in verdicts:
            evidence.record(c.request, v, fault="node-stop", service="svc1", mode=MODE, victim="worker",
                            new_owner="worker2", final_owner="worker")
    for kind in ("agent-crash", "node-freeze", "peer-partition"):
        for svc in ("svc1", "svc2"):
            c = Check(report_dir, f"test_failover.py::test_failover[lab-{MODE}-{kind}-{svc}]", ("failover-budget",))
            c.request.node.user_properties[0][1]["tier"] = checks.EXTENDED
            results.append(c.result(skipped=f"provider keepalived does not declare capability failover:{kind} "
                                            f"({checks.CAPABILITIES[f'failover:{kind}'].meaning}): extended feature "
                                            "not supported"))
    assert set(FAULT_KINDS) >= {"agent-crash", "node-freeze", "peer-partition"}


def traffic_checks(report_dir: Path, results: list[conformance.CheckResult]) -> None:
    for client, ip in CLIENTS.items():
        with judged(report_dir, results, f"test_snat.py::test_cluster_policy_snats_to_a_node_address[lab-{MODE}-{client}]",
                    "snat-cluster") as c:
            samples = burst(client, 120, list(BACKENDS))
            evidence.attach_burst(c.request, report_dir, f"120 connections from {client}", samples)
            evidence.record(c.request, snat.cluster_snat(samples, ip, NODE_IPS), client=client, mode=MODE)
        with judged(report_dir, results, f"test_snat.py::test_local_policy_keeps_the_client_address[lab-{MODE}-{client}]",
                    "snat-local") as c:
            samples = burst(client, 120, ["webpod2"], remote=ip)
            evidence.attach_burst(c.request, report_dir, f"120 connections from {client}", samples)
            evidence.record(c.request, snat.local_preserves_client(samples, ip, NODE_IPS, {"webpod2"}), client=client,
                            mode=MODE, owner="worker2")
    with judged(report_dir, results, f"test_balancing.py::test_local_policy_answers_only_from_local_backends[lab-{MODE}]",
                "balancing-local-only") as c:
        samples = burst("mypc", 200, ["webpod2"], remote=CLIENTS["mypc"])
        evidence.attach_burst(c.request, report_dir, "200 connections from mypc", samples)
        verdict = balancing.only_backends(samples, ["webpod2"])
        evidence.attach_plot(c.request, report_dir, f"balancing Local {MODE}", balancing_histogram(
            {"webpod2": 200}, list(BACKENDS), {"webpod2": 1.0}, f"externalTrafficPolicy Local, owner worker2, mode {MODE}: "
            "200 connections", verdict.measured))
        evidence.record(c.request, verdict, mode=MODE, owner="worker2")
    with judged(report_dir, results, f"test_balancing.py::test_scheduler_spreads_fresh_connections[lab-{MODE}]",
                "balancing-uniform", "balancing-round-robin") as c:
        samples = [Sample(4_000 + i * 0.001, True, b, NODE_IPS[1]) for i, b in enumerate(
            ["webpod1"] * 297 + ["webpod2"] * 310 + ["webpod3"] * 293)]
        verdict = balancing.uniform(samples, list(BACKENDS))
        evidence.attach_burst(c.request, report_dir, "900 connections from mypc", samples)
        f = verdict.figures
        evidence.attach_plot(c.request, report_dir, f"balancing random {MODE}", balancing_histogram(
            f["counts"], list(BACKENDS), dict.fromkeys(BACKENDS, 1 / 3), f"random scheduler, mode {MODE}: 900 fresh "
            "connections", f"χ² = {f['chi2']}, df = {f['df']}, p = {f['p_value']:.3g} (α = {f['alpha']})"))
        evidence.record(c.request, verdict, mode=MODE, scheduler="random")
    with judged(report_dir, results, f"test_balancing.py::test_clientip_affinity_sticks_per_client[lab-{MODE}]",
                "affinity-sticky") as c:
        by_client = {"mypc": burst("mypc", 100, ["webpod1"]), "mypc2": burst("mypc2", 100, ["webpod1"])}
        for client, samples in by_client.items():
            evidence.attach_burst(c.request, report_dir, f"100 connections from {client}", samples)
        verdict = balancing.sticky(by_client)
        evidence.attach_plot(c.request, report_dir, f"affinity ClientIP {MODE}", affinity_chart(
            {"mypc": {"webpod1": 100}, "mypc2": {"webpod1": 100}}, list(BACKENDS),
            f"ClientIP affinity, mode {MODE}: connections per client and backend"))
        evidence.record(c.request, verdict, mode=MODE)


def allocation_checks(report_dir: Path, results: list[conformance.CheckResult]) -> None:
    for test, check_id in (("test_addresses_come_from_the_pool_and_are_distinct", "vip-from-pool"),
                           ("test_a_requested_address_is_honoured", "vip-requested"),
                           ("test_a_sharing_key_puts_two_ports_on_one_address", "vip-shared")):
        c = Check(report_dir, f"test_vip_allocation.py::{test}[lab-{MODE}]", (check_id,))
        results.append(c.result(skipped=f"profile SERVICE-API does not apply on platform lab: "
                                        f"{checks.PROFILES['SERVICE-API'].not_applicable}"))


def build(report_dir: Path) -> dict[str, Any]:
    """Every family's checks, written with ``conformance.write`` into ``report_dir``; returns the report."""
    results: list[conformance.CheckResult] = []
    arp_checks(report_dir, results)
    failover_checks(report_dir, results)
    traffic_checks(report_dir, results)
    allocation_checks(report_dir, results)
    budgets = {"unit": "s", "used": dict.fromkeys(("agent-kill", "agent-crash", "node-isolate", "node-stop", "node-freeze"),
                                                  BUDGET), "spec": {}, "overridden": {}}
    report = conformance.build(results, IMPLEMENTATION, {"platform": "lab", "modes": MODE}, budgets=budgets,
                               capabilities=CAPABILITIES)
    conformance.write(report_dir, report)
    return report
