"""The moderators' and admins' schemas: the queue and claims, moderators, a comment's history, decisions."""

from __future__ import annotations

from service import auth, text
from service.events import ARTICLE_ID_MAX, EVENT_TYPES, REASON_CODES, REPORT_REASONS
from service.web.openapi.building import COMMENT_STATUSES, Json, integer, nullable, obj, schema, string
from service.web.openapi.handlers import ACTIONS, DEFAULT_LEASE_SECONDS, MAX_BULK


def schemas() -> Json:
    return {
        **_queue_schemas(),
        **_moderator_schemas(),
        **_history_schemas(),
        **_decision_schemas(),
        **_article_schemas(),
    }


def _queue_schemas() -> Json:
    """The queue, claims on it, and what a moderator opens from one of its items."""
    return {
        "Flag": obj(
            {
                "code": string("Why the comment was flagged at submission."),
                "field": nullable(string()),
                "detail": string(),
            }
        ),
        "QueueItem": _queue_item(),
        "QueuePage": obj(
            {
                "items": {"type": "array", "items": schema("QueueItem")},
                "next_cursor": nullable(string("Pass as `cursor` for the next page; null on the last one.")),
            }
        ),
        "ClaimRequest": obj(
            {
                "limit": integer(1, 100, description="How many items the caller wants to hold in all."),
                "lease_seconds": nullable(integer(10, 3600, default=DEFAULT_LEASE_SECONDS)),
                "article_id": nullable(string(maxLength=ARTICLE_ID_MAX)),
            },
            required=("limit",),
            closed=False,
        ),
        "ClaimedItems": obj({"items": {"type": "array", "items": schema("QueueItem")}}),
        "RelatedItems": obj({"items": {"type": "array", "items": schema("QueueItem")}}),
        "AuthorRejection": obj(
            {
                "reason_code": string(enum=list(REASON_CODES)),
                "note": nullable(string("Why, for the history.", maxLength=text.NOTE_MAX_LEN)),
            },
            required=("reason_code",),
        ),
        "ReleasedClaims": obj({"released": integer(0)}),
    }


def _queue_item() -> Json:
    uuid = string(format="uuid")
    moment = string(format="date-time")
    return obj(
        {
            "id": uuid,
            "article_id": string(),
            "parent_id": nullable(uuid),
            "status": string(enum=list(COMMENT_STATUSES)),
            "published": {"type": "boolean"},
            "version": integer(1),
            "author_name": string(),
            "phone": nullable(string("E.164, e.g. +84912345678.")),
            "title": string(),
            "body": string(),
            "submitted_at": moment,
            "updated_at": moment,
            "flags": {"type": "array", "items": schema("Flag")},
            "report_count": integer(0),
            "report_reasons": {"type": "array", "items": string(enum=list(REPORT_REASONS))},
            "reason_code": nullable(string(enum=list(REASON_CODES))),
            "erased": {"type": "boolean", "description": "The author's personal data was erased."},
            "claimed_by": nullable(string("The moderator holding a live claim.")),
            "claim_expires_at": nullable(moment),
        }
    )


def _moderator_schemas() -> Json:
    moment = string(format="date-time")
    return {
        "Moderator": obj(
            {
                "name": string(pattern=auth.NAME_PATTERN.pattern),
                "role": string(enum=list(auth.ROLES)),
                "created_at": moment,
                "revoked_at": nullable(moment),
            }
        ),
        "Moderators": obj({"items": {"type": "array", "items": schema("Moderator")}}),
        "NewModerator": obj(
            {"name": string(pattern=auth.NAME_PATTERN.pattern), "role": string(enum=list(auth.ROLES))},
            required=("name", "role"),
        ),
        "IssuedToken": obj(
            {
                "name": string(),
                "role": string(enum=list(auth.ROLES)),
                "token": string("The bearer token: shown this once, only its hash is stored."),
            }
        ),
        "RevokedModerator": obj({"name": string(), "revoked": {"type": "boolean"}}),
    }


def _history_schemas() -> Json:
    return {
        "ModerationEvent": obj(
            {
                "stream_version": integer(1, description="The comment's version this event made."),
                "type": string(enum=sorted(EVENT_TYPES)),
                "actor": string(examples=["reader", "moderator:lan", "system"]),
                "recorded_at": string(format="date-time"),
                "request_id": nullable(string()),
                "personal_data": string(enum=["readable", "erased"]),
                "data": {
                    "type": "object",
                    "description": "The event's fields (reason_code, note, title, body, flags, ...) without the "
                    "phone number and the keyed hashes that stand for a person.",
                },
            }
        ),
        "ModerationHistory": obj(
            {"id": string(format="uuid"), "events": {"type": "array", "items": schema("ModerationEvent")}}
        ),
    }


def _decision_schemas() -> Json:
    uuid = string(format="uuid")
    reason_code = string(enum=list(REASON_CODES))
    decision_properties: dict[str, Json] = {
        "expected_version": integer(1, description="The version the moderator saw; 409 version_conflict if stale."),
        "reason_code": nullable({**reason_code, "description": "Required to reject; optional to hide."}),
        "note": nullable(string("Required to edit; optional otherwise.", maxLength=text.NOTE_MAX_LEN)),
        "title": nullable(string("edit only: the new title.", minLength=1, maxLength=text.TITLE_MAX_LEN)),
        "body": nullable(string("edit only: the new body.", minLength=1, maxLength=text.BODY_MAX_LEN)),
    }
    return {
        "Decision": obj(decision_properties, required=("expected_version",), closed=False),
        "BulkDecision": obj(
            {
                "id": uuid,
                "action": string(enum=list(ACTIONS)),
                **decision_properties,
            },
            required=("id", "action", "expected_version"),
            closed=False,
        ),
        "BulkDecisions": obj(
            {"decisions": {"type": "array", "minItems": 1, "maxItems": MAX_BULK, "items": schema("BulkDecision")}},
            closed=False,
        ),
        "DecisionResult": obj({"id": uuid, "status": string(enum=list(COMMENT_STATUSES)), "version": integer(1)}),
        "DecisionFailure": obj(
            {
                "id": nullable(string("The id as sent.")),
                "status": {"type": "null"},
                "error": schema("ErrorDetail"),
            }
        ),
        "BulkResults": obj(
            {
                "results": {
                    "type": "array",
                    "description": "One result per decision, in order; each applied or refused on its own.",
                    "items": {"oneOf": [schema("DecisionResult"), schema("DecisionFailure")]},
                }
            }
        ),
    }


def _article_schemas() -> Json:
    return {
        "ArticleSettings": obj(
            {"moderation": string(enum=["pre", "post"]), "closed": {"type": "boolean"}}, closed=False
        ),
        "ArticleSettingsChanged": obj(
            {
                "article_id": string(),
                "moderation": string(enum=["pre", "post"]),
                "closed": {"type": "boolean"},
                "version": integer(1),
            }
        ),
    }
