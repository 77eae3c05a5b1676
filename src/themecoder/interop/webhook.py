"""Webhook signatures: HMAC-SHA256 over the timestamp and the raw body, with a time window.

A sender signs ``f"{timestamp}.".encode() + raw_body`` with the project's secret and sends

    X-Themecoder-Timestamp: 1767225600            (Unix seconds)
    X-Themecoder-Signature: sha256=<hex digest>

The timestamp is inside the signed bytes, so an old request cannot be made fresh without the
secret; a request older (or newer) than the window is refused, and within the window the
service refuses a signature it has seen (replays).
"""

from __future__ import annotations

import hashlib
import hmac

from themecoder.errors import Unauthorized

WINDOW_S = 300
PREFIX = "sha256="


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Themecoder-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return PREFIX + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    window_s: int = WINDOW_S,
) -> str:
    """The verified signature's digest, or :class:`Unauthorized` saying what is wrong."""
    if not timestamp or not signature:
        raise Unauthorized("X-Themecoder-Timestamp and X-Themecoder-Signature are required")
    try:
        sent = int(timestamp)
    except ValueError:
        raise Unauthorized("X-Themecoder-Timestamp must be Unix seconds") from None
    if abs(now - sent) > window_s:
        unit = " (Unix seconds, not milliseconds)" if sent > now * 100 else ""
        raise Unauthorized(f"stale request: timestamp is more than {window_s} s from now{unit}")
    expected = sign(secret, sent, body)
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str, and a header value
    # may hold any latin-1 character. Hex digits may come in either case.
    given = signature.strip().lower().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(expected.encode(), given):
        raise Unauthorized("bad signature")
    return expected.removeprefix(PREFIX)
