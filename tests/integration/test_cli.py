"""The command line, run as a subprocess from another working directory against a SQLite file."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from service.tables import articles, moderation_queue, published_comments
from tests.integration.cli_runner import cli_env, run_cli

SEED_COMMENTS = 40
SEED_EVENTS = 74  # 40 submissions, 24 + 2 approvals, 6 rejections, 2 hides


@dataclass
class Cli:
    """One database, and a way to run `python -m service` against it from a folder that is not the checkout."""

    path: Path
    cwd: Path
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, *args, cwd=self.cwd, stdin=stdin)

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self(*args)
        assert result.returncode == 0, result.stderr
        return result

    def rows(self, table: sa.Table) -> list[sa.Row[Any]]:
        engine = sa.create_engine(f"sqlite:///{self.path}")
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.select(table).order_by(*table.primary_key.columns)))
        finally:
            engine.dispose()

    def head_position(self) -> int:
        return int(json.loads(self.ok("audit", "verify").stdout)["head_position"])


def make_cli(root: Path) -> Cli:
    cwd = root / "elsewhere"
    cwd.mkdir(parents=True)
    path = root / "data" / "comments.db"
    return Cli(path=path, cwd=cwd, env=cli_env(f"sqlite+aiosqlite:///{path}"))


@pytest.fixture
def fresh(tmp_path: Path) -> Cli:
    return make_cli(tmp_path)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """Migrated and seeded once for the module; tests add their own rows and never assume exact totals."""
    cli = make_cli(tmp_path_factory.mktemp("cli"))
    cli.ok("migrate")
    cli.ok("seed")
    return cli


def test_commands_refuse_an_unmigrated_database_and_say_to_run_migrate(fresh: Cli) -> None:
    result = fresh("seed")

    assert result.returncode == 1
    assert "python -m service migrate" in result.stderr


def test_migrate_upgrades_to_the_head_revision_and_says_so(fresh: Cli) -> None:
    result = fresh.ok("migrate")

    assert "head" in result.stdout
    assert fresh.path.exists()
    assert fresh.ok("migrate").stdout == result.stdout


def test_seeding_twice_adds_nothing_the_second_time(fresh: Cli) -> None:
    fresh.ok("migrate")

    first = fresh.ok("seed")
    second = fresh.ok("seed")

    assert f"{SEED_COMMENTS} added" in first.stdout
    assert "0 added" in second.stdout
    assert f"{SEED_COMMENTS} already present" in second.stdout
    assert f"seeded {SEED_COMMENTS}/{SEED_COMMENTS} comments" in second.stderr
    assert fresh.head_position() == SEED_EVENTS
    assert len(fresh.rows(moderation_queue)) == SEED_COMMENTS


def test_a_moderator_token_is_printed_alone_and_stored_only_as_a_hash(seeded: Cli) -> None:
    result = seeded.ok("moderator", "add", "kiem-duyet-1", "--role", "moderator")

    token = result.stdout.strip()
    assert result.stdout.count("\n") == 1
    assert token.startswith("cmt_")
    assert "shown this once" in result.stderr
    with sqlite3.connect(seeded.path) as conn:
        stored = conn.execute("SELECT token_hash, role FROM moderators WHERE name = 'kiem-duyet-1'").fetchone()
    assert stored == (hashlib.sha256(token.encode()).hexdigest(), "moderator")


def test_adding_a_moderator_twice_fails_until_the_first_is_revoked(seeded: Cli) -> None:
    seeded.ok("moderator", "add", "kiem-duyet-2", "--role", "auditor")

    duplicate = seeded("moderator", "add", "kiem-duyet-2", "--role", "auditor")
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert duplicate.stdout == ""

    seeded.ok("moderator", "revoke", "kiem-duyet-2")
    listed = seeded.ok("moderator", "list").stdout
    assert any(line.split()[:3] == ["kiem-duyet-2", "auditor", "revoked"] for line in listed.splitlines())
    again = seeded("moderator", "revoke", "kiem-duyet-2")
    assert again.returncode == 1
    assert "no active moderator" in again.stderr
    seeded.ok("moderator", "add", "kiem-duyet-2", "--role", "admin")


def test_an_unknown_role_or_a_malformed_name_is_a_usage_error(seeded: Cli) -> None:
    assert seeded("moderator", "add", "someone", "--role", "boss").returncode == 2
    assert seeded("moderator", "add", "Not Valid!", "--role", "admin").returncode == 2


def test_a_malformed_setting_exits_2_and_names_the_setting(seeded: Cli) -> None:
    seeded.env["COMMENTS_PORT"] = "tám nghìn"
    try:
        result = seeded("migrate")
    finally:
        del seeded.env["COMMENTS_PORT"]

    assert result.returncode == 2
    assert "COMMENTS_PORT" in result.stderr


def test_audit_verify_exits_0_on_the_intact_log(seeded: Cli) -> None:
    result = seeded.ok("audit", "verify")

    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["checked"] == report["head_position"] >= SEED_EVENTS
    assert report["first_bad_position"] is None


def test_audit_verify_exits_1_and_names_the_first_altered_position(fresh: Cli) -> None:
    fresh.ok("migrate")
    fresh.ok("seed")
    with sqlite3.connect(fresh.path) as conn:
        # Only someone bypassing the service can do this: the trigger refusing updates has to go first.
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET actor = 'moderator:mallory' WHERE position = 7")

    result = fresh("audit", "verify")

    assert result.returncode == 1
    assert json.loads(result.stdout)["first_bad_position"] == 7
    assert "position 7" in result.stderr


def test_export_writes_every_event_as_one_json_line_in_position_order(seeded: Cli, tmp_path: Path) -> None:
    head = seeded.head_position()

    to_stdout = seeded.ok("export").stdout.splitlines()
    target = tmp_path / "log.ndjson"
    written = seeded.ok("export", "--output", str(target))

    events = [json.loads(line) for line in to_stdout]
    assert [event["position"] for event in events] == list(range(1, head + 1))
    assert target.read_text(encoding="utf-8").splitlines() == to_stdout
    assert f"exported {head} events" in written.stderr
    first = events[0]
    assert first["type"] == "CommentSubmitted"
    assert {"event_id", "stream_id", "stream_version", "actor", "recorded_at", "data", "hash", "prev_hash"} <= set(
        first
    )
    assert first["data"]["author_name"] == "Nguyễn Văn Hùng"


def test_rebuild_leaves_every_view_identical(seeded: Cli) -> None:
    views = (moderation_queue, published_comments, articles)
    before = [seeded.rows(table) for table in views]

    result = seeded.ok("rebuild")

    assert [seeded.rows(table) for table in views] == before
    head = seeded.head_position()
    assert f"rebuilt {head}/{head} events" in result.stderr
    with sqlite3.connect(seeded.path) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert not [name for name in names if "_rebuild_" in name]


def test_import_ndjson_records_the_good_lines_and_lists_the_bad_one_by_number(seeded: Cli) -> None:
    article = "nhap-du-lieu"
    approved = {"author_name": "Lý Thu Trang", "phone": "0912 000 333", "title": "Đồng ý", "status": "approved"}
    rejected = {"author_name": "Quảng cáo", "title": "Mua", "status": "rejected", "reason_code": "spam"}
    lines = [
        {"article_id": article, **approved, "body": "Rất hay"},
        {"article_id": article, "author_name": "", "title": "Thiếu tên", "body": "Không có tên"},
        {"article_id": article, "author_name": "Mai", "title": "Chờ duyệt", "body": "Dòng 1\nDòng 2"},
        {"article_id": article, **rejected, "body": "Mua ngay!"},
    ]
    source = seeded.cwd / "comments.ndjson"
    source.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")

    result = seeded("import", "ndjson", source.name)

    assert result.returncode == 1
    assert "imported 3 comments" in result.stdout
    assert result.stderr.strip() == "line 2: author_name: required"
    imported = {row.title: row for row in seeded.rows(moderation_queue) if row.article_id == article}
    assert {title: row.status for title, row in imported.items()} == {
        "Đồng ý": "approved",
        "Chờ duyệt": "pending",
        "Mua": "rejected",
    }
    assert imported["Đồng ý"].phone == "+84912000333"
    assert imported["Mua"].reason_code == "spam"

    again = seeded("import", "ndjson", source.name)
    assert "imported 0 comments, 3 already present, 1 bad lines" in again.stdout


def test_an_unsupported_import_format_exits_2(seeded: Cli) -> None:
    result = seeded("import", "csv", "whatever.csv")

    assert result.returncode == 2
    assert "unsupported format 'csv'" in result.stderr
