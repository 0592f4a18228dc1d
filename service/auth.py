"""Moderator tokens: random, shown once, stored as SHA-256 hashes; roles moderator, admin, auditor."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.tables import moderators

ROLES = ("moderator", "admin", "auditor")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
TOKEN_PREFIX = "cmt_"  # noqa: S105 - a public marker, not a secret


class AuthError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def token_hash(token: str) -> str:
    # Tokens carry 256 random bits: a plain hash is enough, a slow KDF would only slow every request.
    return hashlib.sha256(token.encode()).hexdigest()


def validate(name: str, role: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise AuthError("a moderator name is 1-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")


async def add(conn: AsyncConnection, name: str, role: str, now: datetime) -> str:
    """Create (or re-issue after revocation) a moderator; returns the token, which is never stored in clear."""
    validate(name, role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    existing = (await conn.execute(sa.select(moderators).where(moderators.c.name == name))).first()
    if existing is not None and existing.revoked_at is None:
        raise AuthError(f"moderator {name!r} already exists; revoke it first to issue a new token")
    values = {"role": role, "token_hash": token_hash(token), "created_at": now, "revoked_at": None}
    if existing is None:
        await conn.execute(sa.insert(moderators).values(name=name, **values))
    else:
        await conn.execute(sa.update(moderators).where(moderators.c.name == name).values(**values))
    return token


async def revoke(conn: AsyncConnection, name: str, now: datetime) -> bool:
    result = await conn.execute(
        sa.update(moderators).where(moderators.c.name == name, moderators.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)


async def authenticate(conn: AsyncConnection, token: str) -> Principal | None:
    # Real tokens are URL-safe base64; anything else (say, undecodable header bytes) is simply unknown.
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or not token.isascii():
        return None
    row = (
        await conn.execute(
            sa.select(moderators.c.name, moderators.c.role).where(
                moderators.c.token_hash == token_hash(token), moderators.c.revoked_at.is_(None)
            )
        )
    ).first()
    return None if row is None else Principal(row.name, row.role)


async def list_all(conn: AsyncConnection) -> list[Any]:
    rows = await conn.execute(
        sa.select(moderators.c.name, moderators.c.role, moderators.c.created_at, moderators.c.revoked_at).order_by(
            moderators.c.name
        )
    )
    return list(rows.all())
