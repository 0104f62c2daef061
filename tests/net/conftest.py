"""Helpers for tests that run a client and a server over a shaped link in a private network namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def namespace_unavailable() -> str:
    """Why a private, shaped network cannot be made here ("" if it can)."""
    for tool in ("unshare", "ip", "tc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install util-linux iproute2)"
    if os.geteuid() != 0:
        return "unshare -n needs root (CAP_SYS_ADMIN) to make a private network namespace"
    probe = subprocess.run(["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -n is not permitted here: {probe.stderr.strip()}"
    return ""


def run_shaped_link(shaped_s: float, calm_s: float, timeout: float = 180) -> dict[str, Any]:
    """Run tests/net/shaped_link.py in a fresh network namespace; its figures as a dict."""
    why = namespace_unavailable()
    if why:
        pytest.skip(why)
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.net.shaped_link", str(shaped_s), str(calm_s)],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, f"shaped link run failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
