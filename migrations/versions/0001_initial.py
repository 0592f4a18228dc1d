"""event log, read models and operational tables

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:12:45.128345
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY_PG = (
    """
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the events table is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
""",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()",
)

APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the events table is append-only: UPDATE refused'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'the events table is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("moderation", sa.String(length=10), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("published_count", sa.Integer(), nullable=False),
        sa.Column("changed_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_articles")),
    )
    op.create_table(
        "captchas",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("answer_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumed_by", sa.String(length=200), nullable=True),
        sa.Column("consumed_ok", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_captchas")),
    )
    with op.batch_alter_table("captchas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_captchas_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "claims",
        sa.Column("comment_id", sa.Uuid(), nullable=False),
        sa.Column("moderator", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_claims")),
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_moderator"), ["moderator"], unique=False)

    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("stream_id", sa.String(length=200), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("pii", sa.LargeBinary(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
        sa.UniqueConstraint("stream_id", "stream_version", name=op.f("uq_events_stream_id_stream_version")),
    )
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    op.create_table(
        "moderation_queue",
        sa.Column("comment_id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("report_reasons", sa.JSON(), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_moderation_queue")),
    )
    with op.batch_alter_table("moderation_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_moderation_queue_article_id_status"), ["article_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_moderation_queue_status_submitted_at_comment_id"),
            ["status", "submitted_at", "comment_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_moderation_queue_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "moderators",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_moderators")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_moderators_token_hash")),
    )
    op.create_table(
        "projection_checkpoints",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projection_checkpoints")),
    )
    op.create_table(
        "published_comments",
        sa.Column("comment_id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("author_name", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_published_comments")),
    )
    with op.batch_alter_table("published_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_published_comments_article_id_position"), ["article_id", "position"], unique=False
        )

    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "subject_keys",
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_subject_keys")),
    )

    op.execute(
        sa.text("INSERT INTO log_head (id, position, hash) VALUES (1, 0, :genesis)").bindparams(genesis="0" * 64)
    )
    statements = APPEND_ONLY_PG if op.get_bind().dialect.name == "postgresql" else APPEND_ONLY_SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER events_append_only ON events")
        op.execute("DROP FUNCTION events_append_only()")
    else:
        op.execute("DROP TRIGGER events_no_update")
        op.execute("DROP TRIGGER events_no_delete")
    op.drop_table("subject_keys")
    op.drop_table("rate_limits")
    with op.batch_alter_table("published_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_published_comments_article_id_position"))

    op.drop_table("published_comments")
    op.drop_table("projection_checkpoints")
    op.drop_table("moderators")
    with op.batch_alter_table("moderation_queue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_queue_subject_id"))
        batch_op.drop_index(batch_op.f("ix_moderation_queue_status_submitted_at_comment_id"))
        batch_op.drop_index(batch_op.f("ix_moderation_queue_article_id_status"))

    op.drop_table("moderation_queue")
    op.drop_table("log_head")
    op.drop_table("events")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claims_moderator"))

    op.drop_table("claims")
    with op.batch_alter_table("captchas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_captchas_expires_at"))

    op.drop_table("captchas")
    op.drop_table("articles")
