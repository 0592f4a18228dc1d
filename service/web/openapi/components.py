"""The document's shared components: headers, parameters, error responses and schemas, the bearer scheme."""

from __future__ import annotations

from service.events import ARTICLE_ID, ARTICLE_ID_MAX
from service.web.openapi.building import Json, integer, obj, response, schema, string
from service.web.openapi.handlers import IDEMPOTENCY_KEY, REQUEST_ID


def headers() -> Json:
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


def parameters() -> Json:
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


def error_responses() -> Json:
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


def error_schemas() -> Json:
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


def security_schemes() -> Json:
    return {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A token shown once when `python -m service moderator add NAME --role ROLE` creates it. Roles: "
                "`moderator` (queue and decisions), `auditor` (audit endpoints), `admin` (everything, and "
                "article settings). Each operation lists the role it needs; an admin token passes every check."
            ),
        }
    }
