"""A kubeconfig that points the real kubernetes client at an API double served by pytest-httpserver."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_kubeconfig(path: Path, server: str, name: str = "kind-myk8s", token: str = "model") -> Path:
    """Write a one-context kubeconfig for ``server`` (the double's URL) to ``path``; returns ``path``."""
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": server.rstrip("/")}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "users": [{"name": name, "user": {"token": token}}]}))
    return path
