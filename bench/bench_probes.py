"""Benchmark of the measurement core on the lab, all figures from one run, side by side.

    .venv/bin/python bench/bench_probes.py [--repeat 3]

1. Fresh connections per second from one client: the KANS notes' method (a shell loop of curl
   inside the client) against ``http_burst`` (a new TCP connection per sample, 8 at a time).
2. Failover resolution: an availability recording (10 ms interval) around a node-isolate fault,
   comparing the measured VIP outage with the time the new owner's gratuitous ARP was seen.
3. Power: the sample size that detects a 10-point skew over 3 backends at the verdict's α with power
   0.99 (non-central χ², ``verdicts.balancing.required_n``), and how long ``http_burst`` takes to collect it.
Writes ``reports/bench-probes.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_lbconform import settle  # noqa: E402
from pytest_lbconform.config import from_options  # noqa: E402
from pytest_lbconform.docker_engine import connect  # noqa: E402
from pytest_lbconform.environment import LabEnvironment  # noqa: E402
from pytest_lbconform.faults import fault  # noqa: E402
from pytest_lbconform.platforms import containers  # noqa: E402
from pytest_lbconform.verdicts.balancing import DEFAULT_ALPHA, required_n  # noqa: E402
from pytest_lbconform.verdicts.failover import attribute, build_timeline  # noqa: E402


def curl_loop(lb, vip: str, n: int) -> float:
    """The notes' method: ``for i in …; do curl -s VIP; done`` inside mypc; fresh connections/s."""
    client = lb.infra.container(lb.topology.client("mypc"))
    script = f"for i in $(seq {n}); do curl -s --max-time 2 {vip} >/dev/null; done"
    start = time.perf_counter()
    containers.run(client, ["sh", "-c", script])
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="failover repetitions")
    args = parser.parse_args()
    env = LabEnvironment(from_options(ROOT, proxy_mode="random"), connect(), print)
    out: dict[str, object] = {"machine": {"cpus": __import__("os").cpu_count()}}
    try:
        env.setup()
        lb = env.for_mode("random")
        svc = lb.service("svc1")
        probe = lb.probe("mypc")
        probe.http_burst(svc.vip, n=50, concurrency=4)  # warm the neighbour entry and the backends

        classic = curl_loop(lb, svc.vip, 300)
        t = time.perf_counter()
        burst = probe.http_burst(svc.vip, n=800, concurrency=8)
        wall = time.perf_counter() - t
        n_needed = required_n()
        power_burst = probe.http_burst(svc.vip, n=n_needed, concurrency=8)
        out["rate"] = {"curl_loop_per_s": round(classic, 1), "http_burst_per_s": round(burst.rate, 1),
                       "http_burst_incl_docker_exec_per_s": round(800 / wall, 1),
                       "ratio": round(burst.rate / classic, 1), "ratio_incl_exec": round(800 / wall / classic, 1),
                       "burst_errors": len(burst.errors)}
        out["power"] = {"n_for_10pt_skew_k3_power0.99": n_needed, "alpha": DEFAULT_ALPHA,
                        "seconds_to_collect_in_client": round(power_burst.elapsed, 3),
                        "errors": len(power_burst.errors)}
        print(f"fresh connections/s from mypc: curl loop {classic:.0f}, http_burst {burst.rate:.0f} "
              f"(×{burst.rate / classic:.1f}; ×{800 / wall / classic:.1f} counting docker exec + python start)")
        print(f"power: N={n_needed} detects a 10-point skew over 3 backends (α={DEFAULT_ALPHA:g}, power 0.99); "
              f"collected in {power_burst.elapsed:.2f} s")

        runs = []
        for i in range(args.repeat):
            owner = lb.node(lb.reported_owner(svc))
            via = lb.forwarder(svc)
            with probe.availability(svc.vip, interval=0.01, timeout=0.2, duration=30.0) as rec:
                rec.wait_until(settle.baseline(), 5)  # healthy samples before the fault, for the timeline
                with fault("node-isolate", owner, lb.infra, lb.provider) as injected:
                    new_owner = lb.provider.wait_owner(svc, not_on=owner.short, budget=5)
                    rec.wait_until(settle.takeover_seen(via, new_owner, injected.at, settle.degradation_probes(0)), 10)
                final_owner = lb.provider.wait_converged()[svc.name]
                rec.wait_until(settle.failback_settled(via, final_owner, lb.node(final_owner).mac, injected.undo_started,
                                                       moved=final_owner != new_owner), 5)
                rec.end_at(time.time())
            assert rec.trace is not None
            probes = attribute(rec.trace.samples, "Cluster", lb.address_owners, {})
            # answers after the undo belong to the failback phase, not to the isolated victim
            tl = build_timeline(rec.trace, probes, fault_kind="node-isolate", fault=injected.at,
                                undo=injected.undo_started, undone=injected.undone_at, victim=owner.short,
                                new_owner=new_owner, final_owner=final_owner,
                                node_macs={n.short: n.mac for n in lb.topology.nodes}, old_dataplane_serves=False)
            diff = None if tl.outage_ms is None or tl.garp_from_new_owner is None else \
                round(tl.outage_ms - tl.ms(tl.garp_from_new_owner), 1)
            runs.append({**tl.figures(), "outage_minus_garp_ms": diff})
            print(f"node-isolate #{i + 1}: outage {tl.outage_ms} ms (restored through {new_owner}), GARP from the new "
                  f"owner at {tl.ms(tl.garp_from_new_owner)} ms, neighbour flip {tl.ms(tl.neighbour_to_new_owner)} ms, "
                  f"outage − GARP = {diff} ms, resolution {tl.resolution * 1000:.0f} ms")
            lb.provider.wait_converged()
        out["failover_node_isolate"] = runs
    finally:
        env.teardown()
    path = ROOT / "reports" / "bench-probes.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
