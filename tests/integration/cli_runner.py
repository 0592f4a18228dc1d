"""Running `python -m service` as a subprocess, as an operator or cron would, against one database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET


def cli_env(database_url: str) -> dict[str, str]:
    """This process's environment without any COMMENTS_ setting of the caller's, pointed at the test database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMMENTS_")}
    env.update({"COMMENTS_DATABASE_URL": database_url, "COMMENTS_SECRET_KEY": TEST_SECRET})
    return env


def run_cli(
    env: dict[str, str], *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "service", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


async def run(database_url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command against `database_url`, off the event loop so the test's own database work is not blocked."""
    return await asyncio.to_thread(run_cli, cli_env(database_url), *args, stdin=stdin)
