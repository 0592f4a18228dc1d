"""Phone readers get random subject ids: a lookup table from the number's keyed hash to the subject.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "phone_subjects",
        sa.Column("phone_key", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone_key", name=op.f("pk_phone_subjects")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_phone_subjects_subject_id")),
    )


def downgrade() -> None:
    op.drop_table("phone_subjects")
