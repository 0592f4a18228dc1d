"""Alembic, driven from code, over the migrations folder of a checkout or an installed wheel."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from service.db import Database
from service.resources import bundled


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(bundled("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def _upgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, target)


def _downgrade(connection: Connection, target: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, target)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(db: Database, target: str = "head") -> None:
    async with db.write() as conn:
        await conn.run_sync(_upgrade, target)


async def downgrade(db: Database, target: str) -> None:
    async with db.write() as conn:
        await conn.run_sync(_downgrade, target)


async def current_revision(db: Database) -> str | None:
    async with db.read() as conn:
        return await conn.run_sync(_current)


async def at_head(db: Database) -> bool:
    return await current_revision(db) == head_revision()
