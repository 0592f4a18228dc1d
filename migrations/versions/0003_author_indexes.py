"""Index the moderation queue by author and time (subject or client address), for screening and related comments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 18:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("moderation_queue") as batch:
        batch.drop_index("ix_moderation_queue_subject_id")
        batch.create_index("ix_moderation_queue_subject_id_submitted_at", ["subject_id", "submitted_at"])
        batch.create_index("ix_moderation_queue_client_hash_submitted_at", ["client_hash", "submitted_at"])


def downgrade() -> None:
    with op.batch_alter_table("moderation_queue") as batch:
        batch.drop_index("ix_moderation_queue_client_hash_submitted_at")
        batch.drop_index("ix_moderation_queue_subject_id_submitted_at")
        batch.create_index("ix_moderation_queue_subject_id", ["subject_id"])
