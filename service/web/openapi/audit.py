"""The auditors' part of the document: the event log, a comment's history at any moment, seals, verification."""

from __future__ import annotations

from service.events import ARTICLE_ID, EVENT_TYPES, REASON_CODES
from service.web.openapi.building import (
    COMMENT_STATUSES,
    Json,
    common,
    integer,
    nullable,
    obj,
    operation,
    query,
    ref,
    response,
    schema,
    string,
)

NDJSON = "application/x-ndjson"
SHA256 = "^[0-9a-f]{64}$"


def schemas() -> Json:
    return {**_event_schemas(), **_history_schemas(), **_log_schemas()}


def _event_schemas() -> Json:
    """An event as the log holds it, and the last decision as a comment's state names it."""
    sha256 = string(pattern=SHA256)
    moment = string(format="date-time")
    request_id = nullable(string("The request that recorded it (X-Request-Id)."))
    client_hash = nullable(string("The client's address, as a keyed hash: who, without the address itself."))
    return {
        "AuditEvent": obj(
            {
                "position": integer(1, description="Global, gapless, in commit order."),
                "event_id": string(format="uuid"),
                "stream_id": string(examples=["comment-8d0c3c5e-8f3e-4f7a-9d47-0b7a1f0a2c11", "article-politics-1"]),
                "stream_version": integer(1),
                "type": string(enum=sorted(EVENT_TYPES)),
                "schema_version": integer(1),
                "actor": string(examples=["reader", "moderator:lan", "system"]),
                "recorded_at": moment,
                "request_id": request_id,
                "client_hash": client_hash,
                "data": {"type": "object", "description": "The event's fields, personal ones included while readable."},
                "personal_data": string(enum=["readable", "erased"]),
                "hash": sha256,
                "prev_hash": sha256,
            }
        ),
        "LastDecision": obj(
            {
                "position": integer(1),
                "type": string(enum=sorted(EVENT_TYPES)),
                "actor": string(examples=["moderator:lan"]),
                "recorded_at": moment,
                "request_id": request_id,
                "client_hash": client_hash,
                "reason_code": nullable(string(enum=list(REASON_CODES))),
                "note": nullable(string()),
            }
        ),
    }


def _history_schemas() -> Json:
    moment = string(format="date-time")
    return {
        "CommentState": obj(
            {
                "at": moment,
                "status": string(enum=list(COMMENT_STATUSES)),
                "visible": {"type": "boolean", "description": "Whether readers saw it then."},
                "title": string("The title then; `(erased)` once the author's data was erased."),
                "body": string("The body then; `(erased)` once the author's data was erased."),
                "version": integer(1),
                "reason_code": nullable(string(enum=list(REASON_CODES), description="Why it was rejected or hidden.")),
                "last_decision": nullable(schema("LastDecision")),
            }
        ),
        "CommentHistory": obj(
            {
                "id": string(format="uuid"),
                "at": nullable(moment),
                "state": nullable(
                    {
                        **schema("CommentState"),
                        "description": "The comment as of `at` (now when not given); null if not yet submitted then.",
                    }
                ),
                "events": {"type": "array", "items": schema("AuditEvent")},
            }
        ),
    }


def _log_schemas() -> Json:
    return {
        "EventPage": obj(
            {
                "items": {"type": "array", "items": schema("AuditEvent")},
                "next_after": nullable(integer(1, description="Pass as `after` for the next page; null at the end.")),
            }
        ),
        "Verification": obj(
            {
                "ok": {"type": "boolean"},
                "checked": integer(0, description="Events whose chain link was recomputed."),
                "head_position": integer(0),
                "head_hash": string(pattern=SHA256),
                "first_bad_position": nullable(integer(1)),
                "problem": nullable(string()),
                "seals_checked": integer(0, description="Seals whose signature and sealed hash were confirmed."),
            }
        ),
    }


def paths() -> Json:
    return {**_history_paths(), **_log_paths()}


def _history_paths() -> Json:
    return {
        "/api/v1/audit/comments/{comment_id}/events": {
            "get": operation(
                "commentHistory",
                "A comment's whole history, and its state at any moment",
                "audit",
                {
                    "200": response("Every event of the comment, oldest first.", "CommentHistory"),
                    "404": common("NotFound"),
                    "422": common("ValidationFailed"),
                },
                description="Personal fields are decrypted while the author's key exists, `(erased)` after. "
                "`state` is folded from the events recorded at or before `at`: status, visibility, text, version "
                "and the last moderator decision (who, when, in which request, why).",
                parameters=(
                    ref("parameters", "CommentId"),
                    query(
                        "at",
                        "The moment to reconstruct, ISO 8601 with a time zone; default now.",
                        string(format="date-time"),
                    ),
                ),
                role="auditor",
            )
        },
    }


def _log_paths() -> Json:
    """The log read whole: paged or streamed, its seals, its verification."""
    seal_lines = response(
        "One seal per line: position, hash, sealed_at, algorithm (Ed25519), key_id, public_key and signature "
        "(base64). Keep a copy away from the database and check it with `python -m service audit verify --seals`.",
        headers=("Cache-Control",),
    )
    seal_lines["content"] = {NDJSON: {"schema": string()}}
    return {
        "/api/v1/audit/events": {"get": _read_log()},
        "/api/v1/audit/seals": {
            "get": operation(
                "auditSeals",
                "Every seal, with the public key that checks it",
                "audit",
                {"200": seal_lines},
                role="auditor",
            )
        },
        "/api/v1/audit/verify": {
            "get": operation(
                "verifyLog",
                "Verify the log's hash chain and its seals",
                "audit",
                {"200": response("The verification's result; `ok` is false when the log was altered.", "Verification")},
                description="Recomputes every hash, checks that the chain ends at the head, and that each stored "
                "seal is validly signed and still matches the event at its position.",
                role="auditor",
            )
        },
    }


def _read_log() -> Json:
    moment = string(format="date-time")
    log = response(
        "One page of the log (JSON), or with `Accept: application/x-ndjson` every matching event after `after`, one "
        "AuditEvent per line, streamed up to the head as it was when the request came in (`limit` is ignored).",
        "EventPage",
    )
    log["content"][NDJSON] = {"schema": schema("AuditEvent")}
    return operation(
        "auditLog",
        "The event log in position order, filtered; paged as JSON or streamed as NDJSON",
        "audit",
        {"200": log, "422": common("ValidationFailed")},
        parameters=(
            query("after", "Events after this position.", integer(0, 2**62, default=0)),
            query("limit", "Events per page (JSON only).", integer(1, 1000, default=100)),
            query(
                "type",
                "Only events of this type; repeat for several.",
                {"type": "array", "items": string(enum=sorted(EVENT_TYPES))},
                style="form",
                explode=True,
            ),
            query("actor", "Only events by this actor, e.g. `moderator:lan`.", string(maxLength=200)),
            query(
                "article_id",
                "Only events of this article's comments and settings.",
                string(pattern=ARTICLE_ID.pattern),
            ),
            query("since", "Recorded at or after this time (ISO 8601 with a time zone).", moment),
            query("until", "Recorded before this time (ISO 8601 with a time zone).", moment),
            {
                "name": "Accept",
                "in": "header",
                "required": False,
                "description": f"`{NDJSON}` streams the export instead of one JSON page.",
                "schema": string(),
            },
        ),
        role="auditor",
    )
