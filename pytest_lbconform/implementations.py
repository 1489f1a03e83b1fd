"""The registry of provider implementations: which (implementation, platform) pairs exist, the modes each runs and
the settings each needs. It sits below its users and imports nothing of the project: the configuration validates
against it, ``environment.ENVIRONMENTS`` and ``plan.PLANS`` implement exactly these pairs (tests/test_import_graph.py
checks both)."""

from __future__ import annotations

KEEPALIVED, METALLB, KUBE_L2 = "keepalived", "metallb", "kube-l2"
#: the lab's data-plane modes (``providers/keepalived.py`` renders them)
LAB_MODES = ("random", "rr")
#: kube-proxy modes of a kind cluster (``platforms/kind.py``)
KIND_MODES = ("iptables", "ipvs", "nftables", "ipvs-nostrictarp")
#: the generic Kubernetes L2 provider also runs without kube-proxy (``kubeProxyMode: none``; e.g. Cilium's
#: kube-proxy replacement, kind commit 6cfdd79 added the mode for it)
KUBE_L2_MODES = (*KIND_MODES, "kube-proxy-replacement")
#: (implementation, platform) pairs, in the order messages list them
IMPLEMENTED = ((KEEPALIVED, "lab"), (METALLB, "kind"), (KUBE_L2, "kind"), (METALLB, "existing"),
               (KUBE_L2, "existing"))
#: implementation → platform → the modes it can run
MODES: dict[str, dict[str, tuple[str, ...]]] = {
    KEEPALIVED: {"lab": LAB_MODES}, METALLB: {"kind": KIND_MODES, "existing": KUBE_L2_MODES},
    KUBE_L2: {"kind": KUBE_L2_MODES, "existing": KUBE_L2_MODES}}
#: implementation → the settings it reads without a default (a spec without a kubernetes: section)
NEEDS = {METALLB: ("version", "manifest")}
