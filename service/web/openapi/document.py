"""The whole OpenAPI 3.1 document, put together from each area's schemas and paths."""

from __future__ import annotations

import functools
from typing import Any

from service.web.openapi import audit, components, erasures, moderation_paths, moderation_schemas, ops, public
from service.web.openapi.building import Json, ref


@functools.cache
def spec() -> dict[str, Any]:
    """The OpenAPI document; built once and shared, so callers must not mutate it."""
    paths: Json = {**public.paths(), **moderation_paths.paths(), **audit.paths(), **erasures.paths(), **ops.paths()}
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


def _components() -> Json:
    return {
        "schemas": {
            **components.error_schemas(),
            **public.schemas(),
            **moderation_schemas.schemas(),
            **audit.schemas(),
            **erasures.schemas(),
            **ops.schemas(),
        },
        "responses": components.error_responses(),
        "parameters": components.parameters(),
        "headers": components.headers(),
        "securitySchemes": components.security_schemes(),
    }
