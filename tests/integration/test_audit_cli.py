"""The audit and privacy commands as an operator (or cron) runs them: subprocesses against both databases."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from service.crypto import Vault
from service.db import Database, utcnow
from service.settings import Settings, SettingsError
from service.tables import moderation_queue
from tests.integration.cli_runner import run
from tests.integration.tampering import behind_the_services_back, rewrite_from_4_and_rechain
from tests.integration.test_audit_privacy import a_comment
from tests.integration.test_audit_seals import five_events_sealed_at_3_and_5


async def test_erase_by_phone_reports_the_count_never_prints_the_number_and_the_log_verifies(
    fresh_database_url: str, fresh_db: Database, vault: Vault
) -> None:
    comment_id = await a_comment(fresh_db, vault, phone="0912 000 111", at=utcnow(), name="Kiều Thị Nga")

    erased = await run(fresh_database_url, "erase", "--phone", "+84 912 000 111", "--by", "lan")
    again = await run(fresh_database_url, "erase", "--phone", "-", stdin="0912000111\n")
    verified = await run(fresh_database_url, "audit", "verify")

    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout) | {"subject_id": None} == {"subject_id": None, "erased": True, "comments": 1}
    assert "+8491*****11" in erased.stderr
    assert "912000111" not in (erased.stdout + erased.stderr + again.stderr).replace(" ", "")
    assert json.loads(again.stdout)["erased"] is False
    assert (verified.returncode, json.loads(verified.stdout)["ok"]) == (0, True)
    async with fresh_db.read() as conn:
        name = await conn.scalar(
            sa.select(moderation_queue.c.author_name).where(moderation_queue.c.comment_id == comment_id)
        )
    assert name == "(erased)"


async def test_a_malformed_phone_number_is_a_usage_error(fresh_database_url: str, fresh_db: Database) -> None:
    result = await run(fresh_database_url, "erase", "--phone", "không có số")

    assert result.returncode == 2
    assert "not a Vietnamese phone number" in result.stderr


async def test_retention_from_cron_erases_old_numbers_once(
    fresh_database_url: str, fresh_db: Database, vault: Vault
) -> None:
    await a_comment(fresh_db, vault, phone="0913 000 222", at=utcnow() - timedelta(days=40))
    await a_comment(fresh_db, vault, phone="0913 000 333", at=utcnow())

    first = await run(fresh_database_url, "retention", "--older-than", "30")
    second = await run(fresh_database_url, "retention", "--older-than", "30")

    assert (first.returncode, second.returncode) == (0, 0)
    assert json.loads(first.stdout) == {"older_than_days": 30, "subjects": 1, "comments": 1}
    assert json.loads(second.stdout) == {"older_than_days": 30, "subjects": 0, "comments": 0}


async def test_a_subject_export_is_written_as_json(
    fresh_database_url: str, fresh_db: Database, vault: Vault, tmp_path: Path
) -> None:
    await a_comment(fresh_db, vault, phone="0914 000 444", at=utcnow(), name="Mạc Văn Khoa")
    target = tmp_path / "subject.json"

    result = await run(fresh_database_url, "subject", "export", "--phone", "0914000444", "--output", str(target))

    assert result.returncode == 0, result.stderr
    document = json.loads(target.read_text(encoding="utf-8"))
    assert [comment["author_name"] for comment in document["comments"]] == ["Mạc Văn Khoa"]
    assert "914000444" not in result.stderr


async def test_exported_seals_catch_a_re_chained_tail_that_the_chain_alone_misses(
    fresh_database_url: str, fresh_db: Database, vault: Vault, tmp_path: Path
) -> None:
    await five_events_sealed_at_3_and_5(fresh_db, vault)
    seals_file = tmp_path / "seals.ndjson"
    exported = await run(fresh_database_url, "audit", "export-seals", str(seals_file))
    assert exported.returncode == 0, exported.stderr

    async def rewrite_and_drop_the_seals(conn: AsyncConnection) -> None:
        await rewrite_from_4_and_rechain(conn)
        await conn.execute(sa.text("DELETE FROM seals"))

    await behind_the_services_back(fresh_db, rewrite_and_drop_the_seals)
    await fresh_db.dispose()
    alone = await run(fresh_database_url, "audit", "verify")
    with_seals = await run(fresh_database_url, "audit", "verify", "--seals", str(seals_file))

    assert len(seals_file.read_text(encoding="utf-8").splitlines()) == 2
    assert alone.returncode == 0
    assert with_seals.returncode == 1
    assert json.loads(with_seals.stdout)["first_bad_position"] == 4
    assert "first bad position 4" in with_seals.stderr


async def test_audit_seal_signs_the_head_once(fresh_database_url: str, fresh_db: Database, vault: Vault) -> None:
    await a_comment(fresh_db, vault, phone=None, at=utcnow())

    sealed = await run(fresh_database_url, "audit", "seal")
    again = await run(fresh_database_url, "audit", "seal")

    assert (sealed.returncode, again.returncode) == (0, 0)
    assert json.loads(sealed.stdout)["position"] == 1
    assert (again.stdout, "already sealed" in again.stderr) == ("", True)


async def test_a_seals_file_that_is_not_one_is_a_usage_error(
    fresh_database_url: str, fresh_db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "seals.ndjson"
    bad.write_text('{"position": 1}\n', encoding="utf-8")

    result = await run(fresh_database_url, "audit", "verify", "--seals", str(bad))

    assert result.returncode == 2
    assert "line 1" in result.stderr


async def test_the_export_writes_every_event_with_progress(
    fresh_database_url: str, fresh_db: Database, vault: Vault, tmp_path: Path
) -> None:
    for _ in range(3):
        await a_comment(fresh_db, vault, phone=None, at=utcnow())
    target = tmp_path / "log.ndjson"

    result = await run(fresh_database_url, "export", "--output", str(target))

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["position"] for line in lines] == [1, 2, 3]
    assert "exported 3/3 events" in result.stderr
    assert not (tmp_path / "log.ndjson.partial").exists()


def test_the_audit_settings_come_from_the_environment() -> None:
    defaults = Settings.from_env({})
    chosen = Settings.from_env(
        {
            "COMMENTS_SEAL_EVERY_EVENTS": "50",
            "COMMENTS_SEAL_EVERY_MINUTES": "0",
            "COMMENTS_PHONE_RETENTION_DAYS": "30",
        }
    )

    assert (defaults.seal_every_events, defaults.seal_every_minutes, defaults.phone_retention_days) == (1000, 60, 365)
    assert (chosen.seal_every_events, chosen.seal_every_minutes, chosen.phone_retention_days) == (50, 0, 30)
    with pytest.raises(SettingsError, match="COMMENTS_PHONE_RETENTION_DAYS"):
        Settings.from_env({"COMMENTS_PHONE_RETENTION_DAYS": "0"})
