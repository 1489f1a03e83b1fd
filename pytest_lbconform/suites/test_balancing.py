"""Balancing: a random scheduler is uniform (χ², every backend seen), round robin cycles, Local
answers only from local backends, ClientIP affinity sticks per client."""

import pytest

from pytest_lbconform.checks import MODES
from pytest_lbconform.report.evidence import attach_burst, attach_plot, check, label
from pytest_lbconform.report.plots import affinity_chart, balancing_histogram
from pytest_lbconform.verdicts.balancing import only_backends, round_robin, sticky, uniform

UNIFORM_SAMPLES = 1200  # ≥ required_n() = 1,102: detects a 10-point skew over 3 backends at α=1e-5, power 0.99
CYCLE_SAMPLES = 30      # a random scheduler cycles perfectly over 30 with p = 3^-27


@pytest.mark.requires("balancing")
@pytest.mark.judges("balancing-uniform", "balancing-round-robin")
def test_scheduler_spreads_fresh_connections(request, lb, family):
    svc = lb.service("svc1", family)
    scheduler = MODES[lb.mode].scheduler
    backends = [b.name for b in lb.backends]
    label(request, "Balancing", f"{scheduler} scheduler", provider=lb.spec.name, mode=lb.mode, eTP="Cluster",
          family=f"IPv{family}")
    if scheduler == "random":
        burst = lb.probe("mypc").http_burst(svc.vip, n=UNIFORM_SAMPLES, concurrency=8)
        verdict = uniform(burst.samples, backends)
    else:  # one client, strictly sequential fresh connections, nothing else talking to the VIP
        burst = lb.probe("mypc").http_burst(svc.vip, n=CYCLE_SAMPLES, concurrency=1)
        verdict = round_robin(burst.samples, backends)
    attach_burst(request, lb.cfg.report_dir, f"{len(burst.samples)} connections from mypc", burst.samples)
    figures = verdict.figures
    statistic = (f"χ² = {figures['chi2']}, df = {figures['df']}, p = {figures['p_value']:.3g} (α = {figures['alpha']})"
                 if "chi2" in figures else verdict.measured)
    attach_plot(request, lb.cfg.report_dir, f"balancing {scheduler} {lb.mode} IPv{family}",
                balancing_histogram(dict(burst.counts), backends, {b: 1 / len(backends) for b in backends},
                                    f"{scheduler} scheduler, mode {lb.mode}: {len(burst.samples)} fresh connections",
                                    statistic, failed=len(burst.errors)))
    check(request, verdict, mode=lb.mode, scheduler=scheduler, family=f"IPv{family}")


@pytest.mark.requires("snat", "owner_report")
@pytest.mark.judges("balancing-local-only")
def test_local_policy_answers_only_from_local_backends(request, lb, family):
    svc = lb.service("svc2", family)
    label(request, "Balancing", "Local: local backends only", provider=lb.spec.name, mode=lb.mode, eTP="Local",
          family=f"IPv{family}")
    owner = lb.reported_owner(svc)
    local = [b.name for b in lb.backends if b.node == owner]
    burst = lb.probe("mypc").http_burst(svc.vip, n=200, concurrency=4)
    verdict = only_backends(burst.samples, local)
    attach_burst(request, lb.cfg.report_dir, f"{len(burst.samples)} connections from mypc", burst.samples)
    attach_plot(request, lb.cfg.report_dir, f"balancing Local {lb.mode} IPv{family}",
                balancing_histogram(dict(burst.counts), [b.name for b in lb.backends],
                                    {b: 1 / len(local) for b in local} if local else {},
                                    f"externalTrafficPolicy Local, owner {owner}, mode {lb.mode}: "
                                    f"{len(burst.samples)} connections", verdict.measured, failed=len(burst.errors)))
    check(request, verdict, mode=lb.mode, owner=owner, family=f"IPv{family}")


@pytest.mark.requires("affinity")
@pytest.mark.judges("affinity-sticky")
def test_clientip_affinity_sticks_per_client(request, lb, family):
    svc = lb.service("svc3", family)
    label(request, "Balancing", "ClientIP affinity", provider=lb.spec.name, mode=lb.mode, eTP="Cluster",
          family=f"IPv{family}")
    bursts = {c: lb.probe(c).http_burst(svc.vip, n=100, concurrency=4) for c in ("mypc", "mypc2")}
    verdict = sticky({c: b.samples for c, b in bursts.items()})
    for client, burst in bursts.items():
        attach_burst(request, lb.cfg.report_dir, f"{len(burst.samples)} connections from {client}", burst.samples)
    failed = sum(len(b.errors) for b in bursts.values())
    attach_plot(request, lb.cfg.report_dir, f"affinity ClientIP {lb.mode} IPv{family}",
                affinity_chart({c: dict(b.counts) for c, b in bursts.items()}, [b.name for b in lb.backends],
                               f"ClientIP affinity, mode {lb.mode}: connections per client and backend"
                               + (f" ({failed} failed)" if failed else "")))
    check(request, verdict, mode=lb.mode, family=f"IPv{family}")
