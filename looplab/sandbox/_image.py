"""Building a sandbox image with no registry: debootstrap a rootfs, ``docker import`` it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable

from looplab.errors import SandboxError
from looplab.sandbox._docker import BUILT_IMAGE, docker_client

__all__ = ["build_image"]

DEFAULT_MIRROR = "http://deb.debian.org/debian"


def build_image(
    tag: str = BUILT_IMAGE,
    *,
    suite: str = "bookworm",
    mirror: str = DEFAULT_MIRROR,
    log: Callable[[str], None] = lambda line: None,
) -> str:
    """Build a minimal Debian image with Python 3 and tag it; returns the tag.

    Needs root (debootstrap), the debootstrap package and a Debian mirror;
    takes about a minute.
    """
    if os.geteuid() != 0:
        raise SandboxError("building the image needs root (debootstrap): run it with sudo")
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap is not installed: apt-get install debootstrap")
    client = docker_client()
    with tempfile.TemporaryDirectory(prefix="looplab-rootfs-") as tmp:
        rootfs = os.path.join(tmp, "rootfs")
        log(f"debootstrap {suite} from {mirror} ...")
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=python3", suite, rootfs, mirror],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            tail = " ".join(done.stdout.split()[-30:] + done.stderr.split()[-30:])
            raise SandboxError(f"debootstrap failed (exit {done.returncode}): {tail[-400:]}")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            shutil.rmtree(os.path.join(rootfs, cache), ignore_errors=True)
        archive = os.path.join(tmp, "rootfs.tar")
        log("packing the rootfs ...")
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        repository, _, version = tag.partition(":")
        log(f"docker import as {tag} ...")
        try:
            client.api.import_image_from_file(
                archive, repository=repository, tag=version or "latest"
            )
        except Exception as exc:
            raise SandboxError(f"docker import failed: {exc}") from exc
    return tag
