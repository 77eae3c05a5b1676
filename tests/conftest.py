"""Shared fixtures. Tests are offline: sockets may only reach loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise OSError(f"tests may not reach the network ({host})")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign]

DATA = Path(__file__).parent / "data"


@pytest.fixture
def settings(tmp_path: Path):
    from themecoder.config import Settings

    return Settings(db_url=f"sqlite:///{tmp_path / 'store.db'}", results_dir=tmp_path / "results")


@pytest.fixture(scope="session")
def coder():
    """The shipped coder with the real embedding and spaCy models, loaded once."""
    from themecoder.coder import Coder
    from themecoder.config import Settings

    return Coder.load(Settings())
