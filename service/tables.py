"""The database schema as SQLAlchemy Core tables; Alembic migrations are written against it."""

from __future__ import annotations

import sqlalchemy as sa

# Stable constraint names, so that migrations can name what they alter on every backend.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# json (not jsonb) on PostgreSQL; the hash chain re-canonicalises on read, so key order never matters.
Json = sa.JSON()
Timestamp = sa.DateTime(timezone=True)

# --- the event log
events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("schema_version", sa.SmallInteger, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("pii", sa.LargeBinary, nullable=True),
    sa.Column("meta", Json, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    # The primary key of the optimistic-concurrency check: a second writer at the same version loses here.
    sa.UniqueConstraint("stream_id", "stream_version"),
)

# One row (id = 1): the last position and hash. Appends lock it, so positions are gapless and in commit order.
log_head = sa.Table(
    "log_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# Per-subject data keys, wrapped by the master key. Deleting a row crypto-shreds the subject's personal data.
subject_keys = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("subject_id", sa.String(80), primary_key=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

# Which random subject id stands for a phone number. `phone_key` is the keyed hash of the normalised number (see
# Keyring.phone_key); the subject id itself is random, so once erasure deletes this row (with the subject's key, in
# one transaction) nothing links the number to the subject ids left in the log.
phone_subjects = sa.Table(
    "phone_subjects",
    metadata,
    sa.Column("phone_key", sa.String(64), primary_key=True),
    sa.Column("subject_id", sa.String(80), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
)

# --- read models (projections), updated inline in the append transaction
checkpoints = sa.Table(
    "projection_checkpoints",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)


def _queue_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("comment_id", sa.Uuid, primary_key=True),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Uuid, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("visible", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=False),
        sa.Column("author_name", sa.Text, nullable=False),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("client_hash", sa.String(64), nullable=True),
        sa.Column("flags", Json, nullable=False),
        sa.Column("report_count", sa.Integer, nullable=False),
        sa.Column("report_reasons", Json, nullable=False),
        sa.Column("reason_code", sa.String(40), nullable=True),
        sa.Column("submitted_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("erased", sa.Boolean, nullable=False),
    ]


def _published_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("comment_id", sa.Uuid, primary_key=True),
        sa.Column("article_id", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Uuid, nullable=True),
        sa.Column("author_name", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("published_at", Timestamp, nullable=False),
        # The position of the event that published it: a total order that ties never break differently.
        sa.Column("position", sa.BigInteger, nullable=False),
    ]


def _article_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("article_id", sa.String(200), primary_key=True),
        sa.Column("moderation", sa.String(10), nullable=True),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("published_count", sa.Integer, nullable=False),
        # The log position of the last change to this article's published comments: the ETag's heart.
        sa.Column("changed_position", sa.BigInteger, nullable=False),
    ]


moderation_queue = sa.Table(
    "moderation_queue",
    metadata,
    *_queue_columns(),
    sa.Index(None, "status", "submitted_at", "comment_id"),
    # One article's queue page by page (keyset on submitted_at, comment_id), like the whole queue's index above.
    sa.Index(None, "article_id", "status", "submitted_at", "comment_id"),
    # The author's recent comments (repeated-text flag, related comments): by phone subject or by address.
    sa.Index(None, "subject_id", "submitted_at"),
    sa.Index(None, "client_hash", "submitted_at"),
)

published_comments = sa.Table(
    "published_comments",
    metadata,
    *_published_columns(),
    sa.Index(None, "article_id", "position"),
)

# The change feed (service/changes.py) asks for the articles changed since a position: an index seek, not a scan.
articles = sa.Table("articles", metadata, *_article_columns(), sa.Index(None, "changed_position"))

# --- operational state (not events)
claims = sa.Table(
    "claims",
    metadata,
    sa.Column("comment_id", sa.Uuid, primary_key=True),
    sa.Column("moderator", sa.String(100), nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Index(None, "moderator"),
)

captchas = sa.Table(
    "captchas",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("answer_hash", sa.String(64), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("consumed_at", Timestamp, nullable=True),
    # Which request consumed it and whether the answer was right: a retried submission with the same
    # Idempotency-Key is recognised instead of being told its (already used) code is wrong.
    sa.Column("consumed_by", sa.String(200), nullable=True),
    sa.Column("consumed_ok", sa.Boolean, nullable=True),
    sa.Index(None, "expires_at"),
)

rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("bucket", sa.String(200), primary_key=True),
    sa.Column("window_start", sa.BigInteger, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

moderators = sa.Table(
    "moderators",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp, nullable=True),
)


def shadow_copies(suffix: str) -> tuple[sa.Table, sa.Table, sa.Table]:
    """Fresh, unregistered copies of the read models for a rebuild (same columns, no indexes)."""
    shadow = sa.MetaData()
    return (
        sa.Table(f"moderation_queue{suffix}", shadow, *_queue_columns()),
        sa.Table(f"published_comments{suffix}", shadow, *_published_columns()),
        sa.Table(f"articles{suffix}", shadow, *_article_columns()),
    )


# --- seals: signed checkpoints of the log's head (appended by migration 0002)
# Each row is an Ed25519 signature over (position, hash, sealed_at) of the head at that moment. Exported copies
# kept off the database prove what the log held at each sealed position, even after a re-chained rewrite.
seals = sa.Table(
    "seals",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("sealed_at", Timestamp, nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("signature", sa.LargeBinary, nullable=False),
)
