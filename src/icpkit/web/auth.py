"""API tokens, the web password and signed session cookies, kept in the workspace.

Tokens look like ``icp_<id>_<secret>``. The workspace stores only a salted
scrypt hash of the secret (table ``_web_tokens``), so a copy of the workspace
file does not leak working tokens. A verified token is remembered in memory for
a minute (as an HMAC under a per-process key), so the API does not pay for
scrypt on every request. The web password is stored the same way; the session
cookie is ``payload.signature`` with an HMAC-SHA256 signature under a key kept
in the workspace, so sessions survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import IcpkitError
from ..workspace import Workspace

TOKENS_DDL = """CREATE TABLE IF NOT EXISTS _web_tokens (
    token_id VARCHAR PRIMARY KEY, name VARCHAR, salt VARCHAR, hash VARCHAR,
    created_at TIMESTAMP, revoked BOOLEAN)"""
PASSWORD_KEY = "web_password"
SESSION_KEY = "web_session_key"
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
CACHE_SECONDS = 60.0
SESSION_SECONDS = 7 * 24 * 3600
MIN_PASSWORD = 8


class AuthError(IcpkitError):
    """Authentication required: send `Authorization: Bearer <token>` (create one with `icp token create`)."""


class PasswordError(IcpkitError, ValueError):
    """The password is not acceptable."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _scrypt(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, maxmem=64 * 1024 * 1024, **SCRYPT).hex()


def ensure_tables(ws: Workspace) -> None:
    if ws.read_only:
        return
    ws.execute(TOKENS_DDL)


def _has_table(ws: Workspace) -> bool:
    if not ws.file.exists():
        return False
    row = ws.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = '_web_tokens'"
    )
    return bool(row["n"][0])


def create_token(ws: Workspace, name: str = "") -> str:
    """Create an API token; returns the token text (shown once, stored only as a hash).

    >>> token = create_token(Workspace("ws"), name="hubspot")  # doctest: +SKIP
    """
    ensure_tables(ws)
    token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(24)
    salt = secrets.token_bytes(16)
    ws.execute(
        "INSERT INTO _web_tokens VALUES (?, ?, ?, ?, ?, false)",
        [token_id, name or "", salt.hex(), _scrypt(secret, salt), _now()],
    )
    return f"icp_{token_id}_{secret}"


def list_tokens(ws: Workspace) -> list[dict[str, Any]]:
    if not _has_table(ws):
        return []
    df = ws.query("SELECT token_id, name, created_at, revoked FROM _web_tokens ORDER BY created_at")
    return [
        {
            "token_id": r.token_id,
            "name": r.name,
            "created_at": str(r.created_at)[:19],
            "revoked": bool(r.revoked),
        }
        for r in df.itertuples()
    ]


def revoke_token(ws: Workspace, token_id: str) -> bool:
    if not _has_table(ws):
        return False
    n = ws.execute(
        "UPDATE _web_tokens SET revoked = true WHERE token_id = ? AND NOT revoked RETURNING 1",
        [token_id],
    )
    return bool(n)


def _split(token: str) -> tuple[str, str] | None:
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "icp" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def check_token(ws: Workspace, token: str) -> dict[str, Any] | None:
    """The token's record when ``token`` is valid and not revoked, else None."""
    parts = _split(token)
    if parts is None or not _has_table(ws):
        return None
    token_id, secret = parts
    df = ws.query(
        "SELECT token_id, name, salt, hash, revoked FROM _web_tokens WHERE token_id = ?",
        [token_id],
    )
    if len(df) == 0 or bool(df["revoked"][0]):
        return None
    want = str(df["hash"][0])
    if not hmac.compare_digest(_scrypt(secret, bytes.fromhex(str(df["salt"][0]))), want):
        return None
    return {"token_id": token_id, "name": str(df["name"][0])}


# -- password ---------------------------------------------------------------------


def has_password(ws: Workspace) -> bool:
    return ws.file.exists() and bool(ws.meta(PASSWORD_KEY))


def set_password(ws: Workspace, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"The password needs at least {MIN_PASSWORD} characters.")
    salt = secrets.token_bytes(16)
    ws.set_meta({PASSWORD_KEY: f"scrypt${salt.hex()}${_scrypt(password, salt)}"})


def check_password(ws: Workspace, password: str) -> bool:
    stored = ws.meta(PASSWORD_KEY) if ws.file.exists() else None
    if not stored:
        return False
    _, salt, want = stored.split("$", 2)
    return hmac.compare_digest(_scrypt(password, bytes.fromhex(salt)), want)


# -- sessions ---------------------------------------------------------------------


def session_key(ws: Workspace) -> bytes:
    key = ws.meta(SESSION_KEY) if ws.file.exists() else None
    if not key:
        key = secrets.token_hex(32)
        ws.set_meta({SESSION_KEY: key})
    return bytes.fromhex(key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_session(key: bytes, subject: str, ttl: int = SESSION_SECONDS) -> str:
    payload = _b64(json.dumps({"sub": subject, "exp": int(time.time()) + ttl}).encode())
    sig = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_session(key: bytes, cookie: str | None) -> str | None:
    """The session's subject when the cookie is authentic and unexpired."""
    if not cookie or "." not in cookie:
        return None
    payload, sig = cookie.rsplit(".", 1)
    want = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(sig, want):
        return None
    try:
        data = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or int(data.get("exp", 0)) < time.time():
        return None
    sub = data.get("sub")
    return str(sub) if sub else None


@dataclass
class Principal:
    """Who made a request: a token (by id and name) or the web user."""

    kind: str
    name: str
    token_id: str | None = None


class TokenCache:
    """Tokens verified in the last minute, as HMACs under a per-process key."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._seen: dict[str, tuple[float, Principal]] = {}
        self._mutex = threading.Lock()

    def _digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def get(self, token: str) -> Principal | None:
        d = self._digest(token)
        hit = self._seen.get(d)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, who: Principal) -> None:
        with self._mutex:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[self._digest(token)] = (time.monotonic() + self.ttl, who)

    def clear(self) -> None:
        with self._mutex:
            self._seen.clear()
