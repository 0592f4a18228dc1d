"""The readers' part of the document: CAPTCHA, submitting, reading, counting and reporting."""

from __future__ import annotations

from service import text
from service.events import ARTICLE_ID, REPORT_REASONS
from service.web.openapi.building import (
    BODY_ERRORS,
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
from service.web.openapi.handlers import MAX_COUNT_ARTICLES


def schemas() -> Json:
    return {**_submission_schemas(), **_reading_schemas(), **_report_schemas()}


def _submission_schemas() -> Json:
    limits = "Lengths count code points after cleaning (NFC, control and invisible characters removed, trimmed)."
    return {
        "CaptchaChallenge": obj(
            {
                "id": string("Opaque challenge id.", pattern="^[A-Za-z0-9_-]{1,64}$"),
                "image_url": string("The challenge as a PNG.", format="uri-reference"),
                "audio_url": string("The challenge spoken, as a WAV.", format="uri-reference"),
                "expires_at": string(format="date-time"),
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
                "id": string(format="uuid"),
                "status": string(
                    "`pending` under pre-moderation, `published` under post-moderation.",
                    enum=["pending", "published"],
                ),
                "version": integer(1),
            }
        ),
    }


def _reading_schemas() -> Json:
    uuid = string(format="uuid")
    return {
        "PublishedComment": obj(
            {
                "id": uuid,
                "parent_id": nullable(uuid),
                "author_name": string(),
                "title": string(),
                "body": string(),
                "published_at": string(format="date-time"),
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
    }


def _report_schemas() -> Json:
    return {
        "Report": obj({"reason": string(enum=list(REPORT_REASONS))}, closed=False),
        "ReportAccepted": obj({"id": string(format="uuid"), "reported": {"const": True}, "version": integer(1)}),
    }


def paths() -> Json:
    return {**_captcha_paths(), **_comment_paths(), **_count_paths(), **_report_paths()}


def _captcha_paths() -> Json:
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
                parameters=(ref("parameters", "CaptchaId"),),
            )
        }
    return paths


def _comment_paths() -> Json:
    return {"/api/v1/articles/{article_id}/comments": {"post": _submit_comment(), "get": _list_comments()}}


def _submit_comment() -> Json:
    return operation(
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
        parameters=(ref("parameters", "ArticleId"), ref("parameters", "IdempotencyKey")),
        body="CommentSubmission",
    )


CDN_CACHING = (
    "`Cache-Control: public, max-age=0, s-maxage=N, stale-while-revalidate=30`, N being the service's "
    "`COMMENTS_CDN_MAX_AGE` (10 by default; with 0, `no-cache`): browsers revalidate every time, a CDN may answer "
    "for N seconds, and N + 30 while it refetches."
)


def _list_comments() -> Json:
    return operation(
        "listComments",
        "The article's published comments",
        "public",
        {
            "200": response("One page of published comments.", "PublishedPage", headers=("ETag", "Cache-Control")),
            "304": response("Not modified since the ETag sent.", headers=("ETag", "Cache-Control")),
            "404": common("NotFound"),
            "422": common("ValidationFailed"),
        },
        description=CDN_CACHING,
        parameters=(
            ref("parameters", "ArticleId"),
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
    )


def _count_paths() -> Json:
    articles = query(
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
    return {
        "/api/v1/counts": {
            "get": operation(
                "countComments",
                "Published comment counts of several articles",
                "public",
                {
                    "200": response("The counts.", "Counts", headers=("Cache-Control",)),
                    "422": common("ValidationFailed"),
                },
                description=CDN_CACHING,
                parameters=(articles | {"required": True},),
            )
        }
    }


def _report_paths() -> Json:
    return {
        "/api/v1/comments/{comment_id}/reports": {
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
                parameters=(ref("parameters", "CommentId"),),
                body="Report",
            )
        }
    }
