"""One parser for traefik/whoami (kind) and the lab backends."""

from pathlib import Path

from pytest_lbconform.probes.agent import parse_whoami
from pytest_lbconform.probes.whoami import make_handler

KANS = (Path(__file__).parent / "data" / "kans_whoami_svc1.txt").read_text()


def test_parses_real_traefik_whoami_output_from_the_kans_notes():
    info = parse_whoami(KANS)
    assert info["Hostname"] == "webpod1"
    assert (info["remote_ip"], info["remote_port"]) == ("10.10.1.1", "12625")


def test_lab_backend_answers_in_the_same_format():
    import threading
    import urllib.request
    from http.server import HTTPServer

    server = HTTPServer(("127.0.0.1", 0), make_handler("webpod7"))
    threading.Thread(target=server.handle_request, daemon=True).start()
    body = urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/", timeout=5).read().decode()
    server.server_close()
    info = parse_whoami(body)
    assert info["Hostname"] == "webpod7" and info["remote_ip"] == "127.0.0.1"
    assert body.splitlines()[0] == "Hostname: webpod7"
