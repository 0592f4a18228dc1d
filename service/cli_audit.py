"""The audit and privacy commands: verify (with seals), seal, export-seals, export, erase, retention, subject export."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import IO

from service import eventstore, history, privacy, seals, text
from service.cli_support import Progress, UsageError, err, vault_of
from service.crypto import master_secret
from service.db import Database, utcnow
from service.settings import Settings


def seal_key_of(settings: Settings) -> seals.SealKey:
    return seals.SealKey.from_secret(master_secret(settings.secret_key, settings.data_dir))


@contextmanager
def written(output: Path | None) -> Iterator[IO[bytes]]:
    """Standard output, or a file written beside `output` and renamed: a failure never leaves a plausible half."""
    if output is None or str(output) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as stream:
            yield stream
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)


def read_seals(path: Path) -> list[seals.Seal]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the seals file {path}: {error}") from error
    found = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                found.append(seals.parse_line(line))
            except ValueError as error:
                raise UsageError(f"{path}, line {number}: {error}") from error
    return found


async def audit_verify(db: Database, settings: Settings, seals_file: Path | None) -> int:
    """Exit 0 when the chain and every seal (stored, and exported to `seals_file`) hold; else 1, naming the spot."""
    key = seal_key_of(settings)
    exported = read_seals(seals_file) if seals_file is not None else []
    if any(seal.public_key != key.public_bytes for seal in exported):
        err("note: some exported seals were signed by another key than this service's (checked with their own)")
    async with db.snapshot() as conn:
        result = await seals.verify(conn, key, exported)
    print(json.dumps(result, ensure_ascii=False))
    if not result["ok"]:
        err(f"the event log was altered: first bad position {result['first_bad_position']} ({result['problem']})")
        return 1
    return 0


async def audit_seal(db: Database, settings: Settings) -> int:
    seal = await seals.seal_head(db, seal_key_of(settings), utcnow())
    if seal is None:
        async with db.read() as conn:
            position, _hash = await eventstore.head(conn)
        err(f"nothing to seal: the head (position {position}) is already sealed, or the log is empty")
        return 0
    print(seals.export_line(seal, seal_key_of(settings).public_bytes))
    err(f"sealed the log at position {seal.position}")
    return 0


async def export_seals(db: Database, settings: Settings, output: Path) -> int:
    key = seal_key_of(settings)
    async with db.read() as conn:
        stored = await seals.stored(conn)
    with written(output) as stream:
        for seal in stored:
            stream.write(seals.export_line(seal, key.public_bytes).encode("ascii") + b"\n")
    err(f"exported {len(stored)} seals (key {key.key_id}) to {output}")
    return 0


async def export(db: Database, settings: Settings, output: Path | None) -> int:
    """Every event as NDJSON, a batch at a time (constant memory), with progress on standard error."""
    vault = vault_of(settings)
    to_file = output is not None and str(output) != "-"
    progress = Progress("exported {done}/{total} events") if to_file or sys.stderr.isatty() else None
    done = 0
    with written(output) as stream:
        async with db.snapshot() as conn:
            total, _hash = await eventstore.head(conn)
            async for found in history.batches(conn, vault, history.LogFilter(), upto=total):
                stream.write(b"".join(history.ndjson_line(item) for item in found))
                done += len(found)
                if progress is not None:
                    progress(done, total)
    if progress is not None:
        progress(done, done)
    if to_file:
        err(f"exported {done} events to {output}")
    return 0


def phone_argument(phone: str) -> str:
    """`--phone -` reads the number from standard input, so it stays out of process lists and shell history."""
    return sys.stdin.readline().strip() if phone == "-" else phone


def _masked(phone: str) -> str:
    """The masked number (for messages): never the number itself on a terminal or in a log."""
    try:
        normalized = text.normalize_phone(phone)
    except text.FieldError as error:
        raise UsageError(f"not a Vietnamese phone number ({error.code})") from error
    return text.mask_phone(normalized)


async def erase(db: Database, settings: Settings, phone: str, by: str) -> int:
    masked = _masked(phone)
    erasure = await privacy.erase_phone(
        db, vault_of(settings), phone, requested_by=f"moderator:{by}", now=utcnow(), meta={"via": "cli"}
    )
    print(json.dumps({"subject_id": erasure.subject_id, "erased": erasure.erased, "comments": erasure.comments}))
    if erasure.erased:
        err(f"erased {masked}: {erasure.comments} comments now read (erased); the log still verifies")
    else:
        err(f"nothing held on {masked}: no key to shred (never seen, or erased before)")
    return 0


async def retention(db: Database, settings: Settings, older_than_days: int | None) -> int:
    days = older_than_days if older_than_days is not None else settings.phone_retention_days
    if days < 1:
        raise UsageError("--older-than is at least 1 day")
    done = await privacy.apply_retention(db, vault_of(settings), older_than=timedelta(days=days), now=utcnow())
    comments = sum(erasure.comments for erasure in done)
    print(json.dumps({"older_than_days": days, "subjects": len(done), "comments": comments}))
    err(f"retention: erased {len(done)} phone numbers silent for over {days} days ({comments} comments)")
    return 0


async def subject_export(db: Database, settings: Settings, phone: str, output: Path | None) -> int:
    masked = _masked(phone)
    document = await privacy.subject_export(db, vault_of(settings), phone, now=utcnow())
    with written(output) as stream:
        stream.write(json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
    if not document["events"]:
        err(f"nothing is held on {masked}")
    elif output is not None and str(output) != "-":
        err(f"wrote what is held on {masked} ({len(document['comments'])} comments) to {output}")
    return 0
