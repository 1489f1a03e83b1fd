"""IPv6 verdicts from the IPv4 ones: the same judgement, in NDP's words.

Neighbour ownership is judged the same way in both families: exactly one link-layer address answers for the VIP, a
node's, the reported owner's, with the frame's Ethernet source equal to the address it announces (ARP: the sender
hardware address; NDP: the target link-layer address option of the Neighbor Advertisement, RFC 4861 §4.4). A takeover
is announced by gratuitous ARP in IPv4 and by unsolicited Neighbor Advertisements in IPv6 (RFC 4861 §7.2.6; VRRPv3,
RFC 9568 §6.4.2). The probes record both in one shape (``probes/records.py``), so the IPv4 verdict functions judge
IPv6 records unchanged; :func:`in_family` gives the result the IPv6 check's id, failure category and words.
"""

from __future__ import annotations

import dataclasses
import re

from .result import Verdict

#: IPv4 check → the IPv6 check judging the same promise over NDP (checks that have no NDP form keep their id)
CHECK_V6 = {"arp-ownership": "ndp-ownership", "garp-on-takeover": "na-on-takeover",
            "garp-on-announcement": "na-on-announcement"}
#: IPv4 failure category → its IPv6 form
CATEGORY_V6 = {"no ARP owner": "no NDP owner", "multiple ARP owners": "multiple NDP owners",
               "ARP owner is not a node": "NDP owner is not a node", "ARP source mismatch": "NA source mismatch",
               "GARP missing": "unsolicited NA missing", "GARP from wrong MAC": "unsolicited NA from wrong MAC"}
#: phrases of the IPv4 verdicts' texts → their NDP form, longest first (applied in order, whole words)
WORDS_V6 = (
    ("gratuitous ARP", "unsolicited neighbour advertisement"),
    ("who-has requests", "Neighbor Solicitations"),
    ("who-has", "Neighbor Solicitation"),
    ("ARP sender and Ethernet source", "target link-layer address and Ethernet source"),
    ("Ethernet source ≠ ARP sender", "Ethernet source ≠ target link-layer address"),
    ("as Ethernet source and ARP sender", "as Ethernet source and target link-layer address"),
    ("ARP senders", "target link-layer addresses"),
    ("ARP sender", "target link-layer address"),
    ("GARP", "unsolicited NA"),
    ("ARP", "NDP"),
)
_PATTERNS = tuple((re.compile(rf"(?<![\w-]){re.escape(old)}(?![\w-])"), new) for old, new in WORDS_V6)


def words_v6(text: str) -> str:
    """``text`` of an IPv4 verdict in NDP's words."""
    for pattern, new in _PATTERNS:
        text = pattern.sub(new, text)
    return text


def in_family(verdict: Verdict, family: int) -> Verdict:
    """``verdict`` as the check of IP ``family`` states it: unchanged for 4; for 6 the NDP check's id, category and
    words, with ``family`` among its figures."""
    if family == 4:
        return verdict
    return dataclasses.replace(
        verdict, check=CHECK_V6.get(verdict.check, verdict.check),
        category=CATEGORY_V6.get(verdict.category, verdict.category),
        expected=words_v6(verdict.expected), measured=words_v6(verdict.measured),
        figures={**verdict.figures, "family": f"IPv{family}"})
