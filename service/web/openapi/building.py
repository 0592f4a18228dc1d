"""The small builders every part of the OpenAPI document is written with: schemas, responses, operations."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

COMMENT_STATUSES = ("pending", "approved", "rejected", "hidden")
"""What a comment's `status` can be once submitted (the `reported` queue filter is not a status)."""


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


def common(name: str) -> Json:
    return ref("responses", name)


BODY_ERRORS = {
    "400": common("BadRequest"),
    "413": common("PayloadTooLarge"),
    "415": common("UnsupportedMediaType"),
    "422": common("ValidationFailed"),
}
