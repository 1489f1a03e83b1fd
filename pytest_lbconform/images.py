"""The lab image: built once per package list, offline with debootstrap or from the Dockerfile.

The image is a cache, not a run resource: it is tagged by a hash of ``fixtures/lab/`` inputs and
kept between runs, so a second run starts at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import docker
import docker.errors

from . import hostcmd, labels
from .errors import ImageBuildError
from .paths import FIXTURES

LAB_DIR = FIXTURES / "lab"
REPOSITORY = "lbconform-lab"
SUITE = "bookworm"
#: bump when the way the image is built changes, so the hash changes with it
BUILDER_VERSION = "1"

ImageSource = Literal["auto", "debootstrap", "dockerfile"]
IMAGE_SOURCES: tuple[str, ...] = ("auto", "debootstrap", "dockerfile")
Progress = Callable[[str], None]


def packages() -> list[str]:
    """The Debian packages of the lab image, from ``fixtures/lab/packages.txt``."""
    text = (LAB_DIR / "packages.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def image_tag() -> str:
    """``lbconform-lab:<hash>`` where the hash covers every input of the build."""
    digest = hashlib.sha256()
    digest.update(BUILDER_VERSION.encode())
    digest.update(SUITE.encode())
    for name in ("packages.txt", "Dockerfile"):
        digest.update((LAB_DIR / name).read_bytes())
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def debian_mirror() -> str | None:
    """The Debian mirror apt uses on this host (so debootstrap goes where apt goes), if found.

    ``LBCONFORM_DEBIAN_MIRROR`` overrides; ``None`` lets debootstrap use its own default.
    """
    if env := os.environ.get("LBCONFORM_DEBIAN_MIRROR"):
        return env
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        for stanza in deb822.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#")
            )
            uris = fields.get("URIs", "").split()
            if uris and SUITE in fields.get("Suites", "").split() and "security" not in uris[0]:
                return uris[0].strip()
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == SUITE:
                return parts[1]
    return None


def resolve_source(source: str) -> Literal["debootstrap", "dockerfile"]:
    """``auto`` means debootstrap where it can run (root on Linux), else the Dockerfile."""
    if source not in IMAGE_SOURCES:
        raise ImageBuildError(f"--lab-image-source={source!r} is not one of {', '.join(IMAGE_SOURCES)}")
    if source == "auto":
        can_debootstrap = os.name == "posix" and os.geteuid() == 0 and shutil.which("debootstrap")
        return "debootstrap" if can_debootstrap else "dockerfile"
    return source  # type: ignore[return-value]


def ensure_image(client: docker.DockerClient, source: str = "auto", progress: Progress = print) -> str:
    """Return the lab image tag, building the image first when it is missing."""
    tag = image_tag()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    how = resolve_source(source)
    progress(f"lbconform: building lab image {tag} with {how} (once per package list; ~1 min)")
    if how == "debootstrap":
        _build_debootstrap(client, tag, progress)
    else:
        _build_dockerfile(client, tag, progress)
    progress(f"lbconform: lab image {tag} ready")
    return tag


def _build_debootstrap(client: docker.DockerClient, tag: str, progress: Progress) -> None:
    if not shutil.which("debootstrap"):
        raise ImageBuildError(
            "debootstrap is not installed: `apt-get install -y debootstrap` "
            "(or --lab-image-source=dockerfile where a registry is reachable)"
        )
    with tempfile.TemporaryDirectory(prefix="lbconform-rootfs-", dir="/var/tmp") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap", "--variant=minbase", f"--include={','.join(packages())}",
            SUITE, str(rootfs),
        ]
        if mirror := debian_mirror():
            cmd.append(mirror)
        progress(f"lbconform:   debootstrap {SUITE} into {rootfs}")
        _run(cmd, "debootstrap")
        # apt caches are not needed at run time and make the image larger
        for cache in (rootfs / "var/cache/apt/archives").glob("*.deb"):
            cache.unlink()
        tarball = Path(tmp) / "rootfs.tar"
        progress("lbconform:   packing the root filesystem and importing it")
        _run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], "tar")
        repository, version = tag.split(":")
        client.api.import_image_from_file(
            str(tarball), repository=repository, tag=version,
            changes=[f"LABEL {labels.IMAGE}=lab", 'CMD ["sleep", "infinity"]'],
        )
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound as exc:
        raise ImageBuildError(f"docker import did not produce {tag}") from exc


def _build_dockerfile(client: docker.DockerClient, tag: str, progress: Progress) -> None:
    try:
        client.images.build(path=str(LAB_DIR), tag=tag, labels={labels.IMAGE: "lab"}, rm=True)
    except (docker.errors.BuildError, docker.errors.APIError) as exc:
        raise ImageBuildError(
            f"building {tag} from {LAB_DIR / 'Dockerfile'} failed: {str(exc).splitlines()[0]}; "
            "offline hosts use --lab-image-source=debootstrap (as root, with debootstrap installed)"
        ) from exc


def _run(cmd: list[str], what: str) -> None:
    hostcmd.run(cmd, what, error=ImageBuildError)


def main() -> int:
    """``python -m pytest_lbconform.images``: build the lab image now (used by scripts/setup)."""
    import argparse
    import sys

    from .docker_engine import connect
    from .errors import LbconformError

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--source", default=os.environ.get("LBCONFORM_LAB_IMAGE_SOURCE", "auto"),
                        choices=IMAGE_SOURCES)
    args = parser.parse_args()
    try:
        print(ensure_image(connect(), args.source))
    except LbconformError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
