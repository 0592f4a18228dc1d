"""What the bench feeds the service: its settings environment, NDJSON import files, the command-line steps."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

from bench.processes import Finished, cli

SECRET = "bench-secret-that-is-long-enough-for-the-rules"
CAPTCHA_ANSWER = "BENCH"
READ_ARTICLE = "bench-read"
READ_COMMENTS = 60
COUNT_ARTICLES = [READ_ARTICLE, *(f"bench-count-{number:02d}" for number in range(1, 20))]
QUEUE_ARTICLES = 10
BODY = (
    "Dự án đường gần nhà tôi đã bàn giao mặt bằng từ cuối năm ngoái. Mong thành phố sớm thi công để người dân "
    "đi lại thuận tiện hơn, nhất là đoạn qua trường học. Cảm ơn tòa soạn đã đưa tin kịp thời! Ý kiến số {number}."
)
CLI_SECONDS_PER_ITEM = 0.1  # a generous bound on the import and rebuild processes: today's figures are ~100x faster


def service_env(url: str, folder: Path, port: int = 0) -> dict[str, str]:
    """The environment of every service process: this run's database, every per-client and per-article limit off."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("COMMENTS_")}
    env.update(
        COMMENTS_DATABASE_URL=url,
        COMMENTS_HOST="127.0.0.1",
        COMMENTS_PORT=str(port),
        COMMENTS_ENV="development",
        COMMENTS_SECRET_KEY=SECRET,
        COMMENTS_DATA_DIR=str(folder),
        COMMENTS_MODERATION="pre",
        COMMENTS_CAPTCHA_TEST_ANSWER=CAPTCHA_ANSWER,
        COMMENTS_CAPTCHA_TTL="3600",
        COMMENTS_RATE_LIMIT="0",
        COMMENTS_ARTICLE_RATE_LIMIT="0",
        COMMENTS_CAPTCHA_RATE_LIMIT="0",
        COMMENTS_REPORT_RATE_LIMIT="0",
        COMMENTS_MIN_SUBMIT_SECONDS="0",
    )
    return env


def comment(number: int, article_id: str, status: str, tag: str) -> dict[str, str]:
    """One comment as the ndjson importer takes it; every other one carries a (distinct) phone number."""
    line = {
        "article_id": article_id,
        "author_name": f"Nguyễn Văn {tag} {number}",
        "title": "Ý kiến bạn đọc",
        "body": BODY.format(number=f"{tag}-{number}"),
        "status": status,
    }
    if number % 2 == 0:
        line["phone"] = f"09{number % 100_000_000:08d}"
    return line


PUBLISHED_IN_MAIN_IMPORT = READ_COMMENTS + 3 * (len(COUNT_ARTICLES) - 1)


def pending_in_main_import(count: int) -> int:
    return max(0, count - PUBLISHED_IN_MAIN_IMPORT)


def main_import(count: int) -> Iterator[dict[str, str]]:
    """The timed import: the read article's published comments, a few on each counted article, the rest pending."""
    for number in range(count):
        if number < READ_COMMENTS:
            yield comment(number, READ_ARTICLE, "approved", "m")
        elif number < PUBLISHED_IN_MAIN_IMPORT:
            yield comment(number, COUNT_ARTICLES[1 + (number - READ_COMMENTS) // 3], "approved", "m")
        else:
            yield comment(number, f"bench-queue-{number % QUEUE_ARTICLES}", "pending", "m")


def filler(count: int, status: str, tag: str) -> Iterator[dict[str, str]]:
    for number in range(count):
        yield comment(number, f"bench-fill-{number % 100}", status, tag)


def write(path: Path, lines: Iterator[dict[str, str]]) -> int:
    written = 0
    with path.open("w", encoding="utf-8") as output:
        for line in lines:
            output.write(json.dumps(line, ensure_ascii=False) + "\n")
            written += 1
    return written


async def import_file(env: dict[str, str], path: Path, lines: int) -> Finished:
    return await cli(env, "import", "ndjson", str(path), within=60 + lines * CLI_SECONDS_PER_ITEM)


async def import_parallel(env: dict[str, str], folder: Path, lines: list[dict[str, str]], processes: int) -> None:
    """Untimed filling: the lines split over `processes` import processes run at once."""
    parts = [lines[index::processes] for index in range(processes)]
    paths = [folder / f"fill-{index}.ndjson" for index in range(processes)]
    for path, part in zip(paths, parts, strict=True):
        write(path, iter(part))
    await asyncio.gather(*(import_file(env, path, len(part)) for path, part in zip(paths, parts, strict=True)))
    for path in paths:
        path.unlink()


async def startup_seconds(env: dict[str, str]) -> float:
    """The command line's own cost (interpreter, imports, settings, connecting, the migration check): best of two."""
    runs = [await cli(env, "moderator", "list", within=120) for _ in range(2)]
    return min(run.seconds for run in runs)


async def moderator_token(env: dict[str, str], name: str) -> str:
    finished = await cli(env, "moderator", "add", name, "--role", "moderator", within=120)
    return finished.stdout.strip().splitlines()[-1]
