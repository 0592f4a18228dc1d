"""seals: signed checkpoints of the log's head, append-only like the events

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY_PG = (
    """
CREATE FUNCTION seals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the seals table is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
""",
    "CREATE TRIGGER seals_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON seals "
    "FOR EACH STATEMENT EXECUTE FUNCTION seals_append_only()",
)

APPEND_ONLY_SQLITE = (
    "CREATE TRIGGER seals_no_update BEFORE UPDATE ON seals "
    "BEGIN SELECT RAISE(ABORT, 'the seals table is append-only: UPDATE refused'); END",
    "CREATE TRIGGER seals_no_delete BEFORE DELETE ON seals "
    "BEGIN SELECT RAISE(ABORT, 'the seals table is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "seals",
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_seals")),
    )
    statements = APPEND_ONLY_PG if op.get_bind().dialect.name == "postgresql" else APPEND_ONLY_SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER seals_append_only ON seals")
        op.execute("DROP FUNCTION seals_append_only()")
    else:
        op.execute("DROP TRIGGER seals_no_update")
        op.execute("DROP TRIGGER seals_no_delete")
    op.drop_table("seals")
