"""Each row of the throughput table, measured through the service's public surfaces: its HTTP API and its CLI."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench import baselines, load, workload, wrk
from bench.load import expect
from bench.processes import PYTHON, BenchError, cli, free_port, serving
from bench.report import Row


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One backend under test: the running server's address, a folder for logs, a moderator token."""

    backend: str
    base: str
    folder: Path
    token: str

    @property
    def moderator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# --- the command line: import and rebuild --------------------------------------------------------------------


def _net(total: float, startup: float, knob: str) -> tuple[float, str]:
    """The command's own time (start-up subtracted) and how to read it: when start-up is most of the run the
    difference is noise, and the figure says so instead of claiming an absurd rate."""
    seconds = total - startup
    detail = f"{max(seconds, 0):.1f} s after {startup:.2f} s CLI start-up"
    if seconds < max(1.0, startup):
        return max(seconds, startup), detail + f"; too short to measure, raise {knob} (counted with start-up)"
    return seconds, detail


async def import_row(backend: str, env: dict[str, str], folder: Path, count: int, startup: float) -> Row:
    path = folder / "import.ndjson"
    workload.write(path, workload.main_import(count))
    bare = await baselines.executemany(env["COMMENTS_DATABASE_URL"], count)
    finished = await workload.import_file(env, path, count)
    path.unlink()
    seconds, detail = _net(finished.seconds, startup, "BENCH_IMPORT_COMMENTS")
    rate = count / seconds
    return Row(
        what=f"import ndjson ({count:,} comments, {workload.pending_in_main_import(count):,} pending)",
        backend=backend,
        figure=rate,
        unit="comments/s",
        detail=detail,
        baseline_name="bare executemany",
        baseline=bare,
        baseline_unit="rows/s",
        goal="≥ 5,000 comments/s",
        met=rate >= 5_000,
    )


async def rebuild_row(backend: str, env: dict[str, str], startup: float) -> Row:
    url = env["COMMENTS_DATABASE_URL"]
    events = await baselines.event_count(url)
    bare = await baselines.executemany(url, events)
    finished = await cli(env, "rebuild", within=60 + events * workload.CLI_SECONDS_PER_ITEM)
    seconds, detail = _net(finished.seconds, startup, "BENCH_REBUILD_EVENTS")
    rate = events / seconds
    return Row(
        what=f"rebuild ({events:,} events)",
        backend=backend,
        figure=rate,
        unit="events/s",
        detail=detail,
        baseline_name="bare executemany",
        baseline=bare,
        baseline_unit="rows/s",
        goal="≥ 50,000 events/s",
        met=rate >= 50_000,
    )


# --- writes over HTTP: submit and approve --------------------------------------------------------------------


async def _captchas(target: Target, count: int) -> list[str]:
    ids: list[str] = [""] * count
    async with load.session(10) as client:

        async def create(index: int) -> None:
            async with client.post(f"{target.base}/api/v1/captchas") as response:
                ids[index] = str(json.loads(await expect(response, 201))["id"])

        sample = await load.run(count, 10, create)
    if sample.failures:
        raise BenchError(f"creating CAPTCHA challenges: {sample.first_error}")
    return ids


async def _submissions(target: Target, count: int, concurrency: int) -> load.Sample:
    captchas = await _captchas(target, count)  # outside the timed part
    url = f"{target.base}/api/v1/articles/bench-submit/comments"
    async with load.session(concurrency) as client:

        async def submit(index: int) -> None:
            body = {
                "author_name": f"Trần Thị Bình {index}",
                "title": "Ý kiến bạn đọc",
                "body": workload.BODY.format(number=f"s{concurrency}-{index}-{uuid.uuid4().hex[:8]}"),
                "captcha_id": captchas[index],
                "captcha_answer": workload.CAPTCHA_ANSWER,
            }
            if index % 2 == 0:
                body["phone"] = f"03{2 + concurrency % 8}{index:07d}"
            async with client.post(url, json=body) as response:
                await expect(response, 202)

        return await load.run(count, concurrency, submit)


async def submit_rows(target: Target, count: int, inserts: dict[int, load.Sample]) -> list[Row]:
    rows = []
    for concurrency in (1, 10):
        sample = await _submissions(target, count, concurrency)
        rows.append(
            Row(
                what=f"submit c{concurrency} (HTTP, CAPTCHA each)",
                backend=target.backend,
                figure=sample.rate,
                unit="req/s",
                detail=sample.detail(),
                baseline_name=f"INSERT+COMMIT loop c{concurrency}",
                baseline=inserts[concurrency].rate,
                baseline_unit="tx/s",
                goal="— (PG ≥ 5× Isso: no Isso here)",
            )
        )
    return rows


async def pending_items(target: Target, count: int) -> list[tuple[str, int]]:
    """The first `count` pending items of the queue with their versions, by walking it 200 at a time."""
    items: list[tuple[str, int]] = []
    cursor = ""
    async with load.session(1, target.moderator) as client:
        while len(items) < count:
            query = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            async with client.get(f"{target.base}/api/v1/moderation/queue", params=query) as response:
                page = json.loads(await expect(response, 200))
            items += [(item["id"], int(item["version"])) for item in page["items"]]
            cursor = page["next_cursor"] or ""
            if not cursor:
                break
    return items[:count]


async def approve_row(target: Target, count: int, insert: load.Sample) -> Row:
    items = await pending_items(target, count)
    if len(items) < count:
        raise BenchError(f"approve: only {len(items)} pending items, {count} wanted")
    async with load.session(10, target.moderator) as client:

        async def approve(index: int) -> None:
            comment_id, version = items[index]
            url = f"{target.base}/api/v1/moderation/comments/{comment_id}/approve"
            async with client.post(url, json={"expected_version": version}) as response:
                await expect(response, 200)

        sample = await load.run(count, 10, approve)
    p99 = sample.percentile_ms(0.99)
    postgres = target.backend == "postgres"
    return Row(
        what="approve c10 (HTTP, expected_version)",
        backend=target.backend,
        figure=sample.rate,
        unit="req/s",
        detail=sample.detail(),
        baseline_name="INSERT+COMMIT loop c10",
        baseline=insert.rate,
        baseline_unit="tx/s",
        goal="≥ 1,000 req/s, p99 ≤ 50 ms" + ("" if postgres else " (on PG)"),
        met=(sample.rate >= 1_000 and p99 <= 50 and not sample.failures) if postgres else None,
    )


# --- the moderation queue: first page against a deep one -----------------------------------------------------


async def queue_row(target: Target, depth: int, requests: int) -> Row:
    url = f"{target.base}/api/v1/moderation/queue"
    cursor = ""
    walked = 0
    async with load.session(1, target.moderator) as client:
        while walked < depth:
            query = {"limit": str(min(200, depth - walked)), **({"cursor": cursor} if cursor else {})}
            async with client.get(url, params=query) as response:
                page = json.loads(await expect(response, 200))
            walked += len(page["items"])
            cursor = page["next_cursor"] or ""
            if not cursor:
                raise BenchError(f"queue: the walk ended after {walked} items, before item {depth}")

        async def page_of_50(query: dict[str, str]) -> None:
            async with client.get(url, params={"limit": "50", **query}) as response:
                items = json.loads(await expect(response, 200))["items"]
            if len(items) != 50:
                raise BenchError(f"queue: a page of {len(items)} items, 50 wanted")

        async def first(_index: int) -> None:
            await page_of_50({})

        async def deep(_index: int) -> None:
            await page_of_50({"cursor": cursor})

        for warm_up in (first, deep):  # the first requests pay for cold caches: neither side should
            await load.run(10, 1, warm_up)
        first_sample = await load.run(requests, 1, first)
        deep_sample = await load.run(requests, 1, deep)
    ratio = deep_sample.rate / first_sample.rate if first_sample.rate else 0.0
    return Row(
        what=f"queue page at item {depth:,} (50 items, c1)",
        backend=target.backend,
        figure=deep_sample.rate,
        unit="req/s",
        detail=deep_sample.detail(),
        baseline_name="first page",
        baseline=first_sample.rate,
        goal="as fast as the first page (≥ 0.9×)",
        met=ratio >= 0.9 and not deep_sample.failures and not first_sample.failures,
        note=f"first page {first_sample.detail()}",
    )


# --- reads, with wrk, against a hello-world ------------------------------------------------------------------


async def hello_world(folder: Path, seconds: int, connections: int) -> wrk.Result:
    port = free_port()
    argv = [PYTHON, "-m", "bench.hello", str(port)]
    base = f"http://127.0.0.1:{port}/"
    async with serving(argv, {}, base, folder / "hello.log"):
        return await wrk.run(base, seconds=seconds, threads=2, connections=connections)


async def read_rows(target: Target, seconds: int, connections: int) -> list[Row]:
    hello = await hello_world(target.folder, seconds, connections)
    listing = f"{target.base}/api/v1/articles/{workload.READ_ARTICLE}/comments?per_page=50"
    async with load.session(1) as client, client.get(listing) as response:
        page = json.loads(await expect(response, 200))
        etag = response.headers["ETag"]
    if len(page["items"]) < 50:
        raise BenchError(f"read: the article has {len(page['items'])} published comments, 50 wanted")
    counts = f"{target.base}/api/v1/counts?" + "&".join(f"article_id={name}" for name in workload.COUNT_ARTICLES)
    fresh = await wrk.run(listing, seconds=seconds, threads=2, connections=connections)
    cached = await wrk.run(
        listing, seconds=seconds, threads=2, connections=connections, headers={"If-None-Match": etag}
    )
    counted = await wrk.run(counts, seconds=seconds, threads=2, connections=connections)
    hello_name = f"hello-world c{connections}"

    def row(what: str, result: wrk.Result, goal: str, met: bool | None) -> Row:
        return Row(
            what=what,
            backend=target.backend,
            figure=result.rate,
            unit="req/s",
            detail=result.detail(),
            baseline_name=hello_name,
            baseline=hello.rate,
            goal=goal,
            met=None if met is None else met and not result.errors,
            note=f"hello-world {hello.detail()}" if what.startswith("read") else "",
        )

    return [
        row(
            f"read 50 comments c{connections}",
            fresh,
            "≥ 0.5× hello-world, p99 ≤ 15 ms",
            fresh.rate >= 0.5 * hello.rate and fresh.p99_ms <= 15,
        ),
        row(f"304 revalidation c{connections}", cached, "≥ 0.6× hello-world", cached.rate >= 0.6 * hello.rate),
        row(f"counts for 20 articles c{connections}", counted, "— (Isso ref: not measurable here)", None),
    ]
