"""Users, API tokens and UI sessions (the repository behind :mod:`filiere.api.deps`).

Passwords are hashed with argon2id. API tokens and session ids are 256-bit random values; only
their sha256 digest is stored, which is safe for high-entropy secrets and cheap enough to check on
every request (argon2 is for low-entropy passwords).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from filiere.errors import ConflictError, NotFoundError, UserInputError
from filiere.store.base import Store

if TYPE_CHECKING:
    from argon2 import PasswordHasher

ROLES = ("analyst", "supervisor", "auditor", "admin", "machine")
TOKEN_PREFIX = "fil_"  # noqa: S105 - a public prefix, not a secret
SESSION_TTL = timedelta(hours=12)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserInputError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    return role


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    role: str
    via: str  # token | session
    csrf_token: str | None = None


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise UserInputError("password too short: use at least 8 characters")
    return str(_hasher().hash(password))


def add_user(
    store: Store, username: str, role: str, password: str | None = None, display_name: str | None = None
) -> None:
    """Create a user (``password`` may be None for machine users that only hold tokens)."""
    check_role(role)
    if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UserInputError(f"invalid username {username!r}: letters, digits, '.', '-', '_' only")
    pw_hash = hash_password(password) if password is not None else None
    with store.transaction():
        if store.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
            raise ConflictError(f"user {username!r} already exists")
        store.execute(
            "INSERT INTO users (username, password_hash, role, display_name, created_at) VALUES (?, ?, ?, ?, ?)",
            [username, pw_hash, role, display_name, _now()],
        )


def list_users(store: Store) -> list[dict[str, object]]:
    return store.query_dicts("SELECT username, role, display_name, created_at, disabled FROM users ORDER BY username")


def get_user_role(store: Store, username: str) -> str:
    row = store.query("SELECT role, disabled FROM users WHERE username = ?", [username])
    if not row:
        raise NotFoundError(f"no user {username!r}")
    if row[0][1]:
        raise UserInputError(f"user {username!r} is disabled")
    return str(row[0][0])


def set_disabled(store: Store, username: str, disabled: bool) -> None:
    if not store.scalar("SELECT 1 FROM users WHERE username = ?", [username]):
        raise NotFoundError(f"no user {username!r}")
    store.execute("UPDATE users SET disabled = ? WHERE username = ?", [disabled, username])


def authenticate_password(store: Store, username: str, password: str) -> str | None:
    """The user's role when ``password`` is right, else None (same answer for unknown users)."""
    from argon2.exceptions import VerificationError

    row = store.query("SELECT password_hash, role, disabled FROM users WHERE username = ?", [username])
    hasher = _hasher()
    if not row or row[0][0] is None or row[0][2]:
        # spend the same time as a real check so that user names cannot be probed by timing
        with contextlib.suppress(VerificationError):
            hasher.verify(_dummy_hash(), password)
        return None
    try:
        hasher.verify(row[0][0], password)
    except VerificationError:
        return None
    return str(row[0][1])


@functools.cache
def _dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_hex(8)))


def create_token(
    store: Store, username: str, role: str | None = None, label: str | None = None, days: int | None = None
) -> str:
    """A new API token for ``username`` (role defaults to the user's); returns the secret once."""
    user_role = get_user_role(store, username)
    role = check_role(role or user_role)
    if role != user_role and not (user_role in ("admin", "supervisor") or role == "machine"):
        raise UserInputError(f"user {username!r} has role {user_role!r}; a token cannot carry role {role!r}")
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    expires = _now() + timedelta(days=days) if days else None
    store.execute(
        "INSERT INTO api_tokens (token_id, token_hash, username, role, label, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [token_id, _sha256(token), username, role, label, _now(), expires],
    )
    return token


def list_tokens(store: Store) -> list[dict[str, object]]:
    return store.query_dicts(
        "SELECT token_id, username, role, label, created_at, expires_at, revoked_at, last_used_at"
        " FROM api_tokens ORDER BY created_at"
    )


def revoke_token(store: Store, token_id: str) -> None:
    if not store.scalar("SELECT 1 FROM api_tokens WHERE token_id = ?", [token_id]):
        raise NotFoundError(f"no API token {token_id!r}")
    store.execute("UPDATE api_tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL", [_now(), token_id])


def principal_for_token(store: Store, token: str) -> Principal | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    token_id = token[len(TOKEN_PREFIX) :].split("_", 1)[0]
    rows = store.query(
        "SELECT t.token_hash, t.username, t.role FROM api_tokens t JOIN users u USING (username)"
        " WHERE t.token_id = ? AND t.revoked_at IS NULL AND NOT u.disabled"
        " AND (t.expires_at IS NULL OR t.expires_at > ?)",
        [token_id, _now()],
    )
    if not rows or not hmac.compare_digest(rows[0][0], _sha256(token)):
        return None
    return Principal(rows[0][1], rows[0][2], "token")


def create_session(store: Store, username: str) -> tuple[str, str]:
    """A new UI session: returns (cookie value, CSRF token)."""
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    now = _now()
    store.execute("DELETE FROM sessions WHERE expires_at < ?", [now])
    store.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", [_sha256(sid), username, csrf, now, now + SESSION_TTL])
    return sid, csrf


def principal_for_session(store: Store, sid: str) -> Principal | None:
    if not sid or len(sid) > 200:
        return None
    rows = store.query(
        "SELECT s.username, u.role, s.csrf_token FROM sessions s JOIN users u USING (username)"
        " WHERE s.session_hash = ? AND s.expires_at > ? AND NOT u.disabled",
        [_sha256(sid), _now()],
    )
    if not rows:
        return None
    return Principal(rows[0][0], rows[0][1], "session", rows[0][2])


def end_session(store: Store, sid: str) -> None:
    store.execute("DELETE FROM sessions WHERE session_hash = ?", [_sha256(sid)])
