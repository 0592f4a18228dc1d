"""Command line: serve, migrate, seed, rebuild, moderator, audit, import, export, erase, retention, subject."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from service import auth, cli_audit, importing, migrate, seeding
from service.cli_support import Failure, Progress, UsageError, err, vault_of
from service.db import Database, connect, utcnow
from service.rebuild import rebuild
from service.settings import Settings, SettingsError

NOT_MIGRATED = "the database is not migrated to the latest revision: run `python -m service migrate` first"


async def with_db(settings: Settings, body: Callable[[Database], Awaitable[int]], *, migrated: bool = True) -> int:
    db = connect(settings.database_url)
    try:
        if migrated and not await migrate.at_head(db):
            raise Failure(NOT_MIGRATED)
        return await body(db)
    finally:
        await db.dispose()


# --- serve and migrate ------------------------------------------------------------------------------------------


def serve(settings: Settings, workers: int = 1) -> int:
    from service import logs, serving
    from service.web.app import create_app

    logs.configure()
    asyncio.run(with_db(settings, _ok))
    serving.serve(settings, create_app, workers=workers)
    return 0


def worker_count(value: str) -> int:
    """`auto` (one per CPU) or a whole number from 1 to 64; ValueError otherwise."""
    if value == "auto":
        return os.cpu_count() or 1
    count = int(value)
    if not 1 <= count <= 64:
        raise ValueError("the number of workers is from 1 to 64, or auto")
    return count


async def _ok(_db: Database) -> int:
    return 0


async def migrate_command(db: Database) -> int:
    await migrate.upgrade(db)
    print(f"database at revision {await migrate.current_revision(db)} (head)")
    return 0


# --- seed and rebuild -------------------------------------------------------------------------------------------


async def seed_command(db: Database, settings: Settings) -> int:
    try:
        report = await seeding.seed(db, vault_of(settings), utcnow, Progress("seeded {done}/{total} comments"))
    except seeding.SeedError as error:
        raise Failure(f"seeding failed: {error}") from error
    print(
        f"seeded {report.articles} articles: {report.comments} comments, {report.added} added, "
        f"{report.skipped} already present, {report.events} events recorded"
    )
    return 0


async def rebuild_command(db: Database, settings: Settings) -> int:
    count = await rebuild(db, vault_of(settings), Progress("rebuilt {done}/{total} events"))
    print(f"rebuilt the moderation queue, published comments and articles from {count} events")
    return 0


# --- moderators -------------------------------------------------------------------------------------------------


async def moderator_add(db: Database, name: str, role: str) -> int:
    try:
        auth.validate(name, role)
    except auth.AuthError as error:
        raise UsageError(str(error)) from error
    try:
        async with db.write() as conn:
            token = await auth.add(conn, name, role, utcnow())
    except auth.AuthError as error:
        raise Failure(str(error)) from error
    err(f"moderator {name!r} ({role}) created. Its token follows, shown this once: store it now.")
    print(token, flush=True)
    return 0


async def moderator_revoke(db: Database, name: str) -> int:
    async with db.write() as conn:
        revoked = await auth.revoke(conn, name, utcnow())
    if not revoked:
        raise Failure(f"no active moderator named {name!r}")
    err(f"moderator {name!r} revoked: its token no longer works")
    return 0


async def moderator_list(db: Database) -> int:
    async with db.read() as conn:
        rows = await auth.list_all(conn)
    print(f"{'name':<32} {'role':<10} {'status':<8} created")
    for row in rows:
        status = "active" if row.revoked_at is None else "revoked"
        print(f"{row.name:<32} {row.role:<10} {status:<8} {row.created_at:%Y-%m-%d %H:%M}")
    return 0


# --- import -----------------------------------------------------------------------------------------------------


async def import_command(db: Database, settings: Settings, lines: list[bytes]) -> int:
    report = await importing.import_ndjson(db, vault_of(settings), lines)
    for line in report.bad:
        err(line)
    print(f"imported {report.imported} comments, {report.present} already present, {len(report.bad)} bad lines")
    return 1 if report.bad else 0


def read_lines(path: str) -> list[bytes]:
    if path == "-":
        return sys.stdin.buffer.read().splitlines()
    try:
        return Path(path).read_bytes().splitlines()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from error


# --- wiring -----------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m service",
        description="Event-sourced comment moderation service. Settings come from COMMENTS_* environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serving = commands.add_parser("serve", help="run the web service")
    serving.add_argument(
        "--workers",
        default="1",
        metavar="N",
        help="worker processes on the one port: a number from 1 to 64, or auto (one per CPU); default 1",
    )
    commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    commands.add_parser("seed", help="record the demo articles' comments (idempotent)")
    commands.add_parser("rebuild", help="replay the whole log into fresh read models and swap them in")
    moderator = commands.add_parser("moderator", help="add, revoke or list moderators")
    actions = moderator.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="create a moderator and print its token (once)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=auth.ROLES)
    revoke = actions.add_parser("revoke", help="revoke a moderator's token")
    revoke.add_argument("name")
    actions.add_parser("list", help="list moderators")
    audit = commands.add_parser("audit", help="check the event log, seal it, export its seals")
    checks = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = checks.add_parser("verify", help="verify the hash chain and the seals; exits 1 when the log was altered")
    verify.add_argument("--seals", type=Path, metavar="FILE", help="also check seals exported earlier to FILE")
    checks.add_parser("seal", help="sign the log's head now (the server also seals every N events or M minutes)")
    seals_out = checks.add_parser("export-seals", help="write every seal, with its public key, as JSON lines")
    seals_out.add_argument("file", type=Path, help="the file to write, or - for standard output")
    erase = commands.add_parser("erase", help="erase a reader's personal data by phone number (crypto-shredding)")
    erase.add_argument("--phone", required=True, help="the number, in any usual spelling; - reads it from stdin")
    erase.add_argument("--by", default="operator", help="who asked, recorded as moderator:NAME (default: operator)")
    keep = commands.add_parser("retention", help="erase phone numbers whose newest comment is older than DAYS")
    keep.add_argument("--older-than", type=int, metavar="DAYS", help="default: COMMENTS_PHONE_RETENTION_DAYS")
    subject = commands.add_parser("subject", help="what the service holds on one reader")
    about = subject.add_subparsers(dest="action", required=True, metavar="ACTION")
    access = about.add_parser("export", help="everything held on a phone number, as JSON (a data-access request)")
    access.add_argument("--phone", required=True, help="the number, in any usual spelling; - reads it from stdin")
    access.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    importer = commands.add_parser("import", help="import comments from a file (format: ndjson)")
    importer.add_argument("format")
    importer.add_argument("file", help="the file to read, or - for standard input")
    exporter = commands.add_parser("export", help="write every event as NDJSON, in position order")
    exporter.add_argument("--output", "-o", type=Path, help="write to this file instead of standard output")
    return parser


def command_body(args: argparse.Namespace, settings: Settings) -> Callable[[Database], Awaitable[int]]:
    match args.command, getattr(args, "action", None):
        case "seed", _:
            return lambda db: seed_command(db, settings)
        case "rebuild", _:
            return lambda db: rebuild_command(db, settings)
        case "moderator", "add":
            return lambda db: moderator_add(db, args.name, args.role)
        case "moderator", "revoke":
            return lambda db: moderator_revoke(db, args.name)
        case "moderator", "list":
            return moderator_list
        case "audit" | "export" | "erase" | "retention" | "subject", _:
            return audit_command(args, settings)
        case "import", _:
            if args.format not in importing.FORMATS:
                supported = ", ".join(importing.FORMATS)
                raise UsageError(f"unsupported format {args.format!r}: supported formats are {supported}")
            lines = read_lines(args.file)
            return lambda db: import_command(db, settings, lines)
    raise UsageError(f"unknown command {args.command!r}")


def audit_command(args: argparse.Namespace, settings: Settings) -> Callable[[Database], Awaitable[int]]:
    match args.command, getattr(args, "action", None):
        case "audit", "verify":
            return lambda db: cli_audit.audit_verify(db, settings, args.seals)
        case "audit", "seal":
            return lambda db: cli_audit.audit_seal(db, settings)
        case "audit", "export-seals":
            return lambda db: cli_audit.export_seals(db, settings, args.file)
        case "export", _:
            return lambda db: cli_audit.export(db, settings, args.output)
        case "erase", _:
            return lambda db: cli_audit.erase(db, settings, cli_audit.phone_argument(args.phone), args.by)
        case "retention", _:
            return lambda db: cli_audit.retention(db, settings, args.older_than)
        case "subject", "export":
            return lambda db: cli_audit.subject_export(db, settings, cli_audit.phone_argument(args.phone), args.output)
    raise UsageError(f"unknown command {args.command!r}")


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        try:
            workers = worker_count(args.workers)
        except ValueError:
            raise UsageError(f"--workers takes a number from 1 to 64 or auto, not {args.workers!r}") from None
        return serve(settings, workers)
    if args.command == "migrate":
        return asyncio.run(with_db(settings, migrate_command, migrated=False))
    return asyncio.run(with_db(settings, command_body(args, settings)))


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # Names and titles are Vietnamese: never let a C locale turn them into an encoding error.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        err(f"configuration error: {error}")
        return 2
    try:
        return dispatch(args, settings)
    except BrokenPipeError:
        # The reader went away (`export | head`): end quietly, as a tool killed by SIGPIPE would.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except UsageError as error:
        err(f"error: {error}")
        return 2
    except Failure as error:
        err(f"error: {error}")
        return 1
    except (SQLAlchemyError, OSError) as error:
        err(f"error: {type(error).__name__}: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
