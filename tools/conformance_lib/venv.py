"""A virtualenv holding Tempest, made once and reused while its Tempest version is right."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

from conformance_lib import TEMPEST_VERSION

REPO = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """``$ONESTACK_CACHE`` or ``.onestack-cache`` in the checkout (git-ignored)."""
    return Path(os.environ.get("ONESTACK_CACHE") or REPO / ".onestack-cache")


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def installed_version(venv: Path) -> str | None:
    """Tempest's version in ``venv``, or None when the venv or Tempest is missing."""
    python = venv_python(venv)
    if not python.exists():
        return None
    proc = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('tempest'))"],
        check=False, capture_output=True, text=True, timeout=120,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _create(venv: Path, log: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    with open(log, "ab") as out:
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv_python(venv)), "-m", "pip", "install", "--quiet", "--upgrade", "pip", "setuptools", "wheel"],
            [str(venv_python(venv)), "-m", "pip", "install", "--quiet", f"tempest=={TEMPEST_VERSION}"],
        ]
        for cmd in steps:
            print(f"conformance: {' '.join(cmd)}", flush=True)
            if subprocess.run(cmd, check=False, stdout=out, stderr=subprocess.STDOUT, timeout=1800).returncode != 0:
                raise SystemExit(f"conformance: could not build the Tempest virtualenv; see {log}")


def ensure_tempest(venv: Path | None = None) -> Path:
    """Return a virtualenv with Tempest ``TEMPEST_VERSION``, building it under the cache if needed.

    A lock file keeps two concurrent runs from building the same venv at once.
    """
    target = venv or cache_dir() / "tempest-venv"
    if installed_version(target) == TEMPEST_VERSION:
        return target
    if venv is not None and venv_python(venv).exists():
        raise SystemExit(f"conformance: {venv} holds tempest {installed_version(venv)}, not {TEMPEST_VERSION}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "tempest-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version(target) != TEMPEST_VERSION:
            print(f"conformance: installing Tempest {TEMPEST_VERSION} into {target}", flush=True)
            _create(target, target.parent / "tempest-venv-build.log")
    if installed_version(target) != TEMPEST_VERSION:
        raise SystemExit(f"conformance: Tempest {TEMPEST_VERSION} is not importable from {target}")
    return target
