"""Basic-auth users and bearer tokens (``basic//<token>``): random, hashed at rest, constant-time checks."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from pathlib import Path

from jupyter_eo.backend.jobs import open_db
from jupyter_eo.errors import (AuthenticationRequired, AuthenticationSchemeInvalid,
                               CredentialsInvalid, TokenInvalid)

TOKEN_PREFIX = "basic//"
TOKEN_TTL_S = 7 * 24 * 3600


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Authenticator:
    """Checks passwords and issues/verifies bearer tokens; tokens survive backend restarts."""

    def __init__(self, users: dict[str, str], db_path: Path, ttl_s: float = TOKEN_TTL_S) -> None:
        self._users = dict(users)
        self._db_path = db_path
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        with open_db(db_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, user TEXT,"
                       " expires REAL, pwtag TEXT)")
            columns = [row[1] for row in db.execute("PRAGMA table_info(tokens)")]
            if "pwtag" not in columns:  # state written by an earlier version
                db.execute("ALTER TABLE tokens ADD COLUMN pwtag TEXT")
            db.execute("DELETE FROM tokens WHERE expires < ?", (time.time(),))
        self._cache: dict[str, tuple[str, float]] = {}

    @property
    def users(self) -> list[str]:
        return sorted(self._users)

    def check_basic(self, header: str | None) -> str:
        """Validate an ``Authorization: Basic ...`` header; return the user name."""
        if not header:
            raise AuthenticationRequired("HTTP basic authentication required.")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise AuthenticationSchemeInvalid("Use HTTP basic authentication for this endpoint.")
        try:
            name, sep, password = base64.b64decode(value.strip(), validate=True).decode(
                "utf-8").partition(":")
        except Exception:
            raise CredentialsInvalid("Malformed basic authentication header.") from None
        expected = self._users.get(name)
        # Compare against a dummy when the user is unknown so timing does not reveal names.
        ok = hmac.compare_digest((expected or "\0" * 32).encode(), password.encode())
        if not sep or expected is None or not ok:
            raise CredentialsInvalid()
        return name

    def issue_token(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        expires = time.time() + self._ttl_s
        with self._lock, open_db(self._db_path) as db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?)",
                       (_digest(token), user, expires, self._pwtag(user)))
            self._cache[_digest(token)] = (user, expires)
        return token

    def _pwtag(self, user: str) -> str:
        """Ties tokens to the user's current password: changing it invalidates old tokens."""
        return _digest(f"{user}\0{self._users.get(user, '')}")[:32]

    def check_bearer(self, header: str | None) -> str:
        """Validate ``Authorization: Bearer basic//<token>``; return the user name."""
        if not header:
            raise AuthenticationRequired()
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationSchemeInvalid("Use a bearer token (basic//<token>).")
        value = value.strip()
        if not value.startswith(TOKEN_PREFIX):
            raise AuthenticationSchemeInvalid("Only tokens of the 'basic' method are supported.")
        token = value[len(TOKEN_PREFIX):]
        digest = _digest(token)
        entry = self._cache.get(digest)
        if entry is None:
            with open_db(self._db_path) as db:
                row = db.execute("SELECT digest, user, expires, pwtag FROM tokens WHERE digest = ?",
                                 (digest,)).fetchone()
            if (row is not None and hmac.compare_digest(row[0], digest)
                    and hmac.compare_digest(row[3] or "", self._pwtag(row[1]))):
                entry = (row[1], row[2])
                self._cache[digest] = entry
        if entry is None or entry[1] < time.time() or entry[0] not in self._users:
            raise TokenInvalid()
        return entry[0]
