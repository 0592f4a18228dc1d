"""The OpenAPI 3.1 document of every route the service answers, built once from the handlers' own constants."""

from __future__ import annotations

import functools
from typing import Any

from service import auth, text
from service.events import ARTICLE_ID, ARTICLE_ID_MAX, EVENT_TYPES, REASON_CODES, REPORT_REASONS
from service.published import MAX_COUNT_ARTICLES
from service.queue import ACTIONS, DEFAULT_LEASE_SECONDS, MAX_BULK, QUEUE_STATUSES
from service.web.middlewares import REQUEST_ID
from service.web.requests import IDEMPOTENCY_KEY

Json = dict[str, Any]

NDJSON = "application/x-ndjson"
COMMENT_STATUSES = ("pending", "approved", "rejected", "hidden")
"""What a comment's `status` can be once submitted (the `reported` queue filter is not a status)."""

PAGES = (
    ("/", "demoIndex", "text/html", "The demo: the seed articles, each linking to its page."),
    ("/demo/articles/{slug}", "demoArticle", "text/html", "A demo article page with the comments widget embedded."),
    ("/widget.js", "widgetScript", "application/javascript", "The embeddable comments widget."),
    (
        "/count.js",
        "countScript",
        "application/javascript",
        "The script that fills in comment counts next to article links.",
    ),
    ("/moderation/", "moderationConsole", "text/html", "The moderators' console."),
    ("/moderation/console.js", "consoleScript", "application/javascript", "The moderators' console's script."),
    (
        "/moderation/catalogue.js",
        "consoleCatalogue",
        "application/javascript",
        "The moderators' console's words, one catalogue per language.",
    ),
    ("/moderation/console.css", "consoleStyle", "text/css", "The moderators' console's style sheet."),
)
"""Browser-facing pages and scripts, not JSON: (path, operationId, media type, summary)."""


def ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def schema(name: str) -> Json:
    return ref("schemas", name)


def nullable(base: Json) -> Json:
    """`base` or null (JSON Schema 2020-12 style, as OpenAPI 3.1 uses)."""
    return {"anyOf": [base, {"type": "null"}]}


def obj(properties: dict[str, Json], *, required: tuple[str, ...] | None = None, closed: bool = True) -> Json:
    """An object schema; every property required unless told otherwise; no others when `closed`."""
    document: Json = {"type": "object", "properties": properties}
    needed = tuple(properties) if required is None else required
    if needed:
        document["required"] = list(needed)
    if closed:
        document["additionalProperties"] = False
    return document


def string(description: str | None = None, **keywords: Any) -> Json:
    document: Json = {"type": "string", **keywords}
    if description:
        document["description"] = description
    return document


def integer(minimum: int | None = None, maximum: int | None = None, **keywords: Any) -> Json:
    document: Json = {"type": "integer", **keywords}
    if minimum is not None:
        document["minimum"] = minimum
    if maximum is not None:
        document["maximum"] = maximum
    return document


def json_body(name: str) -> Json:
    return {"application/json": {"schema": schema(name)}}


def response(description: str, name: str | None = None, *, headers: tuple[str, ...] = ()) -> Json:
    """A response; every response carries X-Request-Id, which the request middleware always sets."""
    document: Json = {
        "description": description,
        "headers": {header: ref("headers", header) for header in ("X-Request-Id", *headers)},
    }
    if name is not None:
        document["content"] = json_body(name)
    return document


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    responses: dict[str, Json],
    *,
    description: str | None = None,
    parameters: tuple[Json, ...] = (),
    body: str | None = None,
    role: str | None = None,
) -> Json:
    document: Json = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        document["description"] = description
    if parameters:
        document["parameters"] = list(parameters)
    if body is not None:
        document["requestBody"] = {"required": True, "content": json_body(body)}
    document["responses"] = {
        **responses,
        **({"401": ref("responses", "Unauthorized"), "403": ref("responses", "Forbidden")} if role else {}),
        "500": ref("responses", "InternalError"),
    }
    if role is not None:
        # OpenAPI 3.1 lets a non-OAuth requirement name the roles it needs; admin tokens pass every check.
        document["security"] = [{"bearer": [role]}]
    return document


def query(name: str, description: str, value: Json, **keywords: Any) -> Json:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": value, **keywords}


# --- components -----------------------------------------------------------------------------------------------


def _headers() -> Json:
    return {
        "X-Request-Id": {
            "description": "The request's id: the caller's X-Request-Id when well formed, else a new one.",
            "schema": string(pattern=REQUEST_ID.pattern),
        },
        "ETag": {
            "description": "A weak validator of this page of the published list; send it back in If-None-Match.",
            "schema": string(),
        },
        "Retry-After": {"description": "Seconds to wait before trying again.", "schema": integer(1)},
        "Cache-Control": {"description": "Caching directives.", "schema": string()},
        "WWW-Authenticate": {"description": "The bearer challenge.", "schema": string()},
    }


def _parameters() -> Json:
    return {
        "ArticleId": {
            "name": "article_id",
            "in": "path",
            "required": True,
            "description": "The publisher's article id: 1-120 letters, digits, '.', '_', ':' or '-'; others are 404.",
            "schema": string(pattern=ARTICLE_ID.pattern, minLength=1, maxLength=ARTICLE_ID_MAX),
        },
        "CommentId": {
            "name": "comment_id",
            "in": "path",
            "required": True,
            "description": "The comment's id; anything but a UUID is 404.",
            "schema": string(format="uuid"),
        },
        "CaptchaId": {
            "name": "captcha_id",
            "in": "path",
            "required": True,
            "description": "The challenge id given by POST /api/v1/captchas.",
            "schema": string(pattern="^[A-Za-z0-9_-]{1,64}$"),
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": (
                "Makes a retried request safe: the same key with the same request answers what the first one "
                "did and records nothing new. 1-100 printable ASCII characters, else 400 invalid_idempotency_key."
            ),
            "schema": string(pattern=IDEMPOTENCY_KEY.pattern, minLength=1, maxLength=100),
        },
        "RequestId": {
            "name": "X-Request-Id",
            "in": "header",
            "required": False,
            "description": "A caller-chosen id echoed back and logged. Any value is accepted: one that does not "
            f"match `{REQUEST_ID.pattern}` is replaced by a generated id, never refused.",
            "schema": string(),
        },
    }


def _error_responses() -> Json:
    def error(description: str, codes: tuple[str, ...], *headers: str) -> Json:
        codes_text = ", ".join(f"`{code}`" for code in codes)
        return response(f"{description} (error code {codes_text}).", "Error", headers=headers)

    return {
        "BadRequest": error(
            "The body is not valid JSON, not an object, or not valid UTF-8, or a header is malformed",
            ("malformed_json", "invalid_utf8", "invalid_idempotency_key"),
        ),
        "Unauthorized": error("No bearer token, or an unknown or revoked one", ("unauthorized",), "WWW-Authenticate"),
        "Forbidden": error("The token's role may not do this", ("forbidden",)),
        "NotFound": error("No such resource", ("not_found",)),
        "PayloadTooLarge": error("The body is larger than the service accepts", ("payload_too_large",)),
        "UnsupportedMediaType": error("The body is not application/json in UTF-8", ("unsupported_media_type",)),
        "ValidationFailed": error(
            "Some fields or query parameters are not valid; `fields` names each with a code such as required, "
            "too_long, invalid_characters, invalid_choice, out_of_range, must_be_integer",
            ("validation_failed",),
        ),
        "RateLimited": error(
            "Too many requests from this client or for this article", ("rate_limited",), "Retry-After"
        ),
        "InternalError": error("Something went wrong on the server's side; it has been logged", ("internal_error",)),
    }


def _error_schemas() -> Json:
    detail = obj(
        {
            "code": string("A stable machine-readable code."),
            "message": string("A human-readable explanation."),
            "fields": {
                "type": "object",
                "description": "For `validation_failed`: each bad field (or query parameter) with its problem code.",
                "additionalProperties": string(),
            },
        },
        required=("code", "message"),
    )
    return {"ErrorDetail": detail, "Error": obj({"error": schema("ErrorDetail")})}


def _public_schemas() -> Json:
    uuid = string(format="uuid")
    moment = string(format="date-time")
    reason = string(enum=list(REPORT_REASONS))
    limits = "Lengths count code points after cleaning (NFC, control and invisible characters removed, trimmed)."
    return {
        "CaptchaChallenge": obj(
            {
                "id": string("Opaque challenge id.", pattern="^[A-Za-z0-9_-]{1,64}$"),
                "image_url": string("The challenge as a PNG.", format="uri-reference"),
                "audio_url": string("The challenge spoken, as a WAV.", format="uri-reference"),
                "expires_at": moment,
            }
        ),
        "CommentSubmission": obj(
            {
                "author_name": string("One line. " + limits, minLength=1, maxLength=text.AUTHOR_NAME_MAX_LEN),
                "phone": nullable(
                    string("A Vietnamese phone number; never published. Blank means none.", maxLength=100)
                ),
                "title": string("One line. " + limits, minLength=1, maxLength=text.TITLE_MAX_LEN),
                "body": string("Several lines. " + limits, minLength=1, maxLength=text.BODY_MAX_LEN),
                "captcha_id": string("The id of the challenge answered.", minLength=1),
                "captcha_answer": string(
                    "What the reader read or heard; case-insensitive. Wrong, expired, used or unknown challenges "
                    "all answer 422 captcha_invalid, and a challenge is used up by the first attempt.",
                    minLength=1,
                ),
                "parent_id": nullable(string("The comment this one replies to.", format="uuid")),
                "website": nullable(string("Leave empty: a field people never see.", maxLength=0)),
            },
            required=("author_name", "title", "body", "captcha_id", "captcha_answer"),
            closed=False,
        ),
        "SubmissionAccepted": obj(
            {
                "id": uuid,
                "status": string(
                    "`pending` under pre-moderation, `published` under post-moderation.",
                    enum=["pending", "published"],
                ),
                "version": integer(1),
            }
        ),
        "PublishedComment": obj(
            {
                "id": uuid,
                "parent_id": nullable(uuid),
                "author_name": string(),
                "title": string(),
                "body": string(),
                "published_at": moment,
            }
        ),
        "PublishedPage": obj(
            {
                "article_id": string(),
                "total": integer(0, description="Published comments on the article."),
                "closed": {"type": "boolean", "description": "Comments are closed: the widget hides its form."},
                "page": integer(1),
                "per_page": integer(1, 100),
                "items": {"type": "array", "items": schema("PublishedComment")},
            }
        ),
        "Counts": obj(
            {
                "counts": {
                    "type": "object",
                    "description": "Each requested article id with its number of published comments.",
                    "additionalProperties": integer(0),
                }
            }
        ),
        "Report": obj({"reason": reason}, closed=False),
        "ReportAccepted": obj({"id": uuid, "reported": {"const": True}, "version": integer(1)}),
    }


def _moderation_schemas() -> Json:
    uuid = string(format="uuid")
    moment = string(format="date-time")
    status = string(enum=list(COMMENT_STATUSES))
    reason_code = string(enum=list(REASON_CODES))
    decision_properties: dict[str, Json] = {
        "expected_version": integer(1, description="The version the moderator saw; 409 version_conflict if stale."),
        "reason_code": nullable({**reason_code, "description": "Required to reject; optional to hide."}),
        "note": nullable(string("Required to edit; optional otherwise.", maxLength=text.NOTE_MAX_LEN)),
        "title": nullable(string("edit only: the new title.", minLength=1, maxLength=text.TITLE_MAX_LEN)),
        "body": nullable(string("edit only: the new body.", minLength=1, maxLength=text.BODY_MAX_LEN)),
    }
    return {
        "Flag": obj(
            {
                "code": string("Why the comment was flagged at submission."),
                "field": nullable(string()),
                "detail": string(),
            }
        ),
        "QueueItem": obj(
            {
                "id": uuid,
                "article_id": string(),
                "parent_id": nullable(uuid),
                "status": status,
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
                "reason_code": nullable(reason_code),
                "erased": {"type": "boolean", "description": "The author's personal data was erased."},
                "claimed_by": nullable(string("The moderator holding a live claim.")),
                "claim_expires_at": nullable(moment),
            }
        ),
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
                "reason_code": reason_code,
                "note": nullable(string("Why, for the history.", maxLength=text.NOTE_MAX_LEN)),
            },
            required=("reason_code",),
        ),
        "ReleasedClaims": obj({"released": integer(0)}),
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
        "ModerationEvent": obj(
            {
                "stream_version": integer(1, description="The comment's version this event made."),
                "type": string(enum=sorted(EVENT_TYPES)),
                "actor": string(examples=["reader", "moderator:lan", "system"]),
                "recorded_at": moment,
                "request_id": nullable(string()),
                "personal_data": string(enum=["readable", "erased"]),
                "data": {
                    "type": "object",
                    "description": "The event's fields (reason_code, note, title, body, flags, ...) without the "
                    "phone number and the keyed hashes that stand for a person.",
                },
            }
        ),
        "ModerationHistory": obj({"id": uuid, "events": {"type": "array", "items": schema("ModerationEvent")}}),
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
        "DecisionResult": obj({"id": uuid, "status": status, "version": integer(1)}),
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


def _audit_schemas() -> Json:
    sha256 = string(pattern="^[0-9a-f]{64}$")
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
                "head_hash": sha256,
                "first_bad_position": nullable(integer(1)),
                "problem": nullable(string()),
                "seals_checked": integer(0, description="Seals whose signature and sealed hash were confirmed."),
            }
        ),
        "ErasureRequest": obj({"phone": string("The reader's phone number, in any usual spelling.")}, closed=False),
        "Erasure": obj(
            {
                "subject_id": nullable(
                    string("The random id standing for the number; SubjectErased events name it. Null: none held.")
                ),
                "erased": {
                    "type": "boolean",
                    "description": "False when nothing readable was held (unknown, or erased before): nothing changed.",
                },
                "comments": integer(0, description="Comments whose personal data this erasure made unreadable."),
            }
        ),
    }


def _ops_schemas() -> Json:
    return {
        "Health": obj({"status": {"const": "ok"}}),
        "Readiness": obj(
            {
                "status": string(enum=["ready", "not_ready"]),
                "checks": obj(
                    {
                        "database": string(examples=["ok", "unreachable"]),
                        "migrations": string(examples=["ok"]),
                    },
                    required=(),
                ),
            }
        ),
        "OpenApiDocument": {"type": "object", "description": "This document."},
    }


def _components() -> Json:
    return {
        "schemas": {
            **_error_schemas(),
            **_public_schemas(),
            **_moderation_schemas(),
            **_audit_schemas(),
            **_ops_schemas(),
        },
        "responses": _error_responses(),
        "parameters": _parameters(),
        "headers": _headers(),
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": (
                    "A token shown once when `python -m service moderator add NAME --role ROLE` creates it. Roles: "
                    "`moderator` (queue and decisions), `auditor` (audit endpoints), `admin` (everything, and "
                    "article settings). Each operation lists the role it needs; an admin token passes every check."
                ),
            }
        },
    }


# --- operations -----------------------------------------------------------------------------------------------


def common(name: str) -> Json:
    return ref("responses", name)


BODY_ERRORS = {
    "400": common("BadRequest"),
    "413": common("PayloadTooLarge"),
    "415": common("UnsupportedMediaType"),
    "422": common("ValidationFailed"),
}


def _public_paths() -> Json:
    article, comment, captcha = (ref("parameters", name) for name in ("ArticleId", "CommentId", "CaptchaId"))
    idempotency = ref("parameters", "IdempotencyKey")
    media = {
        "image.png": ("captchaImage", "The challenge as a PNG image", "image/png"),
        "audio.wav": ("captchaAudio", "The challenge spoken letter by letter, as a WAV", "audio/wav"),
    }
    paths: Json = {
        "/api/v1/captchas": {
            "post": operation(
                "createCaptcha",
                "Issue a CAPTCHA challenge",
                "public",
                {
                    "201": response("A new challenge.", "CaptchaChallenge", headers=("Cache-Control",)),
                    "429": common("RateLimited"),
                },
                description='The answer never leaves the server. Asking again ("get a new code") is just another '
                "POST; the reader's typed comment stays in the form.",
            )
        },
    }
    for suffix, (operation_id, summary, mime) in media.items():
        ok = response(summary + ".", headers=("Cache-Control",))
        ok["content"] = {mime: {}}
        paths[f"/api/v1/captchas/{{captcha_id}}/{suffix}"] = {
            "get": operation(
                operation_id,
                summary,
                "public",
                {"200": ok, "404": common("NotFound")},
                description="404 once the challenge has expired or been used.",
                parameters=(captcha,),
            )
        }
    paths["/api/v1/articles/{article_id}/comments"] = {
        "post": operation(
            "submitComment",
            "Submit a comment",
            "public",
            {
                "202": response("Accepted: pending moderation, or already published.", "SubmissionAccepted"),
                **BODY_ERRORS,
                "404": common("NotFound"),
                "409": response("The article is closed to comments (error code `article_closed`).", "Error"),
                "422": response(
                    "`validation_failed` with `fields`, or `captcha_invalid` (wrong, expired, used or unknown "
                    "challenge: one code for all).",
                    "Error",
                ),
                "429": common("RateLimited"),
            },
            description="Rate-limited per client address and per article; a submission sent faster than a "
            "person types is refused with 429 too.",
            parameters=(article, idempotency),
            body="CommentSubmission",
        ),
        "get": operation(
            "listComments",
            "The article's published comments",
            "public",
            {
                "200": response("One page of published comments.", "PublishedPage", headers=("ETag", "Cache-Control")),
                "304": response("Not modified since the ETag sent.", headers=("ETag", "Cache-Control")),
                "404": common("NotFound"),
                "422": common("ValidationFailed"),
            },
            parameters=(
                article,
                query("page", "The page, from 1.", integer(1, 100_000, default=1)),
                query("per_page", "Comments per page.", integer(1, 100, default=20)),
                query("order", "Oldest or newest first.", string(enum=["oldest", "newest"], default="oldest")),
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "description": "The ETag of a page already held: 304 when nothing changed.",
                    "schema": string(),
                },
            ),
        ),
    }
    paths["/api/v1/counts"] = {
        "get": operation(
            "countComments",
            "Published comment counts of several articles",
            "public",
            {"200": response("The counts.", "Counts"), "422": common("ValidationFailed")},
            parameters=(
                query(
                    "article_id",
                    f"An article id; repeat for more, 1 to {MAX_COUNT_ARTICLES} distinct ids.",
                    {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_COUNT_ARTICLES,
                        "items": string(pattern=ARTICLE_ID.pattern),
                    },
                    style="form",
                    explode=True,
                )
                | {"required": True},
            ),
        )
    }
    paths["/api/v1/comments/{comment_id}/reports"] = {
        "post": operation(
            "reportComment",
            "Report a published comment to the moderators",
            "public",
            {
                "202": response("The report was recorded.", "ReportAccepted"),
                **BODY_ERRORS,
                "404": common("NotFound"),
                "429": common("RateLimited"),
            },
            parameters=(comment,),
            body="Report",
        )
    }
    return paths


def _moderation_paths() -> Json:
    article, comment = ref("parameters", "ArticleId"), ref("parameters", "CommentId")
    idempotency = ref("parameters", "IdempotencyKey")
    conflict = response(
        "`version_conflict` (the comment changed since `expected_version`), `invalid_transition` (the action does "
        "not apply to the comment's status) or `claimed` (another moderator holds it).",
        "Error",
    )
    return {
        "/api/v1/moderation/queue": {
            "get": operation(
                "moderationQueue",
                "The moderation queue, oldest first",
                "moderation",
                {"200": response("One page of the queue.", "QueuePage"), "422": common("ValidationFailed")},
                description="`reported` lists published comments that readers reported.",
                parameters=(
                    query("status", "Which items.", string(enum=list(QUEUE_STATUSES), default="pending")),
                    query("article_id", "Only this article's comments.", string(pattern=ARTICLE_ID.pattern)),
                    query("limit", "Items per page.", integer(1, 200, default=50)),
                    query("cursor", "The `next_cursor` of the previous page.", string()),
                    query(
                        "flag", "Only comments flagged with this code at submission.", string(pattern="^[a-z_]{1,40}$")
                    ),
                    query("submitted_after", "Submitted at or after this time.", string(format="date-time")),
                    query("submitted_before", "Submitted before this time.", string(format="date-time")),
                ),
                role="moderator",
            )
        },
        "/api/v1/moderation/comments/{comment_id}/related": {
            "get": operation(
                "relatedComments",
                "The same author's other comments, newest first",
                "moderation",
                {"200": response("Up to 50 comments.", "RelatedItems"), "404": common("NotFound")},
                description="The same author: the same phone number or, without one, the same name from the same "
                "client address.",
                parameters=(comment,),
                role="moderator",
            )
        },
        "/api/v1/moderation/comments/{comment_id}/history": {
            "get": operation(
                "moderationHistory",
                "The comment's history: who did what, when and why",
                "moderation",
                {
                    "200": response("Every event of the comment, oldest first.", "ModerationHistory"),
                    "404": common("NotFound"),
                },
                description="What the console's history panel shows; auditors read the full record (hashes, "
                "positions) at /api/v1/audit/comments/{comment_id}/events.",
                parameters=(comment,),
                role="moderator",
            )
        },
        "/api/v1/moderation/comments/{comment_id}/reject-author": {
            "post": operation(
                "rejectAuthor",
                "Reject every pending comment by this comment's author (a spam wave)",
                "moderation",
                {"200": response("Each rejection's result.", "BulkResults"), **BODY_ERRORS, "404": common("NotFound")},
                parameters=(comment,),
                body="AuthorRejection",
                role="moderator",
            )
        },
        "/api/v1/moderation/comments/{comment_id}": {
            "get": operation(
                "moderationComment",
                "One comment as the queue shows it",
                "moderation",
                {"200": response("The comment.", "QueueItem"), "404": common("NotFound")},
                parameters=(comment,),
                role="moderator",
            )
        },
        "/api/v1/moderation/claims": {
            "post": operation(
                "claimComments",
                "Lease pending comments to the caller",
                "moderation",
                {
                    "200": response("Every item now leased to the caller, none leased to anyone else.", "ClaimedItems"),
                    **BODY_ERRORS,
                },
                description="Renews the caller's existing claims and adds free pending comments, oldest first, up "
                "to `limit` in all. Two moderators claiming at once get disjoint sets.",
                body="ClaimRequest",
                role="moderator",
            ),
            "delete": operation(
                "releaseClaims",
                "Release the caller's claims: all, or those named",
                "moderation",
                {
                    "200": response("How many claims were released.", "ReleasedClaims"),
                    "422": common("ValidationFailed"),
                },
                parameters=(query("id", "A claimed comment to release (repeatable).", string(format="uuid")),),
                role="moderator",
            ),
        },
        "/api/v1/moderation/decisions": {
            "post": operation(
                "decideMany",
                "Apply several decisions",
                "moderation",
                {"200": response("Each decision's result, applied item by item.", "BulkResults"), **BODY_ERRORS},
                description=f"At most {MAX_BULK} decisions; one refused decision does not stop the others.",
                parameters=(idempotency,),
                body="BulkDecisions",
                role="moderator",
            )
        },
        "/api/v1/moderation/comments/{comment_id}/{action}": {
            "post": operation(
                "decide",
                "Approve, reject, edit, hide or restore a comment",
                "moderation",
                {
                    "200": response("The comment's new status and version.", "DecisionResult"),
                    **BODY_ERRORS,
                    "404": common("NotFound"),
                    "409": conflict,
                },
                description="`reject` needs `reason_code`; `edit` needs `note` and a new `title` or `body`.",
                parameters=(
                    comment,
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "description": "The decision; another word is 404.",
                        "schema": string(enum=list(ACTIONS)),
                    },
                    idempotency,
                ),
                body="Decision",
                role="moderator",
            )
        },
        "/api/v1/moderation/moderators": {
            "get": operation(
                "listModerators",
                "Every moderator, admin and auditor, with when each was created or revoked (never tokens)",
                "moderation",
                {"200": response("The moderators.", "Moderators")},
                role="admin",
            ),
            "post": operation(
                "addModerator",
                "Issue a token to a new moderator (or re-issue one after revocation)",
                "moderation",
                {
                    "201": response("The token, shown once.", "IssuedToken"),
                    **BODY_ERRORS,
                    "409": response("`moderator_exists`: revoke the active one first.", "Error"),
                },
                body="NewModerator",
                role="admin",
            ),
        },
        "/api/v1/moderation/moderators/{name}": {
            "delete": operation(
                "revokeModerator",
                "Revoke a moderator's token at once",
                "moderation",
                {
                    "200": response("Revoked.", "RevokedModerator"),
                    "404": common("NotFound"),
                    "409": response("`cannot_revoke_self`: another admin must do it.", "Error"),
                },
                parameters=(
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "The moderator.",
                        "schema": string(),
                    },
                ),
                role="admin",
            )
        },
        "/api/v1/moderation/articles/{article_id}/settings": {
            "put": operation(
                "articleSettings",
                "Set an article's moderation mode and whether it is closed",
                "moderation",
                {
                    "200": response("The article's settings now.", "ArticleSettingsChanged"),
                    **BODY_ERRORS,
                    "404": common("NotFound"),
                },
                parameters=(article,),
                body="ArticleSettings",
                role="admin",
            )
        },
    }


def _audit_paths() -> Json:
    moment = string(format="date-time")
    log = response(
        "One page of the log (JSON), or with `Accept: application/x-ndjson` every matching event after `after`, one "
        "AuditEvent per line, streamed up to the head as it was when the request came in (`limit` is ignored).",
        "EventPage",
    )
    log["content"][NDJSON] = {"schema": schema("AuditEvent")}
    seal_lines = response(
        "One seal per line: position, hash, sealed_at, algorithm (Ed25519), key_id, public_key and signature "
        "(base64). Keep a copy away from the database and check it with `python -m service audit verify --seals`.",
        headers=("Cache-Control",),
    )
    seal_lines["content"] = {NDJSON: {"schema": string()}}
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
                    query("at", "The moment to reconstruct, ISO 8601 with a time zone; default now.", moment),
                ),
                role="auditor",
            )
        },
        "/api/v1/audit/events": {
            "get": operation(
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
        },
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
        "/api/v1/moderation/erasures": {
            "post": operation(
                "eraseSubject",
                "Erase a reader's personal data, by phone number",
                "moderation",
                {"202": response("Erased (or nothing was held).", "Erasure"), **BODY_ERRORS},
                description="Deletes the data key of the number's subject (crypto-shredding) and records "
                "SubjectErased: every comment by that number reads `(erased)` in the queue, the published list and "
                "the audit history, and the log still verifies. Idempotent.",
                body="ErasureRequest",
                role="admin",
            )
        },
    }


def _ops_paths() -> Json:
    metrics = response("Prometheus text exposition.", headers=("Cache-Control",))
    metrics["content"] = {"text/plain": {"schema": string()}}
    return {
        "/healthz": {"get": operation("healthz", "Liveness", "ops", {"200": response("Alive.", "Health")})},
        "/readyz": {
            "get": operation(
                "readyz",
                "Readiness: the database is reachable and migrated to head",
                "ops",
                {"200": response("Ready.", "Readiness"), "503": response("Not ready; `checks` says why.", "Readiness")},
            )
        },
        "/metrics": {"get": operation("metrics", "Prometheus metrics", "ops", {"200": metrics})},
        "/openapi.json": {
            "get": operation(
                "openapi", "This OpenAPI document", "ops", {"200": response("The document.", "OpenApiDocument")}
            )
        },
    }


def _page_paths() -> Json:
    paths: Json = {}
    for path, operation_id, mime, summary in PAGES:
        ok = response(summary)
        ok["content"] = {mime: {"schema": string()}}
        responses: dict[str, Json] = {"200": ok}
        parameters: tuple[Json, ...] = ()
        if "{slug}" in path:
            missing = response("No such demo article: a page saying so.")
            missing["content"] = {mime: {"schema": string()}}
            responses["404"] = missing
            parameters = (
                {
                    "name": "slug",
                    "in": "path",
                    "required": True,
                    "description": "The article's slug.",
                    "schema": string(),
                },
            )
        paths[path] = {"get": operation(operation_id, summary, "pages", responses, parameters=parameters)}
    return paths


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document; built once and shared, so callers must not mutate it."""
    paths: Json = {**_public_paths(), **_moderation_paths(), **_audit_paths(), **_ops_paths(), **_page_paths()}
    for item in paths.values():
        item["parameters"] = [ref("parameters", "RequestId")]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Comments service",
            "version": "1.0.0",
            "description": (
                "Readers' comments on news articles, moderated before or after publication, every change kept in "
                "an append-only, hash-chained event log. All JSON is UTF-8. Every error answers "
                '`{"error": {"code", "message", "fields"?}}`.'
            ),
        },
        "tags": [
            {"name": "public", "description": "Readers: CAPTCHA, submitting, reading, counting and reporting."},
            {"name": "moderation", "description": "Moderators and admins."},
            {"name": "audit", "description": "Auditors and admins: the event log, read-only."},
            {"name": "ops", "description": "Health, readiness, metrics and this document."},
            {"name": "pages", "description": "The widget, the moderators' console and the demo site."},
        ],
        "paths": paths,
        "components": _components(),
    }
