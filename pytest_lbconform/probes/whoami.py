"""A backend that answers like traefik/whoami, run inside lab nodes (stdlib only, python3 there).

    python3 whoami.py --name webpod1 --port 8080

Its answer starts ``Hostname: <name>``, ``IP: …``, ``RemoteAddr: <ip>:<port>``, then the request
line and headers: the format the kind backends (traefik/whoami) use, so one parser serves both
platforms. The listen backlog is raised: Python's default of 5 drops SYNs under concurrency, and a
dropped SYN costs a 1 s retransmit that looks exactly like an outage.
"""

from __future__ import annotations

import argparse
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    request_queue_size = 4096
    daemon_threads = True
    allow_reuse_address = True


class _DualStackServer(_Server):
    """Listens on ``::`` for IPv6 and (mapped) IPv4 alike, as a pod behind a dual-stack service."""

    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def remote_addr(host: str, port: int) -> str:
    """``RemoteAddr`` as traefik/whoami (Go) writes it: ``ip:port`` for IPv4 (a mapped ``::ffff:a.b.c.d`` is IPv4),
    ``[ip]:port`` for IPv6."""
    if host.startswith("::ffff:") and "." in host:
        host = host[len("::ffff:"):]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _addresses() -> list[str]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    return sorted({"127.0.0.1", *(str(info[4][0]) for info in infos)})


def make_handler(name: str) -> type[BaseHTTPRequestHandler]:
    ips = _addresses()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            lines = [f"Hostname: {name}", *(f"IP: {ip}" for ip in ips),
                     f"RemoteAddr: {remote_addr(self.client_address[0], self.client_address[1])}",
                     f"{self.command} {self.path} {self.request_version}"]
            lines += [f"{k}: {v}" for k, v in self.headers.items()]
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="whoami-format HTTP backend")
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    handler = make_handler(args.name)
    try:  # a node without IPv6 cannot bind ``::``: IPv4 only then
        server: _Server = _DualStackServer(("::", args.port), handler)
    except OSError:
        server = _Server(("0.0.0.0", args.port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
