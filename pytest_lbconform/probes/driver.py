"""Host side of the probes: copies the agent into a client, runs it, returns typed records."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from base64 import b64decode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from ..errors import InfrastructureError
from ..platforms import containers
from ..platforms.base import Host
from .records import ArpObservation, ArpReply, AvailabilityTrace, Burst, GarpFrame, NeighbourEntry, Sample
from .session import AgentSession

AGENT_SOURCE = Path(__file__).with_name("agent.py")
AGENT_PATH = "/opt/lbconform/agent.py"
CALL_MARGIN_S = 60.0  #: beyond what a probe takes by its own arguments: a busy machine, a slow first scapy import


class ProbeClient:
    """Probes from one client container (``mypc``, ``mypc2``)."""

    def __init__(self, client: docker.DockerClient, host: Host) -> None:
        self.docker = client
        self.host = host
        self.container = client.containers.get(host.name)
        self.session = AgentSession(client, self.container, ["python3", AGENT_PATH, "serve"])

    def install(self) -> None:
        """Copy the agent into the client, start its session and confirm it runs there (scapy loads, eth0 has
        the client's MAC)."""
        containers.put_file(self.container, AGENT_PATH, AGENT_SOURCE.read_text())
        try:
            info = self._call("selftest")
        except InfrastructureError as exc:
            raise InfrastructureError(f"the probe agent does not run in {self.host.name}: {exc}") from exc
        if info.get("mac") != self.host.mac.lower():
            raise InfrastructureError(f"the probe agent in {self.host.name} sees eth0 as {info.get('mac')}, "
                                      f"but Docker gave the client {self.host.mac}")

    def close(self) -> None:
        """End the agent's session (the client may be gone already)."""
        self.session.close()

    def _call(self, command: str, **kwargs: Any) -> dict[str, Any]:
        """``command`` in the client's agent session; its budget: what the command may take, plus a margin."""
        took = (float(kwargs.get("window", 0)) * int(kwargs.get("count", 1)) + int(kwargs.get("n", 0))
                * float(kwargs.get("timeout", 0)) / max(1, int(kwargs.get("concurrency", 1))))
        return self.session.call(command, kwargs, budget=CALL_MARGIN_S + took)

    def arp_responders(self, vip: str, window: float = 1.0, count: int = 3) -> ArpObservation:
        """Every MAC that answers a broadcast who-has for ``vip``, over ``count`` requests."""
        return _observation(self._call("arp", vip=vip, window=window, count=count))

    def arp_responders_many(self, vips: list[str], window: float = 0.3, count: int = 3) -> dict[str, ArpObservation]:
        """:meth:`arp_responders` for several VIPs in one burst: each round asks for every VIP at once."""
        raw = self._call("arp_many", vips=vips, window=window, count=count)
        return {vip: _observation(obs) for vip, obs in raw["by_vip"].items()}

    def garp_capture(self, vip: str, window: float) -> tuple[tuple[GarpFrame, ...], bytes]:
        """Gratuitous ARP frames for ``vip`` seen during ``window`` seconds, and their pcap."""
        raw = self._call("garp", vip=vip, window=window)
        frames = tuple(GarpFrame(t=f["t"], op=f["op"], mac=f["mac"], ether_src=f.get("ether_src")) for f in raw["frames"])
        return frames, b64decode(raw["pcap"]) if raw["pcap"] else b""

    def neighbour(self, vip: str) -> NeighbourEntry:
        raw = self._call("neighbour", vip=vip)
        return NeighbourEntry(t=0.0, mac=raw["mac"], state=raw["state"])

    def http_burst(self, vip: str, port: int = 80, n: int = 800, concurrency: int = 8, timeout: float = 2.0) -> Burst:
        """``n`` requests, each over a new TCP connection."""
        raw = self._call("http_burst", vip=vip, port=port, n=n, concurrency=concurrency, timeout=timeout)
        return Burst(samples=tuple(Sample.from_json(s) for s in raw["samples"]), elapsed=raw["elapsed"],
                     client_ip=self.host.ip)

    @contextmanager
    def availability(self, vip: str, port: int = 80, interval: float = 0.01, timeout: float = 0.2,
                     duration: float = 4.0, ready_timeout: float = 30.0) -> Iterator[AvailabilityRecorder]:
        """Record availability while the ``with`` body runs (it starts once the probes run).

        The recording lasts ``duration`` seconds from its start; leaving the block waits for it.
        """
        stop_file = f"/tmp/lbconform-availability-{uuid.uuid4().hex}.stop"
        recorder = AvailabilityRecorder(self, vip, dict(port=port, interval=interval, timeout=timeout, duration=duration,
                                                        stop_file=stop_file))
        recorder.start(ready_timeout)
        try:
            yield recorder
        except BaseException:
            with contextlib.suppress(Exception):  # the client may be gone; the join below reports it
                recorder.end_at(time.time())  # the body failed: stop recording now, not after its duration
            raise
        finally:
            recorder.join(duration + ready_timeout)


def _observation(raw: dict[str, Any]) -> ArpObservation:
    replies = tuple(ArpReply(t=r["t"], mac=r["mac"], attempt=r["attempt"], ether_src=r.get("ether_src"))
                    for r in raw["replies"])
    return ArpObservation(vip=raw["vip"], replies=replies, requests=raw["requests"], pcap=b64decode(raw["pcap"]))


@dataclass
class Live:
    """What a running recording has seen so far (the agent prints each event as it happens): finished probes,
    gratuitous ARP frames, changes of the client's neighbour entry. Conditions read it under the recorder's lock."""

    samples: list[Sample] = field(default_factory=list)
    garps: list[GarpFrame] = field(default_factory=list)
    neighbour: list[NeighbourEntry] = field(default_factory=list)

    def add(self, line: str) -> None:
        kind, _, rest = line.partition(" ")
        fields = rest.split()
        if kind == "P" and len(fields) == 4:
            self.samples.append(Sample(t=float(fields[0]), ok=fields[1] == "1", remote=_none(fields[2]),
                                       backend=_none(fields[3])))
        elif kind == "G" and len(fields) == 4:
            self.garps.append(GarpFrame(t=float(fields[0]), op=int(fields[1]), mac=fields[2], ether_src=fields[3]))
        elif kind == "N" and len(fields) == 2:
            self.neighbour.append(NeighbourEntry(t=float(fields[0]), mac=_none(fields[1])))


def _none(field_: str) -> str | None:
    return None if field_ == "-" else field_


class AvailabilityRecorder:
    """A running ``availability`` probe; ``trace`` is filled when it has finished. While it runs, :meth:`wait_until`
    waits on a condition over what it has seen so far (:class:`Live`)."""

    def __init__(self, probe: ProbeClient, vip: str, args: dict[str, Any]) -> None:
        self.probe, self.vip, self.args = probe, vip, args
        self.ready = threading.Event()
        self.started_at = 0.0
        self.trace: AvailabilityTrace | None = None
        self.events: dict[str, float] = {}
        self.live = Live()
        self._seen = threading.Condition()  #: guards ``live``; notified whenever events arrive or the recording ends
        self._finished = False
        self._record = ""  #: the final JSON line
        self._error: BaseException | None = None
        self._held = threading.Event()  #: never set: hold_until waits on it with a timeout
        self._thread = threading.Thread(target=self._run, daemon=True)

    def wait_until(self, condition: Callable[[Live], bool], budget: float) -> bool:
        """Wait until ``condition`` holds over what the recording has seen, at most ``budget`` seconds; False when
        the budget ran out or the recording ended first (the verdicts then judge what was recorded)."""
        with self._seen:
            return self._seen.wait_for(lambda: self._finished or condition(self.live), timeout=max(0.0, budget)) \
                and condition(self.live)

    def wait(self) -> AvailabilityTrace:
        """Block until the recording has finished (e.g. while a fault is still applied)."""
        return self.join(float(self.args["duration"]) + 30)

    def end_at(self, t: float) -> None:
        """End the recording at ``t`` (host clock = container clock) instead of after its full duration."""
        containers.put_file(self.probe.container, str(self.args["stop_file"]), f"{t}\n")

    def hold_until(self, t: float) -> None:
        """Keep the scenario as it is until ``t`` (a fault's planned duration, not a wait for a condition)."""
        self._held.wait(max(0.0, t - time.time()))

    def mark(self, name: str, t: float) -> None:
        """Put a host-side event (fault injected, fault undone) on the trace's time line."""
        self.events[name] = t

    def start(self, ready_timeout: float) -> None:
        self._thread.start()
        if not self.ready.wait(ready_timeout):
            raise InfrastructureError(f"availability probe in {self.probe.host.name} not ready in {ready_timeout}s")
        if self._error is not None:
            raise InfrastructureError(f"availability probe failed to start: {self._error}")

    def join(self, timeout: float) -> AvailabilityTrace:
        self._thread.join(timeout)
        if self._error is not None:
            raise InfrastructureError(f"availability probe in {self.probe.host.name} failed: {self._error}")
        if self.trace is None:
            raise InfrastructureError(f"availability probe in {self.probe.host.name} did not finish in {timeout}s")
        return self.trace

    def _run(self) -> None:
        api = self.probe.docker.api
        try:
            exec_id = api.exec_create(self.probe.container.id, ["python3", AGENT_PATH, "availability",
                                                                json.dumps({"vip": self.vip, **self.args})])
            buffer = b""
            for out, _err in api.exec_start(exec_id["Id"], stream=True, demux=True):
                if not out:
                    continue
                buffer += out
                *lines, buffer = buffer.split(b"\n")
                with self._seen:
                    for line in lines:
                        self._on_line(line.decode(errors="replace"))
                    self._seen.notify_all()
            raw = json.loads(self._record or buffer.strip().splitlines()[-1])
            self.trace = AvailabilityTrace(
                vip=self.vip, interval=raw["interval"], timeout=raw["timeout"], start=raw["start"], end=raw["end"],
                samples=tuple(Sample.from_json(s) for s in raw["samples"]),
                garps=tuple(GarpFrame(t=g["t"], op=g["op"], mac=g["mac"], ether_src=g.get("ether_src"))
                            for g in raw["garps"]),
                neighbour=tuple(NeighbourEntry(t=n["t"], mac=n["mac"]) for n in raw["neighbour"]),
                events=self.events, garp_pcap=b64decode(raw["garp_pcap"]) if raw.get("garp_pcap") else b"",
            )
        except Exception as exc:
            self._error = exc
        finally:
            self.ready.set()
            with self._seen:
                self._finished = True
                self._seen.notify_all()

    def _on_line(self, line: str) -> None:
        if line.startswith("READY "):
            self.started_at = float(line.split()[1])
            self.ready.set()
        elif line.startswith("{"):  # the final record (the last line)
            self._record = line
        else:
            self.live.add(line)
