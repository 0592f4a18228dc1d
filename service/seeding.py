"""The demo seed: bundled articles and comments, replayed through handle() exactly as live traffic would be."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from service import eventstore, submissions, text
from service.application import handle
from service.commands import ApproveComment, Command, HideComment, RejectComment, SubmitComment
from service.crypto import Vault
from service.db import Database
from service.events import comment_stream
from service.importing import recorded_submission
from service.moderation import DomainError
from service.resources import bundled

SEED_NAMESPACE = uuid5(NAMESPACE_URL, "urn:comments-service:seed")
ACTIONS = ("approve", "reject", "hide", "pending")
FALLBACK_MODERATOR = "seed"
Progress = Callable[[int, int], None]


class SeedError(ValueError):
    """The seed files are malformed or contradict the rules; the message names the file or the comment key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedArticle:
    article_id: str
    slug: str
    title: str
    published_at: datetime
    source: str
    lead: str
    paragraphs: tuple[str, ...]
    captions: tuple[str, ...]
    author: str


@dataclass(frozen=True, slots=True)
class SeedReport:
    articles: int
    comments: int
    added: int
    skipped: int
    events: int


def load_articles(seeds: Path) -> tuple[SeedArticle, ...]:
    """Every article of the seed folder, newest first (the order a news front page shows them)."""
    loaded: list[SeedArticle] = []
    for path in sorted((seeds / "articles").glob("*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            loaded.append(
                SeedArticle(
                    article_id=str(raw["article_id"]),
                    slug=str(raw.get("slug") or path.stem),
                    title=str(raw["title"]),
                    published_at=datetime.fromisoformat(str(raw["published_at"])),
                    source=str(raw.get("source", "")),
                    lead=str(raw.get("lead", "")),
                    paragraphs=tuple(str(item) for item in raw.get("paragraphs", ())),
                    captions=tuple(str(item) for item in raw.get("captions", ())),
                    author=str(raw.get("author", "")),
                )
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SeedError(f"{path}: {error}") from error
    return tuple(sorted(loaded, key=lambda article: article.published_at, reverse=True))


def load_comments(seeds: Path) -> list[dict[str, Any]]:
    path = seeds / "comments.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SeedError(f"{path}: {error}") from error
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise SeedError(f"{path}: expected a list of comment objects")
    return raw


def seed_comment_id(article_id: str, key: str) -> UUID:
    # Deterministic, so a second seed recognises what the first recorded and adds nothing.
    return uuid5(SEED_NAMESPACE, f"{article_id}/{key}")


def _in_parent_order(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """File order, except that a reply listed before its parent waits until the parent is placed."""
    keys = {str(item.get("key")) for item in comments}
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []
    waiting: dict[str, list[dict[str, Any]]] = {}

    def place(item: dict[str, Any]) -> None:
        ordered.append(item)
        key = str(item.get("key"))
        placed.add(key)
        for child in waiting.pop(key, []):
            place(child)

    for item in comments:
        parent = item.get("parent_key")
        if parent is not None and parent not in keys:
            raise SeedError(f"comment {item.get('key')}: parent_key {parent!r} is not in the seed")
        if parent is not None and parent not in placed:
            waiting.setdefault(str(parent), []).append(item)
        else:
            place(item)
    return ordered


def _submission(item: Mapping[str, Any], ids: Mapping[str, UUID]) -> SubmitComment:
    key = str(item["key"])
    article_id = str(item["article_id"])
    comment_id = ids[key]
    raw_phone = item.get("phone")
    try:
        phone = text.normalize_phone(str(raw_phone)) if raw_phone else None
        author_name = text.clean_line(str(item["author_name"]), "author_name", text.AUTHOR_NAME_MAX_LEN)
        title = text.clean_line(str(item["title"]), "title", text.TITLE_MAX_LEN)
        body = text.clean_body(str(item["body"]))
    except text.FieldError as error:
        raise SeedError(f"comment {key}: {error}") from error
    parent_key = item.get("parent_key")
    return recorded_submission(
        comment_id=comment_id,
        article_id=article_id,
        parent_id=None if parent_key is None else ids[str(parent_key)],
        author_name=author_name,
        phone=phone,
        title=title,
        body=body,
    )


def _decisions(item: Mapping[str, Any], comment_id: UUID) -> list[Command]:
    outcome = item.get("outcome") or {}
    action = outcome.get("action", "pending")
    if action not in ACTIONS:
        raise SeedError(f"comment {item.get('key')}: unknown outcome action {action!r}")
    moderator = str(outcome.get("moderator") or FALLBACK_MODERATOR)
    note = outcome.get("note")
    reason_code = outcome.get("reason_code")
    if action == "approve":
        return [ApproveComment(comment_id=comment_id, moderator=moderator, note=note)]
    if action == "reject":
        return [
            RejectComment(comment_id=comment_id, moderator=moderator, reason_code=reason_code or "other", note=note)
        ]
    if action == "hide":
        return [
            ApproveComment(comment_id=comment_id, moderator=moderator),
            HideComment(comment_id=comment_id, moderator=moderator, reason_code=reason_code, note=note),
        ]
    return []


async def seed(
    db: Database,
    vault: Vault,
    now_fn: Callable[[], datetime],
    progress: Progress | None = None,
    *,
    seeds: Path | None = None,
) -> SeedReport:
    """Record the seed comments that are not in the log yet; returns what was added and what was already there."""
    folder = seeds if seeds is not None else bundled("seeds")
    article_list = load_articles(folder)
    known_articles = {article.article_id for article in article_list}
    comments = _in_parent_order(load_comments(folder))
    ids: dict[str, UUID] = {}
    for item in comments:
        if "key" not in item or "article_id" not in item:
            raise SeedError(f"a seed comment lacks its key or article_id: {item!r}"[:200])
        if item["article_id"] not in known_articles:
            raise SeedError(f"comment {item['key']}: article {item['article_id']!r} is not a seed article")
        ids[str(item["key"])] = seed_comment_id(str(item["article_id"]), str(item["key"]))
    added = skipped = appended = 0
    for done, item in enumerate(comments, start=1):
        key = str(item["key"])
        comment_id = ids[key]
        steps: list[Command] = [_submission(item, ids), *_decisions(item, comment_id)]
        async with db.read() as conn:
            version = await eventstore.stream_version(conn, comment_stream(comment_id))
        # Each step records exactly one event, so the stream's version says how many steps an earlier
        # (perhaps interrupted) run already took: the rest are resumed, none repeated.
        remaining = steps[version:]
        for command in remaining:
            meta = {"source": "seed", "seed_key": key}
            try:
                if isinstance(command, SubmitComment):
                    outcome = await submissions.record(db, vault, command, now=now_fn(), meta=meta)
                else:
                    outcome = await handle(db, vault, command, now=now_fn(), meta=meta)
            except DomainError as error:
                raise SeedError(f"comment {key}: {type(command).__name__} refused: {error}") from error
            appended += len(outcome.recorded)
        if remaining:
            added += 1
        else:
            skipped += 1
        if progress is not None:
            progress(done, len(comments))
    return SeedReport(articles=len(article_list), comments=len(comments), added=added, skipped=skipped, events=appended)
