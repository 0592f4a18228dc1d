"""Tell the change feeds: index articles by changed_position; notify on every change (PostgreSQL); count resets.

Every committed change to an `articles` row sends `pg_notify('comment_changes', '<changed_position>
<published_count> <0|1 closed> <article_id>')` on PostgreSQL, so each serving process learns of it without a
query (service/changes.py). Deleting rows (a rebuild's swap) bumps the `views:resets` checkpoint row on both
backends, and notifies `reset` on PostgreSQL: positions do not move then, so the feeds must start afresh.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

POSTGRES_UP = (
    """
    CREATE FUNCTION articles_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify(
            'comment_changes',
            NEW.changed_position || ' ' || NEW.published_count || ' ' || (CASE WHEN NEW.closed THEN 1 ELSE 0 END)
                || ' ' || NEW.article_id
        );
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER articles_notify_change AFTER INSERT OR UPDATE ON articles
    FOR EACH ROW EXECUTE FUNCTION articles_notify_change()
    """,
    """
    CREATE FUNCTION articles_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO projection_checkpoints (name, position) VALUES ('views:resets', 1)
            ON CONFLICT (name) DO UPDATE SET position = projection_checkpoints.position + 1;
        PERFORM pg_notify('comment_changes', 'reset');
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER articles_count_reset AFTER DELETE ON articles
    FOR EACH STATEMENT EXECUTE FUNCTION articles_count_reset()
    """,
)
POSTGRES_DOWN = (
    "DROP TRIGGER IF EXISTS articles_count_reset ON articles",
    "DROP FUNCTION IF EXISTS articles_count_reset()",
    "DROP TRIGGER IF EXISTS articles_notify_change ON articles",
    "DROP FUNCTION IF EXISTS articles_notify_change()",
)
# SQLite has no statement triggers: one upsert per deleted row, and only a rebuild deletes articles.
SQLITE_UP = (
    """
    CREATE TRIGGER articles_count_reset AFTER DELETE ON articles
    BEGIN
        INSERT INTO projection_checkpoints (name, position) VALUES ('views:resets', 1)
            ON CONFLICT (name) DO UPDATE SET position = position + 1;
    END
    """,
)
SQLITE_DOWN = ("DROP TRIGGER IF EXISTS articles_count_reset",)


def upgrade() -> None:
    op.create_index("ix_articles_changed_position", "articles", ["changed_position"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_UP if postgres else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DOWN if postgres else SQLITE_DOWN:
        op.execute(statement)
    op.execute("DELETE FROM projection_checkpoints WHERE name = 'views:resets'")
    op.drop_index("ix_articles_changed_position", "articles")
