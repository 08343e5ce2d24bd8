"""API tokens with scopes, the web password, server-side sessions and the login throttle.

Tokens look like ``icp_<id>_<secret>`` and carry a scope: ``score`` (score
accounts and answer CRM webhooks, nothing else; the default) or ``admin``
(everything the web user can do). The workspace stores only a salted scrypt
hash of the secret (table ``_web_tokens``), so a copy of the workspace file
does not leak working tokens. A verified token is remembered in memory for a
minute (as an HMAC under a per-process key), so the API does not pay for
scrypt on every request. Checking a token that does not exist costs the same
scrypt as a wrong secret, so token ids cannot be enumerated by timing.

The web password is stored as a salted scrypt hash too. A web session is a
row of ``_web_sessions`` (id, subject, expiry: logging out deletes it) named
by a cookie signed with a key kept outside the workspace file, in
``.icp-web-secret`` beside it (mode 0600). Changing the password writes a
new key and ends every session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import IcpkitError
from ..workspace import Workspace

TOKENS_DDL = """CREATE TABLE IF NOT EXISTS _web_tokens (
    token_id VARCHAR PRIMARY KEY, name VARCHAR, salt VARCHAR, hash VARCHAR,
    created_at TIMESTAMP, revoked BOOLEAN, scope VARCHAR)"""
SESSIONS_DDL = """CREATE TABLE IF NOT EXISTS _web_sessions (
    sid VARCHAR PRIMARY KEY, subject VARCHAR, created_at TIMESTAMP, expires_at TIMESTAMP)"""
PASSWORD_KEY = "web_password"
OLD_SESSION_KEY = "web_session_key"  # where versions before 0.2 kept the signing key
SECRET_FILE = ".icp-web-secret"
SCOPES = ("score", "admin")
DEFAULT_SCOPE = "score"
SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
CACHE_SECONDS = 60.0
SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 8
_DUMMY_SALT = secrets.token_bytes(16)


class AuthError(IcpkitError):
    """Authentication required: send `Authorization: Bearer <token>` (create one with `icp token create`)."""


class ScopeError(IcpkitError):
    """This token may only score accounts and answer CRM webhooks (scope 'score'). Use an admin token: `icp token create --scope admin`."""


class PasswordError(IcpkitError, ValueError):
    """The password is not acceptable."""


class TooManyAttempts(IcpkitError):
    """Too many failed attempts from this client. Wait, then try again."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(1, int(retry_after + 0.999))
        super().__init__(
            f"Too many failed attempts from this client. Try again in {self.retry_after} seconds."
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _scrypt(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, maxmem=64 * 1024 * 1024, **SCRYPT).hex()


def ensure_tables(ws: Workspace) -> None:
    """Create the web tables, bring older ones up to date and drop the old in-file session key."""
    if ws.read_only:
        return
    ws.execute(TOKENS_DDL)
    # tokens made before scopes existed could do everything: they stay admin tokens
    ws.execute("ALTER TABLE _web_tokens ADD COLUMN IF NOT EXISTS scope VARCHAR DEFAULT 'admin'")
    ws.execute(SESSIONS_DDL)
    if ws.meta(OLD_SESSION_KEY):
        ws.execute("DELETE FROM _meta WHERE key = ?", [OLD_SESSION_KEY])
        ws.checkpoint()  # the old key leaves the file, not only the log


def _has_table(ws: Workspace, name: str = "_web_tokens") -> bool:
    if not ws.file.exists():
        return False
    row = ws.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [name]
    )
    return bool(row["n"][0])


class ScopeValueError(IcpkitError, ValueError):
    """Unknown token scope."""


def _check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ScopeValueError(f"unknown token scope '{scope}'; use one of {', '.join(SCOPES)}")
    return scope


def create_token(ws: Workspace, name: str = "", scope: str = DEFAULT_SCOPE) -> str:
    """Create an API token; returns the token text (shown once, stored only as a hash).

    ``scope`` is ``score`` (scoring and webhooks only, the default) or ``admin``.

    >>> token = create_token(Workspace("ws"), name="hubspot")  # doctest: +SKIP
    """
    _check_scope(scope)
    ensure_tables(ws)
    token_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(24)
    salt = secrets.token_bytes(16)
    ws.execute(
        "INSERT INTO _web_tokens (token_id, name, salt, hash, created_at, revoked, scope) "
        "VALUES (?, ?, ?, ?, ?, false, ?)",
        [token_id, name or "", salt.hex(), _scrypt(secret, salt), _now(), scope],
    )
    return f"icp_{token_id}_{secret}"


def list_tokens(ws: Workspace) -> list[dict[str, Any]]:
    if not _has_table(ws):
        return []
    df = ws.query(
        "SELECT token_id, name, created_at, revoked, scope FROM _web_tokens ORDER BY created_at"
    )
    return [
        {
            "token_id": r.token_id,
            "name": r.name,
            "scope": r.scope or "admin",
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


def token_record(ws: Workspace, token: str) -> dict[str, Any] | None:
    """The stored record for ``token``'s id (quick: no scrypt); None when malformed.

    The record of an unknown or revoked id has ``usable`` False; verify the
    secret with :func:`verify_token`, outside any lock.
    """
    parts = _split(token)
    if parts is None:
        return None
    token_id, secret = parts
    rows = (
        ws.rows(
            "SELECT name, salt, hash, revoked, scope FROM _web_tokens WHERE token_id = ?",
            [token_id],
        )
        if _has_table(ws)
        else []
    )
    if not rows:
        return {"token_id": token_id, "secret": secret, "usable": False}
    name, salt, want, revoked, scope = rows[0]
    return {"token_id": token_id, "secret": secret, "name": str(name), "salt": str(salt),
            "hash": str(want), "scope": str(scope or "admin"), "usable": not revoked}  # fmt: skip


def verify_token(rec: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"token_id", "name", "scope"}`` when the record's secret matches, else None.

    An unknown id pays for the same scrypt as a wrong secret (no timing oracle).
    """
    if rec is None:
        return None
    if not rec["usable"] or "hash" not in rec:
        _scrypt(rec["secret"], _DUMMY_SALT)
        return None
    if not hmac.compare_digest(_scrypt(rec["secret"], bytes.fromhex(rec["salt"])), rec["hash"]):
        return None
    return {"token_id": rec["token_id"], "name": rec["name"], "scope": rec["scope"]}


def check_token(ws: Workspace, token: str) -> dict[str, Any] | None:
    """The token's record (id, name, scope) when ``token`` is valid and not revoked, else None."""
    return verify_token(token_record(ws, token))


# -- password ---------------------------------------------------------------------


def has_password(ws: Workspace) -> bool:
    return ws.file.exists() and bool(ws.meta(PASSWORD_KEY))


def set_password(ws: Workspace, password: str) -> None:
    """Set the web password; every existing session ends (the signing key is replaced)."""
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"The password needs at least {MIN_PASSWORD} characters.")
    salt = secrets.token_bytes(16)
    ws.set_meta({PASSWORD_KEY: f"scrypt${salt.hex()}${_scrypt(password, salt)}"})
    end_sessions(ws)
    rotate_key(ws.dir)


def password_record(ws: Workspace) -> str | None:
    """The stored password hash (quick); check it with :func:`verify_password` outside any lock."""
    return ws.meta(PASSWORD_KEY) if ws.file.exists() else None


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        _scrypt(password, _DUMMY_SALT)
        return False
    _, salt, want = stored.split("$", 2)
    return hmac.compare_digest(_scrypt(password, bytes.fromhex(salt)), want)


def check_password(ws: Workspace, password: str) -> bool:
    return verify_password(password_record(ws), password)


# -- the session key, outside the workspace file ------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def session_key(folder: str | Path) -> bytes:
    """The key that signs session cookies: ``.icp-web-secret`` in ``folder`` (0600), made on first use."""
    path = Path(folder) / SECRET_FILE
    try:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) >= 32:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            return key
    except (OSError, ValueError):
        pass
    return rotate_key(folder)


def rotate_key(folder: str | Path) -> bytes:
    """Write a new session key: every cookie signed with the old one stops working."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    _write_private(Path(folder) / SECRET_FILE, key.hex().encode())
    return key


# -- sessions ---------------------------------------------------------------------


def start_session(ws: Workspace, subject: str, ttl: int = SESSION_SECONDS) -> tuple[str, float]:
    """A new session row for ``subject``: its id and its expiry (epoch seconds)."""
    ws.execute(SESSIONS_DDL)
    sid = secrets.token_urlsafe(18)
    now = _now()
    expires = now + timedelta(seconds=ttl)
    ws.execute("DELETE FROM _web_sessions WHERE expires_at < ?", [now])  # keep the table small
    ws.execute("INSERT INTO _web_sessions VALUES (?, ?, ?, ?)", [sid, subject, now, expires])
    return sid, time.time() + ttl


def end_session(ws: Workspace, sid: str) -> None:
    if _has_table(ws, "_web_sessions"):
        ws.execute("DELETE FROM _web_sessions WHERE sid = ?", [sid])


def end_sessions(ws: Workspace) -> None:
    if _has_table(ws, "_web_sessions"):
        ws.execute("DELETE FROM _web_sessions")


def live_sessions(ws: Workspace) -> dict[str, tuple[str, float]]:
    """Unexpired sessions: id → (subject, expiry in epoch seconds)."""
    if not _has_table(ws, "_web_sessions"):
        return {}
    rows = ws.rows(
        "SELECT sid, subject, expires_at FROM _web_sessions WHERE expires_at > ?", [_now()]
    )
    return {str(sid): (str(sub), exp.replace(tzinfo=UTC).timestamp()) for sid, sub, exp in rows}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_session(key: bytes, sid: str, expires: float) -> str:
    """The cookie for session ``sid``: ``payload.signature`` (HMAC-SHA256 under ``key``)."""
    payload = _b64(json.dumps({"sid": sid, "exp": int(expires)}).encode())
    sig = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def read_session(key: bytes, cookie: str | None) -> str | None:
    """The session id when the cookie is authentic and unexpired (the server still checks the id)."""
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
    sid = data.get("sid")
    return str(sid) if sid else None


# -- the login throttle --------------------------------------------------------------


class Throttle:
    """Failed attempts per client, with exponential backoff.

    Each client (its address) has ``free`` failures; every failure after that
    locks it out for ``base`` seconds, doubling up to ``cap``. A success
    clears the client; a client quiet for ``forget`` seconds starts afresh.
    """

    def __init__(self, free: int = 5, base: float = 1.0, cap: float = 900.0,
                 forget: float = 900.0, clock: Any = time.monotonic) -> None:  # fmt: skip
        self.free, self.base, self.cap, self.forget = free, base, cap, forget
        self.clock = clock
        self._seen: dict[str, tuple[int, float, float]] = {}  # failures, last, locked until
        self._mutex = threading.Lock()

    def check(self, client: str) -> None:
        """Raise :class:`TooManyAttempts` while ``client`` is locked out."""
        now = self.clock()
        hit = self._seen.get(client)
        if hit is not None and hit[2] > now:
            raise TooManyAttempts(hit[2] - now)

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._mutex:
            if len(self._seen) > 100_000:
                self._seen.clear()
            n, last, _ = self._seen.get(client, (0, now, 0.0))
            if now - last > self.forget:
                n = 0
            n += 1
            locked = (
                now + min(self.cap, self.base * 2 ** (n - self.free - 1)) if n > self.free else 0.0
            )
            self._seen[client] = (n, now, locked)

    def succeeded(self, client: str) -> None:
        with self._mutex:
            self._seen.pop(client, None)


@dataclass
class Principal:
    """Who made a request: a token (by id, name and scope) or the web user."""

    kind: str
    name: str
    token_id: str | None = None
    scope: str = "admin"


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
