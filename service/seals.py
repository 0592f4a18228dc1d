"""Seals: Ed25519 signatures over the log's head, made every N events or M minutes, checked against the log."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from service import eventstore
from service.db import Database, iso, utc
from service.tables import events, seals

log = logging.getLogger("comments.seals")
ALGORITHM = "Ed25519"
KEY_PURPOSE = "comments/seal-signing/v1"
CHECK_SECONDS = 30.0
HASH = re.compile(r"^[0-9a-f]{64}$")


def message(position: int, head_hash: str, sealed_at: datetime) -> bytes:
    """What a seal signs: the head's position and hash, and when; versioned so the form can change."""
    return f"comments-seal/v1\n{position}\n{head_hash}\n{iso(sealed_at)}".encode("ascii")


@dataclass(frozen=True, slots=True)
class SealKey:
    """The signing key, derived (HKDF) from the master secret: no extra secret to keep, none to lose."""

    private: Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> SealKey:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_PURPOSE.encode()).derive(secret.encode())
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_bytes)

    def sign(self, position: int, head_hash: str, sealed_at: datetime) -> bytes:
        return self.private.sign(message(position, head_hash, sealed_at))


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class Seal:
    position: int
    hash: str
    sealed_at: datetime
    key_id: str
    signature: bytes
    public_key: bytes | None = None
    """The key an exported seal names; None for the database's own seals (checked with the service's key)."""

    def signed_by(self, public_key: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(
                self.signature, message(self.position, self.hash, self.sealed_at)
            )
        except (InvalidSignature, ValueError):
            return False
        return True


def _seal_of(row: Any) -> Seal:
    return Seal(
        position=int(row.position),
        hash=str(row.hash),
        sealed_at=utc(row.sealed_at),
        key_id=str(row.key_id),
        signature=bytes(row.signature),
    )


async def stored(conn: AsyncConnection) -> list[Seal]:
    """Every seal in the database, oldest first (one every N events: few even for a large log)."""
    return [_seal_of(row) for row in await conn.execute(sa.select(seals).order_by(seals.c.position))]


async def latest(conn: AsyncConnection) -> Seal | None:
    row = (await conn.execute(sa.select(seals).order_by(seals.c.position.desc()).limit(1))).first()
    return None if row is None else _seal_of(row)


# --- sealing --------------------------------------------------------------------------------------------------


async def seal_head(db: Database, key: SealKey, now: datetime) -> Seal | None:
    """Sign the head as it is now; None when the log is empty or its head is already sealed."""
    try:
        async with db.write() as conn:
            position, head_hash = await eventstore.head(conn)
            last = await latest(conn)
            if position == 0 or (last is not None and last.position >= position):
                return None
            sealed_at = utc(now)
            seal = Seal(
                position=position,
                hash=head_hash,
                sealed_at=sealed_at,
                key_id=key.key_id,
                signature=key.sign(position, head_hash, sealed_at),
            )
            await conn.execute(
                sa.insert(seals).values(
                    position=position,
                    hash=head_hash,
                    sealed_at=sealed_at,
                    key_id=seal.key_id,
                    signature=seal.signature,
                )
            )
    except IntegrityError:
        return None  # another process sealed this head a moment ago
    return seal


async def is_due(conn: AsyncConnection, now: datetime, every_events: int, every_minutes: int) -> bool:
    """Due when N events wait unsealed, or the oldest unsealed event has waited M minutes (0 turns either off)."""
    position, _hash = await eventstore.head(conn)
    last = await latest(conn)
    sealed = 0 if last is None else last.position
    if position <= sealed:
        return False
    if every_events and position - sealed >= every_events:
        return True
    if every_minutes:
        waiting_since = await conn.scalar(sa.select(events.c.recorded_at).where(events.c.position == sealed + 1))
        return waiting_since is not None and utc(waiting_since) <= utc(now) - timedelta(minutes=every_minutes)
    return False


async def seal_if_due(
    db: Database, key: SealKey, now: datetime, *, every_events: int, every_minutes: int
) -> Seal | None:
    async with db.read() as conn:
        due = await is_due(conn, now, every_events, every_minutes)
    return await seal_head(db, key, now) if due else None


async def run_forever(
    db: Database,
    key: SealKey,
    clock: Callable[[], datetime],
    *,
    every_events: int,
    every_minutes: int,
    interval: float = CHECK_SECONDS,
) -> None:
    """Seal whenever due, checking every `interval` seconds until cancelled; returns at once when both are off."""
    if not every_events and not every_minutes:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            seal = await seal_if_due(db, key, clock(), every_events=every_events, every_minutes=every_minutes)
        except (SQLAlchemyError, OSError):
            log.exception("sealing failed; retrying next round")
            continue
        if seal is not None:
            log.info("sealed", extra={"position": seal.position, "hash": seal.hash})


# --- exporting and checking -----------------------------------------------------------------------------------


def export_line(seal: Seal, public_key: bytes) -> str:
    """One seal as a JSON line, with the public key that checks it: the file proves itself."""
    document = {
        "position": seal.position,
        "hash": seal.hash,
        "sealed_at": iso(seal.sealed_at),
        "algorithm": ALGORITHM,
        "key_id": seal.key_id,
        "public_key": base64.b64encode(public_key).decode("ascii"),
        "signature": base64.b64encode(seal.signature).decode("ascii"),
    }
    return json.dumps(document, separators=(",", ":"))


def parse_line(line: str) -> Seal:
    """A seal exported by export_line; ValueError (saying what) for anything else."""
    try:
        document = json.loads(line)
        position, head_hash = document["position"], document["hash"]
        sealed_at = datetime.fromisoformat(str(document["sealed_at"]).replace("Z", "+00:00"))
        public_key = base64.b64decode(document["public_key"], validate=True)
        signature = base64.b64decode(document["signature"], validate=True)
        algorithm = document.get("algorithm")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error, AttributeError) as error:
        raise ValueError(f"not an exported seal ({type(error).__name__}: {error})") from None
    if algorithm != ALGORITHM or len(public_key) != 32:
        raise ValueError(f"not an {ALGORITHM} seal")
    if not isinstance(position, int) or position < 1 or not isinstance(head_hash, str) or not HASH.fullmatch(head_hash):
        raise ValueError("the position or hash is malformed")
    return Seal(
        position=position,
        hash=head_hash,
        sealed_at=utc(sealed_at),
        key_id=key_id(public_key),
        signature=signature,
        public_key=public_key,
    )


@dataclass(frozen=True, slots=True)
class SealCheck:
    checked: int
    first_bad_position: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None


async def check(conn: AsyncConnection, own_key: bytes, candidates: Iterable[Seal]) -> SealCheck:
    """Check each seal's signature, then that the log still holds, at its position, the event with its hash.

    A rewrite after position k that recomputes every hash passes the chain but not the first seal after k: the
    log is proven up to the last seal that still matches, so the first bad position is the one after it.
    """
    proven, checked = 0, 0
    # The same seal stored and exported counts once.
    unique = {(seal.position, seal.hash, seal.sealed_at, seal.signature): seal for seal in candidates}
    for seal in sorted(unique.values(), key=lambda item: item.position):
        when = iso(seal.sealed_at)
        if not seal.signed_by(seal.public_key or own_key):
            return SealCheck(checked, seal.position, f"the seal of position {seal.position} ({when}) is forged")
        found = await conn.scalar(sa.select(events.c.hash).where(events.c.position == seal.position))
        if found is None:
            end = int(await conn.scalar(sa.select(sa.func.coalesce(sa.func.max(events.c.position), 0))) or 0)
            problem = f"position {end + 1} is missing: a seal of {when} covers the log up to {seal.position}"
            return SealCheck(checked, end + 1, problem)
        if found != seal.hash:
            problem = (
                f"the event at position {seal.position} no longer has the hash sealed at {when}: "
                f"the log was rewritten after position {proven}"
            )
            return SealCheck(checked, proven + 1, problem)
        proven, checked = seal.position, checked + 1
    return SealCheck(checked)


def report(chain: eventstore.Verification, sealed: SealCheck) -> dict[str, Any]:
    """One answer for the CLI and the API: the chain's first problem, else the seals' first problem."""
    first_bad, problem = chain.first_bad_position, chain.problem
    if chain.ok and not sealed.ok:
        first_bad, problem = sealed.first_bad_position, sealed.problem
    return {
        "ok": chain.ok and sealed.ok,
        "checked": chain.checked,
        "head_position": chain.head_position,
        "head_hash": chain.head_hash,
        "first_bad_position": first_bad,
        "problem": problem,
        "seals_checked": sealed.checked,
    }


async def verify(conn: AsyncConnection, key: SealKey, exported: Sequence[Seal] = ()) -> dict[str, Any]:
    """The chain, the database's own seals and any seals exported earlier, in one report."""
    chain = await eventstore.verify(conn)
    sealed = await check(conn, key.public_bytes, [*await stored(conn), *exported])
    return report(chain, sealed)
