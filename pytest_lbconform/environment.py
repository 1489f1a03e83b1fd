"""The environment under test: a platform with a provider on it, and the probe clients.

One per session (per xdist worker). ``for_mode`` hands the suites an :class:`LBUnderTest` with the
data plane switched to that mode (lab: one nft transaction; kind: one cluster per mode).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import docker

from . import labels
from .config import RunConfig
from .errors import ConfigError
from .images import ensure_image
from .platforms.base import Host, Topology
from .platforms.lab import Lab, remove_stale
from .probes.driver import ProbeClient
from .providers.base import Backend, Service
from .providers.keepalived import KeepalivedLab
from .providers.spec import ProviderSpec


@dataclass
class LBUnderTest:
    """What a check sees: the LB in one data-plane mode, its services, nodes and clients."""

    spec: ProviderSpec
    platform: str
    mode: str
    topology: Topology
    provider: KeepalivedLab
    probes: dict[str, ProbeClient]
    lab: Lab
    cfg: RunConfig

    @property
    def id(self) -> str:
        return f"{self.platform}-{self.mode}"

    @property
    def services(self) -> tuple[Service, ...]:
        return self.provider.services

    @property
    def backends(self) -> tuple[Backend, ...]:
        return self.provider.backends

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def probe(self, client: str = "mypc") -> ProbeClient:
        return self.probes[client]

    def node(self, short: str) -> Host:
        return self.topology.node(short)

    def reported_owner(self, service: Service) -> str | None:
        return self.provider.owner(service)

    def require(self, *capabilities: str) -> None:
        """Skip (or, with --require-all, fail) unless the provider declares ``capabilities``."""
        import pytest

        missing = [c for c in capabilities if c not in self.spec.capabilities]
        if not missing:
            return
        reason = f"provider {self.spec.name} does not declare capability {', '.join(missing)}"
        if self.cfg.require_all:
            pytest.fail(f"{reason} (--require-all turns this skip into a failure)", pytrace=False)
        pytest.skip(reason)

    def budget(self, fault_kind: str) -> float:
        return self.cfg.budget(fault_kind)


class Environment:
    """Creates the lab and the provider once, and removes them at the end (unless ``keep``)."""

    def __init__(self, cfg: RunConfig, client: docker.DockerClient, progress: Callable[[str], None]) -> None:
        if cfg.platform != "lab" or cfg.lb != "keepalived":
            raise ConfigError(f"provider {cfg.lb} on platform {cfg.platform} is not implemented in this version; "
                              "available: keepalived on lab")
        self.cfg = cfg
        self.client = client
        self.progress = progress
        self.run_id = labels.new_run_id()
        self.lab: Lab | None = None
        self.provider: KeepalivedLab | None = None
        self.probes: dict[str, ProbeClient] = {}
        self.version = ""

    def setup(self) -> None:
        stale = remove_stale(self.client)
        if stale:
            self.progress(f"lbconform: removed {len(stale)} objects left by earlier, killed runs: {', '.join(stale)}")
        image = ensure_image(self.client, self.cfg.lab_image_source, self.progress)
        self.lab = Lab(self.client, image, self.run_id, progress=self.progress)
        topology = self.lab.up()
        self.provider = KeepalivedLab(self.cfg.spec, self.client, topology, self.progress, mutant=self.cfg.mutant)
        self.provider.deploy()
        self.version = self.provider.version()
        for host in topology.clients:
            probe = ProbeClient(self.client, host)
            probe.install()
            self.probes[host.short] = probe

    def for_mode(self, mode: str) -> LBUnderTest:
        assert self.lab is not None and self.lab.topology is not None and self.provider is not None
        self.provider.set_mode(mode)
        return LBUnderTest(spec=self.cfg.spec, platform=self.cfg.platform, mode=mode, topology=self.lab.topology,
                           provider=self.provider, probes=self.probes, lab=self.lab, cfg=self.cfg)

    def teardown(self) -> None:
        if self.lab is None:
            return
        if self.cfg.keep:
            self.progress(f"lbconform: --keep: lab {self.lab.cluster} left running "
                          f"(remove with: docker rm -f $(docker ps -aq -f label={labels.RUN}={self.run_id}); "
                          f"docker network rm {self.lab.cluster})")
            return
        if self.provider is not None:
            self.provider.cleanup()
        self.lab.down()
        self.lab = None
