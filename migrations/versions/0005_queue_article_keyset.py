"""Index one article's queue for keyset paging: (article_id, status, submitted_at, comment_id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderation_queue") as batch:
        batch.drop_index("ix_moderation_queue_article_id_status")
        batch.create_index(
            "ix_moderation_queue_article_id_status_submitted_at_comment_id",
            ["article_id", "status", "submitted_at", "comment_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("moderation_queue") as batch:
        batch.drop_index("ix_moderation_queue_article_id_status_submitted_at_comment_id")
        batch.create_index("ix_moderation_queue_article_id_status", ["article_id", "status"])
