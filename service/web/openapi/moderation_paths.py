"""The moderators' and admins' operations: the queue, one comment, claims, decisions, moderators, article settings."""

from __future__ import annotations

from service.events import ARTICLE_ID
from service.web.openapi.building import BODY_ERRORS, Json, common, integer, operation, query, ref, response, string
from service.web.openapi.handlers import ACTIONS, MAX_BULK, QUEUE_STATUSES


def paths() -> Json:
    return {
        **_queue_paths(),
        **_comment_paths(),
        **_claim_paths(),
        **_decision_paths(),
        **_moderator_paths(),
        **_article_paths(),
    }


def _queue_paths() -> Json:
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
    }


def _comment_paths() -> Json:
    """What a moderator opens from a queue item: the author's other comments, the history, the item itself."""
    comment = ref("parameters", "CommentId")
    return {
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
    }


def _claim_paths() -> Json:
    return {
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
    }


def _decision_paths() -> Json:
    idempotency = ref("parameters", "IdempotencyKey")
    conflict = response(
        "`version_conflict` (the comment changed since `expected_version`), `invalid_transition` (the action does "
        "not apply to the comment's status) or `claimed` (another moderator holds it).",
        "Error",
    )
    action = {
        "name": "action",
        "in": "path",
        "required": True,
        "description": "The decision; another word is 404.",
        "schema": string(enum=list(ACTIONS)),
    }
    return {
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
                parameters=(ref("parameters", "CommentId"), action, idempotency),
                body="Decision",
                role="moderator",
            )
        },
    }


def _moderator_paths() -> Json:
    name = {"name": "name", "in": "path", "required": True, "description": "The moderator.", "schema": string()}
    return {
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
                parameters=(name,),
                role="admin",
            )
        },
    }


def _article_paths() -> Json:
    return {
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
                parameters=(ref("parameters", "ArticleId"),),
                body="ArticleSettings",
                role="admin",
            )
        },
    }
