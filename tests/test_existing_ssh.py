"""``--platform=existing`` end to end through a real ``ssh://`` connection to this machine's Docker engine.

The "existing cluster" is the kind double's node containers (``tests/kind_double/kind_double.py``: kind's names,
labels and ``kind`` network) with an API double for its Kubernetes API (``tests/existing_api_double.py``, the
MetalLB v0.16.1 model behind it). The run under test is a child pytest with ``DOCKER_HOST=ssh://root@127.0.0.1:PORT``
served by an sshd on loopback that this test starts (its own config, host key and authorized key in a temporary
directory; the child's HOME holds ``~/.ssh/config``, the key and ``known_hosts``, and its PATH an ``ssh`` that reads
that config: OpenSSH finds ~/.ssh through the passwd entry, not HOME), so every
engine call of the run — the clients' creation, the probe agents' exec sessions, the removal — goes through ssh and
``docker system dial-stdio`` on the far side.

The double announces as a speaker would: the node MetalLB's election makes the holder of a service gets its VIP on
eth0, so that node's kernel answers ARP for it (nothing Kubernetes runs in these nodes; the backends do not serve,
so only checks that need no HTTP answer are run here).

What it shows: the set-up (namespace, backends pinned to the workers, services with VIPs from the pool, clients on
the nodes' network through the ssh engine), an ARP check on the wire that passes, the not-tested listing without
``--allow-faults`` and, with it, node-isolate not tested because the engine is not on this host, and the cleanup —
the namespace deleted in the double, the clients removed through the ssh engine, nothing labelled left; also when the
run is stopped with SIGTERM in the middle of its set-up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from pytest_lbconform import labels
from pytest_lbconform.config import is_ci
from pytest_lbconform.images import ensure_image
from pytest_lbconform.paths import SUITES
from pytest_lbconform.platforms import containers, existing, kind
from tests.conftest import ROOT, created_by
from tests.existing_api_double import ExistingApi, kubeconfig_text, serve
from tests.metallb_model import Cluster
from tests.test_kind_double import DOUBLE, _remove_kind_network

pytestmark = pytest.mark.xdist_group("kind-double")  # the kind network is shared with the kind double's tests
SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    """An sshd on 127.0.0.1 (root, key only), a HOME whose ~/.ssh reaches it, and an ``ssh`` reading that config."""
    if os.geteuid() != 0 or not os.path.exists(SSHD) or shutil.which("ssh") is None:
        why = "needs root, openssh-server's sshd and the ssh client (scripts/setup --for-tests installs them)"
        if is_ci():
            pytest.fail(f"CI=true and this test {why}", pytrace=False)
        pytest.skip(why)
    base = tmp_path_factory.mktemp("sshd")
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", ""]
    subprocess.run([*keygen, "-f", str(base / "hostkey")], check=True)
    subprocess.run([*keygen, "-f", str(home / ".ssh" / "id_ed25519")], check=True)
    (base / "authorized_keys").write_text((home / ".ssh" / "id_ed25519.pub").read_text())
    port = _free_port()
    config = base / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base / 'hostkey'}\n"
                      f"AuthorizedKeysFile {base / 'authorized_keys'}\nPidFile {base / 'sshd.pid'}\nStrictModes no\n"
                      "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                      "UsePAM no\nLogLevel VERBOSE\n")
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    log = base / "sshd.log"
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd ended: {log.read_text()[-500:]}")
            time.sleep(0.1)
    key_type, key = (base / "hostkey.pub").read_text().split()[:2]
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {key_type} {key}\n")
    (home / ".ssh" / "config").write_text(f"Host 127.0.0.1\n  User root\n  IdentityFile {home / '.ssh' / 'id_ed25519'}\n"
                                          f"  UserKnownHostsFile {home / '.ssh' / 'known_hosts'}\n")
    # the run speaks through the system ssh client (docker_engine.connect); OpenSSH finds ~/.ssh through the passwd
    # entry, not HOME, so the child's PATH has an ssh that reads this config (paramiko, the fallback, reads HOME's)
    bin_dir = base / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(f"#!/bin/sh\nexec {shutil.which('ssh')} -F {home / '.ssh' / 'config'} \"$@\"\n")
    (bin_dir / "ssh").chmod(0o755)
    try:
        yield SimpleNamespace(port=port, home=home, log=log, url=f"ssh://root@127.0.0.1:{port}", bin=bin_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class Announcer:
    """Puts each service's VIP on the eth0 of the node the model says holds it (and takes it off the others), as a
    speaker does: that node's kernel answers ARP for it."""

    def __init__(self, client, cluster: Cluster) -> None:
        self.client, self.cluster = client, cluster
        self.applied: dict[str, set[str]] = {n: set() for n in cluster.nodes}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                want = {n: set() for n in self.cluster.nodes}
                for svc in list(self.cluster.services):
                    for node in self.cluster.holders(svc.name):
                        want[node].add(svc.vip)
            except RuntimeError:  # the model changed while it was read: read again
                continue
            for node, vips in want.items():
                box = self.client.containers.get(node)
                for vip in vips - self.applied[node]:
                    containers.run(box, ["ip", "addr", "add", f"{vip}/32", "dev", "eth0"], check=False)
                for vip in self.applied[node] - vips:
                    containers.run(box, ["ip", "addr", "del", f"{vip}/32", "dev", "eth0"], check=False)
                self.applied[node] = vips
            self.stop.wait(0.2)

    def __enter__(self) -> Announcer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def existing_cluster(docker_client, httpserver, tmp_path, monkeypatch):
    """(api double, model, kubeconfig): the kind double's nodes on the ``kind`` network, the model's nodes at their
    real addresses and MACs, a VIP pool from the top of that network, the announcer running."""
    image = ensure_image(docker_client, "auto", lambda m: None)
    name = f"lbce{os.getpid() % 100000}"
    had_network = bool(docker_client.networks.list(names=[kind.KIND_NETWORK]))
    config = tmp_path / "kind.yaml"
    config.write_text(yaml.safe_dump({"nodes": [{"role": "control-plane"}, *({"role": "worker"} for _ in range(3))]}))
    env = {**os.environ, "LBC_KIND_DOUBLE_IMAGE": image, "LBC_KIND_DOUBLE_API": "http://127.0.0.1:9"}
    subprocess.run([sys.executable, str(DOUBLE), "create", "cluster", "--name", name, "--config", str(config),
                    "--kubeconfig", str(tmp_path / "kind-kubeconfig")], check=True, env=env, timeout=300)
    try:
        cluster = Cluster(cluster=name)
        for node in kind.nodes(docker_client, name):
            cluster.nodes[node.name].ip, cluster.nodes[node.name].mac = node.ip, node.mac
        subnet, _ = kind.kind_subnet(docker_client)
        first, last = kind.vip_pool(subnet, 51, 70)  # far above the kind double tests' slots
        api = ExistingApi(cluster, pools={"lab-pool": f"{first}-{last}"})
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(kubeconfig_text(serve(httpserver, api), context=f"kind-{name}"))
        with Announcer(docker_client, cluster):
            yield api, cluster, kubeconfig
    finally:
        subprocess.run([sys.executable, str(DOUBLE), "delete", "cluster", "--name", name], check=True, env=env,
                       timeout=120)
        if not had_network:
            _remove_kind_network(docker_client)


def _child(sshd, kubeconfig: Path, report_dir: Path, *args: str, timeout: float = 600,
           stop_when: object = None) -> tuple[subprocess.CompletedProcess[str], int]:
    """The suites in a child pytest whose engine is the ssh one (HOME with the ssh config, DOCKER_HOST=ssh://), or
    the local one when ``sshd`` is None."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LBCONFORM_") and k not in ("KUBECONFIG", "DOCKER_HOST")}
    if sshd is not None:
        env |= {"HOME": str(sshd.home), "DOCKER_HOST": sshd.url, "PATH": f"{sshd.bin}{os.pathsep}{env['PATH']}"}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--lb=metallb", "--platform=existing",
           f"--kubeconfig={kubeconfig}", f"--report-dir={report_dir}", "-rs", *args, str(SUITES)]
    child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if stop_when is not None:
        deadline = time.monotonic() + timeout
        while not stop_when() and child.poll() is None and time.monotonic() < deadline:  # type: ignore[operator]
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=timeout)
    return subprocess.CompletedProcess(cmd, child.returncode, out, err), child.pid


def _checks(report_dir: Path) -> dict[str, dict]:
    report = json.loads((report_dir / "conformance.json").read_text())
    return {c["id"].rsplit("::", 1)[1]: c for p in report["profiles"] for c in p["checks"]} | {"": report}


def test_an_existing_cluster_through_an_ssh_engine(sshd, existing_cluster, docker_client, tmp_path):
    api, _cluster, kubeconfig = existing_cluster
    reports = tmp_path / "reports"
    result, pid = _child(sshd, kubeconfig, reports, "-k", "test_exactly_one_node_answers_arp or test_failover or "
                         "test_reannouncement")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    # every engine call went through ssh: the clients were made there and their agents spoke through it
    assert "Accepted publickey for root" in sshd.log.read_text()
    assert f"on kind ({sshd.url})" in out and "nodes are containers of ssh://root@127.0.0.1" in out
    checks = _checks(reports)
    report = checks.pop("")
    assert report["implementation"]["version"] == "v0.16.1"
    assert report["environment"]["platform"] == "existing" and report["environment"]["docker_engine"] == sshd.url
    # a check on the wire, judged: the kernel of the node MetalLB's election picks answers ARP, alone
    for svc in ("svc1", "svc2", "svc3"):
        assert checks[f"test_exactly_one_node_answers_arp[existing-iptables-v4-{svc}]"]["outcome"] == "passed", checks
    # without --allow-faults no fault touched the cluster: every failover and the re-announcement are not tested
    withheld = {k: c for k, c in checks.items() if c["outcome"] == "not-tested"}
    assert "test_reannouncement_sends_gratuitous_arp[existing-iptables-v4]" in withheld
    assert {c["message"] for c in withheld.values()} == {existing.FAULTS_OPT_IN}
    assert sum(k.startswith("test_failover[") for k in withheld) == 8  # 4 declared kinds × svc1, svc2
    failover = next(p for p in report["profiles"] if p["name"] == "L2-FAILOVER")
    assert failover["result"] == "not-tested" and len(failover["not_tested"]) == 8
    assert "Not tested, and why" in (reports / "conformance.html").read_text()
    assert not [p for m, p in api.writes if m == "PATCH"], "a node was patched (a fault) without --allow-faults"
    # cleanup: the namespace deleted in the double, the clients removed through the ssh engine, nothing labelled left
    assert len(api.deleted) == 1 and api.deleted[0].startswith("lbconform-") and not [
        n for n in api.namespaces if n.startswith("lbconform-")]
    assert not created_by(docker_client, pid)
    assert not docker_client.containers.list(all=True, filters={"label": f"{labels.OWNER_PID}={pid}"})

    # with --allow-faults: node-isolate is done on the engine's host, which is not this one as far as ssh:// says
    again, pid2 = _child(sshd, kubeconfig, tmp_path / "reports2", "--allow-faults", "-k",
                         "test_failover and node-isolate and svc1")
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    isolate = _checks(tmp_path / "reports2")["test_failover[existing-iptables-v4-node-isolate-svc1]"]
    assert isolate["outcome"] == "not-tested" and "is not on this host" in isolate["message"], isolate
    assert not created_by(docker_client, pid2) and len(api.deleted) == 2


def test_sigterm_during_the_set_up_removes_the_namespace_and_the_clients(sshd, existing_cluster, docker_client,
                                                                         tmp_path):
    api, _cluster, kubeconfig = existing_cluster

    def namespace_made() -> bool:
        return any(n.startswith("lbconform-") for n in api.namespaces)

    result, pid = _child(sshd, kubeconfig, tmp_path / "reports", "-k", "test_exactly_one_node_answers_arp",
                         stop_when=namespace_made)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in result.stderr, out[-2000:]
    assert api.deleted and not [n for n in api.namespaces if n.startswith("lbconform-")], out[-2000:]
    assert not created_by(docker_client, pid), out[-2000:]


def test_an_existing_kind_cluster_on_the_local_engine(existing_cluster, docker_client, tmp_path):
    """The same cluster through the local engine: the plan says the nodes are containers of this host's engine and
    plans the clients on their network; the run's clients are made there, the ARP check passes, nothing is left."""
    api, _cluster, kubeconfig = existing_cluster
    planned, _ = _child(None, kubeconfig, tmp_path / "plan", "--plan")
    assert planned.returncode == 0, planned.stderr[-2000:]
    assert "(this host): the nodes are its containers" in planned.stdout and "on network kind" in planned.stdout
    assert "# clients on Docker network kind of the engine at unix:///var/run/docker.sock:" in planned.stdout
    assert not api.writes and not (tmp_path / "plan").exists()
    result, pid = _child(None, kubeconfig, tmp_path / "reports", "-k", "test_exactly_one_node_answers_arp and svc1")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    checks = _checks(tmp_path / "reports")
    assert checks["test_exactly_one_node_answers_arp[existing-iptables-v4-svc1]"]["outcome"] == "passed"
    assert checks[""]["environment"]["docker_engine"] == "unix:///var/run/docker.sock"
    assert len(api.deleted) == 1 and not created_by(docker_client, pid)
