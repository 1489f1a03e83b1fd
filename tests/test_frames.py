"""ARP captures as text: one line per frame, times relative to the fault, gratuitous and spoofed frames named."""

from __future__ import annotations

import io

from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapWriter

from pytest_lbconform.report.frames import pcap_text

VIP, MAC_A, MAC_B = "172.28.0.250", "02:42:ac:1c:00:03", "02:42:ac:1c:00:04"


def capture(t0: float) -> bytes:
    buf = io.BytesIO()
    writer = PcapWriter(buf, sync=True)
    garp = Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC_A, psrc=VIP, pdst=VIP)
    spoof = Ether(src=MAC_B, dst="02:42:ac:1c:00:64") / ARP(op=2, hwsrc=MAC_A, psrc=VIP, pdst="172.28.0.100")
    for pkt, dt in ((garp, 0.1), (spoof, 0.45)):
        pkt.time = t0 + dt
        writer.write(pkt)
    writer.flush()
    return buf.getvalue()


def test_each_frame_is_one_line_relative_to_the_fault():
    text = pcap_text(capture(1_700_000_000.0), 1_700_000_000.0, "the fault").splitlines()
    assert text[0] == "# 2 frames; times in seconds after the fault"
    assert text[1] == (f"  +0.100 s  {MAC_A} → ff:ff:ff:ff:ff:ff  ARP who-has {VIP} tell {VIP} (sender {MAC_A})"
                       "  gratuitous")
    assert text[2] == (f"  +0.450 s  {MAC_B} → 02:42:ac:1c:00:64  ARP {VIP} is-at {MAC_A} (sender {MAC_A})"
                       f"  Ethernet source differs from ARP sender {MAC_A}")


def test_without_a_reference_time_the_first_frame_is_zero():
    assert "  +0.000 s  " in pcap_text(capture(5.0)).splitlines()[1]
