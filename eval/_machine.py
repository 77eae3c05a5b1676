"""What machine an eval script ran on: the CPU model and its flags, read from /proc/cpuinfo.

One implementation for the scripts that record their machine beside their results
(``rebuild_check.py``, ``bench_api_latency.py``). eval/ is not a package: a script imports this
after putting its own folder on ``sys.path``.
"""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def cpuinfo() -> str:
    """The text of /proc/cpuinfo ("" where there is none, as on macOS)."""
    try:
        return CPUINFO.read_text(encoding="utf-8")
    except OSError:
        return ""


def cpu_model(info: str | None = None) -> str:
    """The first ``model name`` of /proc/cpuinfo, else ``platform.processor()`` (may be "")."""
    text = cpuinfo() if info is None else info
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def has_flag(flag: str, info: str | None = None) -> bool:
    """Whether the CPU lists ``flag`` (e.g. ``avx512f``) among its /proc/cpuinfo flags."""
    text = cpuinfo() if info is None else info
    return any(
        flag in line.split(":", 1)[1].split()
        for line in text.splitlines()
        if line.startswith("flags") and ":" in line
    )


def cpu_summary() -> str:
    """The CPU model and whether it has AVX-512 (whose float kernels differ from AVX2's)."""
    info = cpuinfo()
    return (
        f"{cpu_model(info) or 'unknown'}; avx512f: {'yes' if has_flag('avx512f', info) else 'no'}"
    )
