"""Probes that run inside a client container (python3 + scapy there) and print JSON.

    python3 agent.py arp          '{"vip": "…", "window": 1.0, "count": 3}'
    python3 agent.py arp_many     '{"vips": ["…", "…"], "window": 0.3, "count": 3}'
    python3 agent.py garp         '{"vip": "…", "window": 6.0}'
    python3 agent.py neighbour    '{"vip": "…"}'
    python3 agent.py http_burst   '{"vip": "…", "port": 80, "n": 800, "concurrency": 8}'
    python3 agent.py availability '{"vip": "…", "port": 80, "interval": 0.01, "timeout": 0.2, "duration": 4}'
    python3 agent.py selftest     '{}'
    python3 agent.py serve        (requests as JSON lines on stdin: probes/session.py)

Every timestamp is ``time.time()``: containers share the host kernel's clock, so the host can
place its own events (fault injection) on the same time line. The last line printed is the JSON
result; ``availability`` prints ``READY <t>`` first, once its instruments are running, then one line per
event as it happens (see its docstring).
This file is copied into the client; it imports nothing from the package.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

IFACE = "eth0"
BROADCAST = "ff:ff:ff:ff:ff:ff"


# -- HTTP ---------------------------------------------------------------------------------------
def parse_whoami(text: str) -> dict[str, str]:
    """``Hostname`` and ``RemoteAddr`` (ip and port) from a traefik/whoami answer."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in ("Hostname", "RemoteAddr") and key not in out:
            out[key] = value.strip()
    if "RemoteAddr" in out:
        ip, _, port = out["RemoteAddr"].rpartition(":")
        out["remote_ip"], out["remote_port"] = ip.strip("[]"), port
    return out


def http_once(vip: str, port: int, timeout: float) -> dict[str, Any]:
    """One sample over a new TCP connection (HTTP/1.0): backend, the source it saw, latency, error."""
    start = time.time()
    sample: dict[str, Any] = {"t": start, "ok": False, "backend": None, "remote": None, "latency": None,
                              "error": None, "sport": None}
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((vip, port), timeout=timeout) as sock:
            sample["sport"] = sock.getsockname()[1]
            host = f"[{vip}]" if ":" in vip else vip
            sock.sendall(f"GET / HTTP/1.0\r\nHost: {host}\r\nUser-Agent: lbconform\r\n\r\n".encode())
            chunks = []
            while True:
                left = deadline - time.monotonic()
                if left > 0:
                    sock.settimeout(left)
                    data = sock.recv(65536)
                else:  # awake only past the deadline (a busy machine): what had arrived counts, nothing more is awaited
                    data = _read_arrived(sock)
                if not data:
                    break
                chunks.append(data)
        raw = b"".join(chunks).decode(errors="replace")
        head, _, body = raw.partition("\r\n\r\n")
        status = head.split(" ", 2)[1] if head.startswith("HTTP/") else "?"
        info = parse_whoami(body)
        sample.update(backend=info.get("Hostname"), remote=info.get("remote_ip"),
                      ok=status == "200" and "Hostname" in info)
        if not sample["ok"]:
            sample["error"] = f"status {status}"
    except (OSError, TimeoutError) as exc:
        sample["error"] = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
    sample["latency"] = time.time() - start
    return sample


def _read_arrived(sock: socket.socket) -> bytes:
    """What the kernel already holds for ``sock`` (b"" at its end), without waiting: a probe thread that was not
    scheduled until after its deadline must not call an answer that arrived meanwhile a timeout (the answer is then
    counted, with the latency the thread saw); anything still missing is a timeout."""
    sock.setblocking(False)
    try:
        return sock.recv(65536)
    except BlockingIOError:
        raise TimeoutError("read timed out") from None


def http_burst(vip: str, port: int = 80, n: int = 800, concurrency: int = 8, timeout: float = 2.0) -> dict[str, Any]:
    """``n`` samples, each a fresh connection, ``concurrency`` at a time (1 = strictly sequential)."""
    t0 = time.time()
    if concurrency <= 1:
        samples = [http_once(vip, port, timeout) for _ in range(n)]
    else:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            samples = list(pool.map(lambda _: http_once(vip, port, timeout), range(n)))
    return {"samples": samples, "elapsed": time.time() - t0}


# -- ARP ----------------------------------------------------------------------------------------
def _pcap_b64(packets: list[Any]) -> str:
    from scapy.utils import wrpcap

    with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
        wrpcap(tmp.name, packets)
        return base64.b64encode(open(tmp.name, "rb").read()).decode()


def arp(vip: str, window: float = 1.0, count: int = 3) -> dict[str, Any]:
    """Broadcast who-has ``vip`` ``count`` times and keep every reply (not just the first)."""
    by_vip: dict[str, dict[str, Any]] = arp_many([vip], window, count)["by_vip"]
    return by_vip[vip]


def arp_many(vips: list[str], window: float = 1.0, count: int = 3) -> dict[str, Any]:
    """Broadcast who-has for every IPv4 VIP of ``vips`` at once, ``count`` rounds of ``window`` seconds each, and keep
    every reply per VIP (not just the first): one burst serves every ARP check of a topology. IPv6 VIPs are asked
    with Neighbor Solicitations (:func:`ndp_many`) at the same time."""
    v4, v6 = [v for v in vips if ":" not in v], [v for v in vips if ":" in v]
    if not v6:
        return _arp_many(v4, window, count)
    if not v4:
        return ndp_many(v6, window, count)
    with ThreadPoolExecutor(max_workers=2) as pool:
        arp_done, ndp_done = pool.submit(_arp_many, v4, window, count), pool.submit(ndp_many, v6, window, count)
        return {"by_vip": {**arp_done.result()["by_vip"], **ndp_done.result()["by_vip"]}}


def _arp_many(vips: list[str], window: float, count: int) -> dict[str, Any]:
    from scapy.config import conf
    from scapy.layers.l2 import ARP, Ether
    from scapy.sendrecv import srp

    conf.verb = 0
    replies: dict[str, list[dict[str, Any]]] = {vip: [] for vip in vips}
    packets: dict[str, list[Any]] = {vip: [] for vip in vips}
    for attempt in range(count):
        requests = [Ether(dst=BROADCAST) / ARP(pdst=vip) for vip in vips]
        answered, _ = srp(requests, iface=IFACE, timeout=window, multi=True, retry=0, filter="arp")
        for request in requests:
            packets[request[ARP].pdst].append(request)
        for sent, reply in answered:
            vip = sent[ARP].pdst
            packets[vip].append(reply)
            replies[vip].append({"t": float(reply.time), "attempt": attempt, "mac": reply[ARP].hwsrc.lower(),
                                 "ether_src": reply[Ether].src.lower(), "psrc": reply[ARP].psrc})
    return {"by_vip": {vip: {"vip": vip, "replies": replies[vip], "macs": sorted({r["mac"] for r in replies[vip]}),
                             "requests": count, "pcap": _pcap_b64(packets[vip])} for vip in vips}}


def _solicit(vip: str, mac: str, src: str) -> Any:
    """A Neighbor Solicitation for ``vip`` as a host sends it (RFC 4861 §7.2.2): to the solicited-node multicast
    address (and its 33:33:ff:… MAC), hop limit 255, with the asker's link-layer address option."""
    import socket as _socket

    from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils6 import in6_getnsma, in6_getnsmac

    group = in6_getnsma(_socket.inet_pton(_socket.AF_INET6, vip))
    return (Ether(src=mac, dst=in6_getnsmac(group)) / IPv6(src=src, dst=_socket.inet_ntop(_socket.AF_INET6, group),
                                                          hlim=255)
            / ICMPv6ND_NS(tgt=vip) / ICMPv6NDOptSrcLLAddr(lladdr=mac))


def _na_fields(pkt: Any) -> tuple[str, str, int, int] | None:
    """(target, target link-layer address, solicited flag, override flag) of a Neighbor Advertisement, else None. The
    link-layer address is the option's ("" when absent: RFC 4861 §7.2.4 requires it in answers to a multicast
    solicitation, and an unsolicited NA without it changes no neighbour entry)."""
    from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr

    if ICMPv6ND_NA not in pkt:
        return None
    na = pkt[ICMPv6ND_NA]
    lladdr = pkt[ICMPv6NDOptDstLLAddr].lladdr.lower() if ICMPv6NDOptDstLLAddr in pkt else ""
    return str(na.tgt), lladdr, int(na.S), int(na.O)


def ndp_many(vips: list[str], window: float = 1.0, count: int = 3) -> dict[str, Any]:
    """Send a Neighbor Solicitation for every IPv6 VIP of ``vips``, ``count`` rounds of ``window`` seconds each, and
    keep every solicited advertisement per VIP (not just the first): the IPv6 form of :func:`arp_many`, in its record
    shape (``mac`` is the NA's target link-layer address, what the client's neighbour entry takes)."""
    import socket as _socket

    import scapy.layers.inet6  # noqa: F401 (registers IPv6 and ICMPv6, so sniffed frames decode)
    from scapy.arch import get_if_hwaddr
    from scapy.config import conf
    from scapy.layers.l2 import Ether
    from scapy.sendrecv import AsyncSniffer, sendp

    conf.verb = 0
    mac = get_if_hwaddr(IFACE).lower()
    src = conf.route6.route(vips[0], dev=IFACE)[1] if vips else "::"
    wanted = {_socket.inet_ntop(_socket.AF_INET6, _socket.inet_pton(_socket.AF_INET6, v)): v for v in vips}
    replies: dict[str, list[dict[str, Any]]] = {vip: [] for vip in vips}
    packets: dict[str, list[Any]] = {vip: [] for vip in vips}
    attempt = [0]

    def on_packet(pkt: Any) -> None:
        fields = _na_fields(pkt)
        if fields is None or fields[0] not in wanted or not fields[2]:  # answers only (solicited flag set)
            return
        vip = wanted[fields[0]]
        packets[vip].append(pkt)
        replies[vip].append({"t": float(pkt.time), "attempt": attempt[0], "mac": fields[1] or pkt[Ether].src.lower(),
                             "ether_src": pkt[Ether].src.lower(), "psrc": pkt["IPv6"].src, "tlla": fields[1]})

    listening = threading.Event()
    sniffer = AsyncSniffer(iface=IFACE, filter="icmp6", store=False, prn=on_packet, started_callback=listening.set)
    sniffer.start()
    if not listening.wait(10):
        raise RuntimeError("the NDP sniffer did not start within 10 s")
    for round_ in range(count):
        attempt[0] = round_
        requests = [_solicit(vip, mac, src) for vip in vips]
        for vip, request in zip(vips, requests, strict=True):
            packets[vip].append(request)
        sendp(requests, iface=IFACE, verbose=False)
        time.sleep(window)
    sniffer.stop()
    return {"by_vip": {vip: {"vip": vip, "replies": replies[vip], "macs": sorted({r["mac"] for r in replies[vip]}),
                             "requests": count, "pcap": _pcap_b64(packets[vip])} for vip in vips}}


def _garp_record(pkt: Any, vip: str) -> dict[str, Any] | None:
    """A gratuitous ARP for ``vip`` (IPv4), or an unsolicited neighbour advertisement for it (IPv6: ``op`` 136, the
    ICMPv6 type; ``mac`` its target link-layer address), as a record; else None."""
    from scapy.layers.l2 import ARP, Ether

    if ":" in vip:
        fields = _na_fields(pkt)
        if fields is None or fields[2] or fields[0] != vip:  # unsolicited only: the solicited flag is clear
            return None
        return {"t": float(pkt.time), "op": 136, "mac": fields[1], "ether_src": pkt[Ether].src.lower(),
                "hwdst": pkt[Ether].dst.lower()}
    if ARP not in pkt or pkt[ARP].psrc != vip or pkt[ARP].pdst != vip:
        return None
    return {"t": float(pkt.time), "op": int(pkt[ARP].op), "mac": pkt[ARP].hwsrc.lower(),
            "ether_src": pkt[Ether].src.lower(), "hwdst": pkt[ARP].hwdst.lower()}


def garp(vip: str, window: float = 6.0) -> dict[str, Any]:
    """Frames with sender IP = target IP = ``vip`` seen during ``window`` seconds."""
    import scapy.layers.inet6  # noqa: F401 (registers Ethernet, IPv6 and ICMPv6, so sniffed frames decode)
    from scapy.sendrecv import sniff

    frames: list[Any] = []
    sniff(iface=IFACE, filter=_announce_filter(vip), timeout=window, store=False,
          prn=lambda p: frames.append(p) if _garp_record(p, vip) else None)
    return {"vip": vip, "frames": [_garp_record(p, vip) for p in frames], "window": window,
            "pcap": _pcap_b64(frames) if frames else ""}


def _announce_filter(vip: str) -> str:
    """The capture filter of the frames that announce ``vip``: ARP for IPv4, ICMPv6 (neighbour advertisements) for
    IPv6."""
    return "icmp6" if ":" in vip else "arp"


def _proc_arp(vip: str) -> dict[str, Any] | None:
    if ":" in vip:  # IPv6 has no /proc table of neighbours: ask the kernel through ip(8)
        entry = neighbour(vip)
        if entry["mac"] is None:
            return None
        return {"mac": entry["mac"], "complete": entry["state"] in ("REACHABLE", "STALE", "DELAY", "PROBE",
                                                                    "PERMANENT", "NOARP")}
    with open("/proc/net/arp") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            if fields and fields[0] == vip:
                return {"mac": fields[3].lower(), "complete": int(fields[2], 16) & 0x2 != 0}
    return None


def neighbour(vip: str) -> dict[str, Any]:
    """The client's neighbour entry for ``vip`` (MAC, state), read without sending traffic."""
    out = subprocess.run(["ip", "-j", "neigh", "show", vip, "dev", IFACE], capture_output=True, text=True, check=False)
    entries = json.loads(out.stdout or "[]")
    if not entries:
        return {"vip": vip, "mac": None, "state": None}
    entry = entries[0]
    return {"vip": vip, "mac": (entry.get("lladdr") or "").lower() or None, "state": (entry.get("state") or [None])[0]}


# -- availability -------------------------------------------------------------------------------
def _stop_time(path: str | None) -> float | None:
    """The end time the host wrote into ``path`` (``ProbeClient.availability``'s ``end_at``), if any."""
    if not path:
        return None
    try:
        with open(path) as fh:
            return float(fh.read().strip())
    except (OSError, ValueError):
        return None


def _emit(lock: threading.Lock, line: str) -> None:
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


#: rtnetlink (linux/rtnetlink.h, linux/neighbour.h): the neighbour multicast group, its two message types, the
#: attributes read (destination, link-layer address) and the NUD states of an entry that has a link-layer address
RTMGRP_NEIGH, RTM_NEWNEIGH, RTM_DELNEIGH, NDA_DST, NDA_LLADDR = 0x4, 28, 29, 1, 2
NUD_RESOLVED = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80  #: REACHABLE STALE DELAY PROBE NOARP PERMANENT


def neigh_events(data: bytes, dst: bytes, ifindex: int) -> list[dict[str, Any]]:
    """The changes of the neighbour entry for ``dst`` (packed address) on ``ifindex`` in one rtnetlink read:
    ``{"mac": str | None, "complete": bool}`` each (a deleted entry, or one without a link-layer address yet: None).
    Netlink is in host byte order: nlmsghdr ``=IHHII``, ndmsg ``=BBHiHBB``, then rtattrs ``=HH`` + data, 4-aligned."""
    found = []
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16 or offset + length > len(data):  # malformed, or cut short: nothing more to read
            break
        body = data[offset + 16:offset + length]
        offset += (length + 3) & ~3
        if kind not in (RTM_NEWNEIGH, RTM_DELNEIGH) or len(body) < 12:
            continue
        _family, _pad1, _pad2, index, state, _flags, _type = struct.unpack_from("=BBHiHBB", body)
        if index != ifindex:
            continue
        attrs: dict[int, bytes] = {}
        at = 12
        while at + 4 <= len(body):
            alen, atype = struct.unpack_from("=HH", body, at)
            if alen < 4:
                break
            attrs[atype & 0x3FFF] = body[at + 4:at + alen]  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            at += (alen + 3) & ~3
        if attrs.get(NDA_DST) != dst:
            continue
        lladdr = attrs.get(NDA_LLADDR)
        gone = kind == RTM_DELNEIGH or not lladdr or not any(lladdr)
        found.append({"mac": None if gone else ":".join(f"{b:02x}" for b in lladdr or b""),
                      "complete": not gone and bool(state & NUD_RESOLVED)})
    return found


def _watch_neighbour(vip: str, stop: threading.Event, out: threading.Lock, neigh: list[dict[str, Any]]) -> None:
    """Record (and print) every change of the client's neighbour entry for ``vip`` until ``stop``, as the kernel
    reports it (rtnetlink's neighbour group): each change is stamped as its event arrives, not at the next poll."""
    last: str | None = None

    def note(entry: dict[str, Any] | None) -> None:
        nonlocal last
        key = (entry or {}).get("mac")
        if key != last:
            now = time.time()
            neigh.append({"t": now, "mac": key, "complete": (entry or {}).get("complete")})
            _emit(out, f"N {now} {key or '-'}")
            last = key

    family = socket.AF_INET6 if ":" in vip else socket.AF_INET
    dst, ifindex = socket.inet_pton(family, vip), socket.if_nametoindex(IFACE)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as nl:
        nl.bind((0, RTMGRP_NEIGH))  # subscribed before the first read: no change falls between the two
        nl.settimeout(0.1)  # how often ``stop`` is looked at
        note(_proc_arp(vip))
        while not stop.is_set():
            try:
                data = nl.recv(65536)
            except TimeoutError:
                continue
            except OSError:  # ENOBUFS: events were lost; read the entry as it is now
                note(_proc_arp(vip))
                continue
            for entry in neigh_events(data, dst, ifindex):
                note(entry)


def _probe_on_schedule(probe: Callable[[], dict[str, Any]], start: float, interval: float, duration: float,
                       workers: int, stop_file: str | None) -> list[dict[str, Any]]:
    """Start ``probe`` every ``interval`` s from ``start`` (not waiting for earlier ones) until ``duration`` or the
    stop time the host writes into ``stop_file``; return every sample once all have finished."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = []
        tick = 0
        stop_at: float | None = None
        while True:
            target = start + tick * interval
            if stop_at is None and tick % 10 == 0:
                stop_at = _stop_time(stop_file)
            if target - start >= duration or (stop_at is not None and target >= stop_at):
                break
            delay = target - time.time()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(probe))
            tick += 1
        return [f.result() for f in futures]


def availability(vip: str, port: int = 80, interval: float = 0.01, timeout: float = 0.2, duration: float = 4.0,
                 stop_file: str | None = None) -> dict[str, Any]:
    """Overlapping probes every ``interval`` s (each with its own ``timeout``) plus the L2 channel.

    A blocking probe loop would hide sub-second recovery behind TCP's 1 s SYN retransmit, so a
    new probe starts on schedule whether or not earlier ones have finished. The recording lasts
    ``duration`` s, or ends earlier at the time the host writes into ``stop_file``.

    While it runs, every event is printed as it happens, one line each, so that the host can wait on
    what it needs to see (a takeover, a failback) instead of a fixed time: ``P <t> <ok> <remote> <backend>``
    per finished probe (``-`` for none), ``G <t> <op> <arp sender> <ether src>`` per gratuitous ARP frame,
    ``N <t> <mac>`` per change of the neighbour entry. The last line is the whole record as JSON.
    """
    import scapy.layers.inet6  # noqa: F401 (registers Ethernet, IPv6 and ICMPv6, so sniffed frames decode)
    from scapy.sendrecv import AsyncSniffer

    out = threading.Lock()
    garps: list[dict[str, Any]] = []
    garp_packets: list[Any] = []  #: the frames themselves: the evidence behind the GARP verdicts, as a pcap

    def on_arp(pkt: Any) -> None:
        if (rec := _garp_record(pkt, vip)) is not None:
            garps.append(rec)
            garp_packets.append(pkt)
            _emit(out, f"G {rec['t']} {rec['op']} {rec['mac']} {rec['ether_src']}")

    def probe_once() -> dict[str, Any]:
        sample = http_once(vip, port, timeout)
        _emit(out, f"P {sample['t']} {int(sample['ok'])} {sample['remote'] or '-'} {sample['backend'] or '-'}")
        return sample

    sniffing = threading.Event()
    sniffer = AsyncSniffer(iface=IFACE, filter=_announce_filter(vip), store=False, prn=on_arp,
                           started_callback=sniffing.set)
    sniffer.start()
    neigh: list[dict[str, Any]] = []
    stop = threading.Event()
    poller = threading.Thread(target=_watch_neighbour, args=(vip, stop, out, neigh), daemon=True)
    poller.start()
    if not sniffing.wait(10):  # the capture socket is open before the first probe goes out
        raise RuntimeError("the ARP/NDP sniffer did not start within 10 s")
    start = time.time()
    _emit(out, f"READY {start}")
    samples = _probe_on_schedule(probe_once, start, interval, duration, max(8, int(timeout / interval * 2) + 4),
                                 stop_file)
    stop.set()
    poller.join()
    sniffer.stop()
    return {"vip": vip, "interval": interval, "timeout": timeout, "start": start, "end": time.time(),
            "samples": samples, "garps": garps, "garp_pcap": _pcap_b64(garp_packets) if garp_packets else "",
            "neighbour": neigh}


def selftest() -> dict[str, Any]:
    """What the host checks after installing the agent: scapy loads, the interface is there."""
    import scapy
    from scapy.arch import get_if_hwaddr

    return {"python": sys.version.split()[0], "scapy": scapy.VERSION, "iface": IFACE,
            "mac": get_if_hwaddr(IFACE).lower()}


def serve() -> int:
    """Answer requests from stdin until it ends: one JSON line ``{"id", "cmd", "args"}`` each, run in a thread of
    its own, answered ``R {"id", "result"}`` (or ``"error"``) on stdout. Python and scapy start once per client."""
    out = threading.Lock()

    def run(request: dict[str, Any]) -> None:
        try:
            text = json.dumps({"id": request["id"], "result": COMMANDS[request["cmd"]](**request.get("args", {}))})
        except Exception as exc:  # the host raises it as an infrastructure error naming the client
            text = json.dumps({"id": request.get("id"), "error": f"{request.get('cmd')}: {type(exc).__name__}: {exc}"})
        _emit(out, "R " + text)

    for line in sys.stdin:
        if line.strip():
            threading.Thread(target=run, args=(json.loads(line),), daemon=True).start()
    return 0


COMMANDS: dict[str, Callable[..., dict[str, Any]]] = {
    "selftest": selftest, "arp": arp, "arp_many": arp_many, "ndp_many": ndp_many, "garp": garp,
    "neighbour": neighbour, "http_burst": http_burst,
    "availability": availability,
}


def main(argv: list[str]) -> int:
    if argv[1:] == ["serve"]:
        code = serve()
        sys.stdout.flush()
        os._exit(code)  # scapy's sniffer threads must not delay the exit
    if len(argv) != 3 or argv[1] not in COMMANDS:
        print(f"usage: agent.py {{{','.join(COMMANDS)}}} JSON-ARGS | agent.py serve", file=sys.stderr)
        return 2
    result = COMMANDS[argv[1]](**json.loads(argv[2]))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # scapy's sniffer threads must not delay the exit


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
