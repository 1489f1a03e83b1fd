"""ARP captures as text a person reads: one line per frame, Ethernet and ARP fields, times relative."""

from __future__ import annotations

import io

from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapReader


def pcap_text(pcap: bytes, t0: float | None = None, t0_name: str = "the first frame") -> str:
    """``pcap`` as lines ``+0.351 s  aa:bb:… → ff:ff:…  ARP who-has 10.0.0.9 tell 10.0.0.9 (sender …)  gratuitous``;
    times are seconds after ``t0`` (epoch seconds; default: the first frame)."""
    lines = []
    with PcapReader(io.BytesIO(pcap)) as reader:  # type: ignore[arg-type]  # a file object is accepted too
        for pkt in reader:
            t = float(pkt.time)
            if t0 is None:
                t0 = t
            ether = pkt.getlayer(Ether)
            head = f"{t - t0:+8.3f} s  {ether.src if ether else '?'} → {ether.dst if ether else '?'}"
            arp = pkt.getlayer(ARP)
            if arp is None:
                lines.append(f"{head}  {pkt.summary()}")
                continue
            what = {1: f"who-has {arp.pdst} tell {arp.psrc}", 2: f"{arp.psrc} is-at {arp.hwsrc}"}.get(
                int(arp.op), f"op {arp.op} {arp.psrc} → {arp.pdst}")
            notes = []
            if arp.psrc == arp.pdst:
                notes.append("gratuitous")
            if ether is not None and ether.src.lower() != str(arp.hwsrc).lower():
                notes.append(f"Ethernet source differs from ARP sender {arp.hwsrc}")
            lines.append(f"{head}  ARP {what} (sender {arp.hwsrc}){'  ' + ', '.join(notes) if notes else ''}")
    header = f"# {len(lines)} frames; times in seconds after {t0_name}"
    return "\n".join([header, *lines]) + "\n"
