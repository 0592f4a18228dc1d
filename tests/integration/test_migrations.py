"""The Alembic stairway: every revision upgrades, downgrades and upgrades again, on both backends."""

from __future__ import annotations

import sqlalchemy as sa

from service import migrate
from service.db import Database
from service.tables import metadata


async def _tables(db: Database) -> set[str]:
    async with db.read() as conn:
        names = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    return names - {"alembic_version"}


async def test_every_revision_goes_up_down_and_up_again(fresh_db: Database) -> None:
    await migrate.downgrade(fresh_db, "base")
    assert await _tables(fresh_db) == set()
    previous = "base"
    for revision in migrate.revisions():
        await migrate.upgrade(fresh_db, revision)
        await migrate.downgrade(fresh_db, previous)
        await migrate.upgrade(fresh_db, revision)
        previous = revision

    assert await migrate.at_head(fresh_db)
    assert await _tables(fresh_db) == set(metadata.tables)


async def test_the_migrated_schema_matches_the_table_definitions(fresh_db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    async with fresh_db.read() as conn:
        diff = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))

    assert diff == []
