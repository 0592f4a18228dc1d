"""CAPTCHA challenges: issue, single-use verification, and image and audio rendering."""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from sqlalchemy.ext.asyncio import AsyncConnection

from service.resources import captcha_voices
from service.tables import captchas

# No I/1/L, O/0: characters a reader could mistake for one another in a distorted image.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ANSWER_LENGTH = 5
# Longer attempts are simply wrong; no answer is that long.
MAX_ATTEMPT_LENGTH = 32
# Ids are token_urlsafe output; anything else is unknown without asking the database (so a NUL byte, which
# PostgreSQL refuses in text, never reaches it).
_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_CONSUMER_LENGTH = 200  # captchas.consumed_by

# 248 = 8 * 31: bytes at or above it are skipped so that every character is equally likely.
_UNBIASED_LIMIT = 256 - 256 % len(ALPHABET)


@dataclass(frozen=True, slots=True)
class Challenge:
    id: str
    created_at: datetime
    expires_at: datetime


class VerifyOutcome(enum.Enum):
    OK = "ok"
    # Wrong, expired, already used or unknown: one outcome, so that a caller cannot leak which.
    WRONG = "wrong"
    # Already consumed with the right answer by the same consumer: a retried request, not a second use.
    DUPLICATE = "duplicate"


def normalize_answer(text: str) -> str:
    """What a reader typed, as compared: trimmed, NFKC (full-width forms fold to ASCII), upper-case."""
    return unicodedata.normalize("NFKC", text.strip()).upper()


def answer_for(secret: bytes, challenge_id: str, test_answer: str | None) -> str:
    """The challenge's answer, derived from its id so that it is never stored and images render from the id."""
    if test_answer is not None:
        answer = normalize_answer(test_answer)
        # An empty answer would accept an empty attempt, a too long one no attempt: configuration mistakes.
        if not 0 < len(answer) <= MAX_ATTEMPT_LENGTH:
            raise ValueError(f"the CAPTCHA test answer must be 1 to {MAX_ATTEMPT_LENGTH} characters")
        return answer
    chars: list[str] = []
    block = 0
    while len(chars) < ANSWER_LENGTH:
        # The first block almost always suffices (31 of 32 bytes are usable); the counter only guards the odds.
        suffix = b"" if block == 0 else b":" + str(block).encode()
        digest = hmac.digest(secret, b"captcha-answer:" + challenge_id.encode() + suffix, hashlib.sha256)
        chars.extend(ALPHABET[b % len(ALPHABET)] for b in digest if b < _UNBIASED_LIMIT)
        block += 1
    return "".join(chars[:ANSWER_LENGTH])


def check_hash(secret: bytes, challenge_id: str, normalized_answer: str) -> str:
    """The stored check value: keyed, and bound to the id so that equal answers of two challenges differ."""
    message = b"captcha-check:" + challenge_id.encode() + b":" + normalized_answer.encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


async def issue(
    conn: AsyncConnection, *, secret: bytes, now: datetime, ttl: timedelta, test_answer: str | None
) -> Challenge:
    """Create and store a challenge; the caller commits."""
    if ttl <= timedelta(0):
        raise ValueError("the CAPTCHA ttl must be positive")
    now = _utc(now)
    challenge = Challenge(id=secrets.token_urlsafe(24), created_at=now, expires_at=now + ttl)
    answer = answer_for(secret, challenge.id, test_answer)
    await conn.execute(
        sa.insert(captchas).values(
            id=challenge.id,
            answer_hash=check_hash(secret, challenge.id, answer),
            created_at=challenge.created_at,
            expires_at=challenge.expires_at,
        )
    )
    return challenge


async def verify(
    conn: AsyncConnection,
    *,
    secret: bytes,
    challenge_id: str,
    attempt: str,
    now: datetime,
    consumer: str | None,
) -> VerifyOutcome:
    """Consume the challenge with this attempt, right or wrong; the caller commits.

    `consumer` names the request (its Idempotency-Key) so that a retry of an accepted request is told DUPLICATE.
    """
    if consumer is not None and len(consumer) > _MAX_CONSUMER_LENGTH:
        raise ValueError(f"a CAPTCHA consumer is at most {_MAX_CONSUMER_LENGTH} characters")
    now = _utc(now)
    if not _ID_PATTERN.fullmatch(challenge_id):
        return VerifyOutcome.WRONG
    normalized = normalize_answer(attempt)
    # Too long, or not encodable (a lone surrogate from JSON "\ud800"): just a wrong answer.
    attempt_hash = (
        check_hash(secret, challenge_id, normalized)
        if len(normalized) <= MAX_ATTEMPT_LENGTH and normalized.isascii()
        else None
    )
    # The conditional UPDATE is the whole concurrency story: of two verifications only one finds the row
    # unconsumed. It comes first, before any read, so that on SQLite the transaction starts as a writer and a
    # loser waits for the winner instead of failing to upgrade a read lock. It records a failure; the stored hash
    # is then compared in Python in constant time and, only when it matches, a second UPDATE in the same
    # transaction marks the success. (Equality in SQL would save that statement, but it is not constant-time.)
    stored = (
        await conn.execute(
            sa.update(captchas)
            .where(
                captchas.c.id == challenge_id,
                captchas.c.consumed_at.is_(None),
                captchas.c.expires_at > now,
            )
            .values(consumed_at=now, consumed_by=consumer, consumed_ok=False)
            .returning(captchas.c.answer_hash)
        )
    ).scalar_one_or_none()
    if stored is not None:
        if attempt_hash is None or not hmac.compare_digest(stored, attempt_hash):
            return VerifyOutcome.WRONG
        await conn.execute(sa.update(captchas).where(captchas.c.id == challenge_id).values(consumed_ok=True))
        return VerifyOutcome.OK
    if consumer is None or attempt_hash is None:
        return VerifyOutcome.WRONG
    row = (
        await conn.execute(
            sa.select(captchas.c.answer_hash, captchas.c.consumed_by, captchas.c.consumed_ok).where(
                captchas.c.id == challenge_id
            )
        )
    ).one_or_none()
    # A retry carries the same key and the same answer; the same key with another answer is not the same request.
    if (
        row is not None
        and row.consumed_ok
        and row.consumed_by == consumer
        and hmac.compare_digest(row.answer_hash, attempt_hash)
    ):
        return VerifyOutcome.DUPLICATE
    return VerifyOutcome.WRONG


async def get_live(conn: AsyncConnection, challenge_id: str, now: datetime) -> Challenge | None:
    """The challenge if it can still be answered: the image and audio endpoints render nothing else."""
    now = _utc(now)
    if not _ID_PATTERN.fullmatch(challenge_id):
        return None
    row = (
        await conn.execute(
            sa.select(captchas.c.id, captchas.c.created_at, captchas.c.expires_at).where(
                captchas.c.id == challenge_id,
                captchas.c.consumed_at.is_(None),
                captchas.c.expires_at > now,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return Challenge(id=row.id, created_at=_from_db(row.created_at), expires_at=_from_db(row.expires_at))


async def purge_expired(conn: AsyncConnection, now: datetime, grace: timedelta = timedelta(hours=1)) -> int:
    """Delete challenges expired for longer than `grace`; returns how many. The caller commits."""
    # The grace keeps consumed rows around long enough for a retried request to be recognised as DUPLICATE.
    result = await conn.execute(sa.delete(captchas).where(captchas.c.expires_at < _utc(now) - grace))
    return result.rowcount


def render_png(answer: str) -> bytes:
    """The answer as a distorted PNG. CPU-bound: call it in an executor, never on the event loop."""
    return _image_captcha().generate(answer).getvalue()


def render_wav(answer: str, voices: Path | None = None) -> bytes:
    """The answer read aloud over noise, as an 8 kHz WAV. CPU-bound: call it in an executor."""
    audio = _audio_captcha(voices or captcha_voices())
    missing = sorted(set(answer) - set(audio.choices))
    if missing:
        raise ValueError(f"no CAPTCHA voice for {''.join(missing)!r}")
    return bytes(audio.generate(answer))


_thread_local = threading.local()


def _image_captcha() -> ImageCaptcha:
    # One per executor thread: ImageCaptcha keeps FreeType fonts, which are not safe to share between threads.
    image: ImageCaptcha | None = getattr(_thread_local, "image", None)
    if image is None:
        image = _thread_local.image = ImageCaptcha(width=200, height=70)
    return image


@functools.cache
def _audio_captcha(voices: Path) -> AudioCaptcha:
    audio = AudioCaptcha(voicedir=str(voices))
    # Loaded eagerly: AudioCaptcha otherwise fills its cache lazily on first use, and a thread that saw a
    # half-filled cache would fail. Once loaded it is only read, so one instance serves every thread.
    audio.load()
    return audio


def _utc(moment: datetime) -> datetime:
    # SQLite stores the wall-clock digits without the offset, so every stored time must be in one zone.
    if moment.tzinfo is None:
        raise ValueError("CAPTCHA times must be timezone-aware")
    return moment.astimezone(UTC)


def _from_db(moment: datetime) -> datetime:
    # SQLite returns the naive UTC digits we stored; PostgreSQL returns an aware time.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
