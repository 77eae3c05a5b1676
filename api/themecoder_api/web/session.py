"""Signed session cookies for the pages: the API key is exchanged once for a session naming the
key by id; the key itself never travels again and is never stored in the browser.

The cookie is ``base64(json).base64(hmac-sha256)``, HttpOnly and SameSite=Strict, and carries
a CSRF token every form and page request that changes something must echo back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from themecoder.errors import Forbidden

COOKIE = "tc_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class WebSession:
    """A browser session: ``key_id`` is None until sign-in."""

    csrf: str
    expires: float
    key_id: int | None = None
    new: bool = False


class Signer:
    """Signs and reads session cookies with one secret."""

    def __init__(self, secret: str | None, hours: float, secure: bool) -> None:
        self.secret = (secret or secrets.token_urlsafe(32)).encode()
        self.seconds = hours * 3600.0
        self.secure = secure

    def _mac(self, body: bytes) -> str:
        digest = hmac.new(self.secret, body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def fresh(self, key_id: int | None = None) -> WebSession:
        """A new session with a new CSRF token (sign-in rotates both)."""
        return WebSession(secrets.token_urlsafe(24), time.time() + self.seconds, key_id, True)

    def read(self, request: Request) -> WebSession:
        """The request's session, or a fresh anonymous one if it has none that is valid."""
        raw = request.cookies.get(COOKIE, "")
        body_b64, _, mac = raw.partition(".")
        try:
            body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
        except ValueError:
            return self.fresh()
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            return self.fresh()
        data = json.loads(body)
        if float(data.get("e", 0)) < time.time():
            return self.fresh()
        return WebSession(str(data["c"]), float(data["e"]), data.get("k"))

    def write(self, response: Response, session: WebSession) -> None:
        """Set the cookie for ``session``."""
        body = json.dumps({"k": session.key_id, "c": session.csrf, "e": session.expires}).encode()
        value = base64.urlsafe_b64encode(body).decode().rstrip("=") + "." + self._mac(body)
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self.seconds),
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/",
        )

    @staticmethod
    def clear(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")


def check_csrf(session: WebSession, token: str | None) -> None:
    """Refuse a state-changing request whose token does not match the session's."""
    if not token or not hmac.compare_digest(token, session.csrf):
        raise Forbidden("the form's security token is missing or stale; reload the page")
