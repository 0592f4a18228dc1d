"""Set-based SQL on both databases: a set of values as one parameter, executemany and COPY without per-row cost."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

# Below this many rows a statement goes through SQLAlchemy as usual: its cache beats compiling it here.
MANY_ROWS = 50
# From this many rows on, PostgreSQL gets new rows by COPY rather than INSERT.
COPY_ROWS = 200


def one_of(dialect: str, column: sa.ColumnElement[Any], values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """`column IN values` with one bound parameter: `= ANY(array)` on PostgreSQL, `IN (SELECT value FROM
    json_each(?))` on SQLite. An IN list of thousands of placeholders costs SQLAlchemy microseconds each and
    PostgreSQL a fresh plan for every new count; one parameter costs neither."""
    items = list(values)
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, items, type_=postgresql.ARRAY(column.type)))
    # SQLite keeps a Uuid as its 32 hex digits.
    stored = [item.hex if isinstance(item, UUID) else item for item in items]
    listed = sa.func.json_each(sa.bindparam(None, json.dumps(stored), type_=sa.String)).table_valued("value")
    return column.in_(sa.select(listed.c.value))


async def executemany(conn: AsyncConnection, statement: sa.Insert | sa.Update, rows: Sequence[dict[str, Any]]) -> None:
    """`conn.execute(statement, rows)` for many rows of the same keys, at the driver's own cost per row.

    SQLAlchemy builds each row's parameters generically (a fifth of a rebuild's write time); here the statement is
    compiled once and each row becomes a tuple through the columns' own bind processors, so every value is stored
    exactly as SQLAlchemy would store it.
    """
    if len(rows) < MANY_ROWS:
        await conn.execute(statement, list(rows))
        return
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
    names = compiled.positiontup
    assert names is not None, "both drivers take positional parameters"
    processors = [compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    plan = list(zip(names, processors, strict=True))
    params = [tuple(row[name] if process is None else process(row[name]) for name, process in plan) for row in rows]
    await conn.exec_driver_sql(compiled.string, params)


async def insert(conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """New rows into `table`: by COPY on PostgreSQL when there are many, else by executemany."""
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_ROWS:
        await _copy(conn, table, rows)
    else:
        await executemany(conn, sa.insert(table), rows)


async def _copy(conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Binary COPY through asyncpg: the same rows as INSERT, checked by the same constraints, at a fraction of the
    cost per row. Values go through the columns' own bind processors, so JSON is serialised exactly as INSERT does."""
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        # SQLAlchemy begins the driver's transaction at its first statement; COPY must not run before it, outside.
        await conn.execute(sa.select(1))
    columns = list(table.columns)
    processors = [column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for column in columns]
    plan = list(zip([column.name for column in columns], processors, strict=True))
    records = [tuple(row[name] if process is None else process(row[name]) for name, process in plan) for row in rows]
    await driver.copy_records_to_table(table.name, records=records, columns=[name for name, _ in plan])
