"""The availability agent reads neighbour changes from rtnetlink (probes/agent.py ``neigh_events``)."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

from pytest_lbconform.probes.agent import NDA_DST, NDA_LLADDR, RTM_DELNEIGH, RTM_NEWNEIGH, neigh_events

DATA = Path(__file__).parent / "data"


def test_a_real_kernel_dump_reads_as_ip_neigh_reads_it():
    """Bytes the kernel returned for RTM_GETNEIGH on this machine (the same messages as RTM_NEWNEIGH events), beside
    what ``ip -j neigh`` said at that moment: a STALE entry with its MAC, a FAILED one without."""
    dump = (DATA / "rtnetlink_neigh_dump.bin").read_bytes()
    meta = json.loads((DATA / "rtnetlink_neigh_dump.json").read_text())
    assert meta["ip_neigh_eth0"], meta
    for entry in meta["ip_neigh_eth0"]:
        family = socket.AF_INET6 if ":" in entry["dst"] else socket.AF_INET
        seen = neigh_events(dump, socket.inet_pton(family, entry["dst"]), meta["eth0_ifindex"])
        mac = entry.get("lladdr")
        assert seen == [{"mac": mac, "complete": mac is not None}], (entry, seen)
    assert neigh_events(dump, socket.inet_pton(socket.AF_INET, "192.0.2.1"), meta["eth0_ifindex"] + 100) == []


def _msg(kind: int, ifindex: int, state: int, dst: bytes, mac: bytes | None) -> bytes:
    def attr(kind: int, value: bytes) -> bytes:
        raw = struct.pack("=HH", 4 + len(value), kind) + value
        return raw + b"\0" * (-len(raw) % 4)
    body = struct.pack("=BBHiHBB", socket.AF_INET6 if len(dst) == 16 else socket.AF_INET, 0, 0, ifindex, state, 0, 1)
    body += attr(NDA_DST, dst) + (attr(NDA_LLADDR, mac) if mac is not None else b"")
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def test_changes_deletions_and_unresolved_entries_in_one_read():
    vip6 = socket.inet_pton(socket.AF_INET6, "fd12:3456:789a:1::ffff:ff00")
    read = b"".join([
        _msg(RTM_NEWNEIGH, 2, 0x01, vip6, None),                           # INCOMPLETE: no address yet
        _msg(RTM_NEWNEIGH, 2, 0x02, vip6, bytes.fromhex("0242ac1c0003")),  # REACHABLE
        _msg(RTM_NEWNEIGH, 3, 0x02, vip6, bytes.fromhex("0242ac1c0009")),  # another interface
        _msg(RTM_NEWNEIGH, 2, 0x02, socket.inet_pton(socket.AF_INET6, "fd12::1"), bytes(6)),  # another address
        _msg(RTM_NEWNEIGH, 2, 0x04, vip6, bytes.fromhex("0242ac1c0004")),  # a GARP/NA moved it: STALE, new MAC
        _msg(RTM_DELNEIGH, 2, 0x20, vip6, bytes.fromhex("0242ac1c0004")),  # gone
    ])
    assert neigh_events(read, vip6, 2) == [
        {"mac": None, "complete": False}, {"mac": "02:42:ac:1c:00:03", "complete": True},
        {"mac": "02:42:ac:1c:00:04", "complete": True}, {"mac": None, "complete": False}]
    assert neigh_events(read[:-3], vip6, 2)[-1]["mac"] == "02:42:ac:1c:00:04"  # a cut message is not read
