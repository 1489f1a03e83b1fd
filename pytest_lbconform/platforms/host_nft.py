"""nftables tables on the host's bridge, owned by one run: the peer-partition fault and the mutants'
frame filters. Each table is named after the run's cluster, so removing it never touches another run."""

from __future__ import annotations

from collections.abc import Sequence

from .. import hostcmd
from ..errors import InfrastructureError

PREFIX = "lbconform_"


def identifier(name: str) -> str:
    """``name`` as an nft identifier (which takes no dashes)."""
    return name.replace("-", "_")


def table_name(cluster: str, purpose: str) -> str:
    """``lbconform_<purpose>_<cluster>``; ``purpose`` holds no underscore."""
    return identifier(f"{PREFIX}{purpose}_{cluster}")


def cluster_of(table: str) -> str | None:
    """The cluster part (as an identifier) of a table named by :func:`table_name`; None for other tables."""
    if not table.startswith(PREFIX):
        return None
    _purpose, _, cluster = table[len(PREFIX):].partition("_")
    return cluster or None


def list_tables() -> list[str]:
    """Names of the host's bridge-family tables; empty when nft is missing or not permitted."""
    try:
        out = hostcmd.run(["nft", "list", "tables", "bridge"], "nft list tables").stdout
    except InfrastructureError:  # not installed, or a nonzero exit (not permitted)
        return []
    return [words[2] for words in map(str.split, out.splitlines()) if words[:2] == ["table", "bridge"] and len(words) == 3]


def nft(args: list[str], stdin: str = "", check: bool = True) -> None:
    """Run ``nft`` on the host (no shell); with ``check`` a failure raises naming the command and nft's error."""
    hostcmd.run(["nft", *args], f"nft {' '.join(args)} on the host", stdin=stdin, check=check)


def load(ruleset: str) -> None:
    nft(["-f", "-"], ruleset)


def delete(table: str) -> None:
    """Remove ``table`` from the bridge family; a table already gone is not an error."""
    nft(["delete", "table", "bridge", table], check=False)


def render_partition(table: str, victim_port: str, peer_ports: Sequence[str]) -> str:
    """A bridge-family table dropping every frame between ``victim_port`` and ``peer_ports`` (host-side
    veths), both ways: the node cannot reach its peers nor they it, while every other port (the
    clients) still reaches all of them. Flooded frames (ARP, VRRP multicast) pass the forward hook once
    per output port, so they are cut per pair as well."""
    if not peer_ports:
        raise ValueError("a partition needs at least one peer port")
    peers = ", ".join(f'"{p}"' for p in peer_ports)
    return (f"table bridge {table} {{\n"
            f"  chain forward {{\n"
            f"    type filter hook forward priority -10; policy accept;\n"
            f'    iifname "{victim_port}" oifname {{ {peers} }} counter drop\n'
            f'    iifname {{ {peers} }} oifname "{victim_port}" counter drop\n'
            f"  }}\n}}\n")
