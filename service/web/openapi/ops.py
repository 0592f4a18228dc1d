"""The operators' and browsers' part of the document: health, readiness, metrics, this document, and the pages."""

from __future__ import annotations

from service.web.openapi.building import Json, obj, operation, ref, response, string

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


def schemas() -> Json:
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


def paths() -> Json:
    return {**_ops_paths(), **_page_paths()}


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
        "/metrics": {
            "get": operation(
                "metrics",
                "Prometheus metrics (with COMMENTS_METRICS_TOKEN set, only for `Authorization: Bearer <that token>`)",
                "ops",
                {"200": metrics, "401": ref("responses", "Unauthorized")},
            )
        },
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
