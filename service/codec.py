"""Event codec: dataclass <-> JSON fields, personal fields split out, upcasters for old schema versions."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any
from uuid import UUID

from service.events import EVENT_TYPES, Event, Flag

# The current schema version of each type. A changed shape bumps it and adds an upcaster below; stored events
# are never rewritten.
SCHEMA_VERSIONS: dict[str, int] = dict.fromkeys(EVENT_TYPES, 1)

# (type, from_version) -> pure function turning that version's data into the next version's.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}

ERASED = "(erased)"


class UnknownEventType(Exception):
    pass


def _to_json(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


Converter = Callable[[Any], Any]


def _flag(value: Any) -> Flag:
    return Flag(**{key: value[key] for key in ("code", "field", "detail") if key in value})


def _converter(hint: Any) -> Converter | None:
    """How a JSON value becomes the field's type; None when it already is (a str, a bool, a number)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _converter(options[0])
    if hint is UUID:
        return UUID
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        item = _converter(item_hint)
        if item is None:
            return tuple
        return lambda value: tuple(item(element) for element in value)
    if hint is Flag:
        return _flag
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """One event type's fields, worked out once: a replay decodes a million events with it."""

    cls: type[Event]
    # (name, personal, value when the key is shredded, converter)
    fields: tuple[tuple[str, bool, Any, Converter | None], ...]


_PLANS: dict[str, _Plan] = {}


def _plan(kind: str) -> _Plan:
    plan = _PLANS.get(kind)
    if plan is None:
        cls = EVENT_TYPES.get(kind)
        if cls is None:
            raise UnknownEventType(kind)
        hints = typing.get_type_hints(cls)
        plan = _PLANS[kind] = _Plan(
            cls,
            tuple(
                # Optional personal fields (phone, address hash) read as absent; the texts as "(erased)".
                (f.name, f.name in cls.PII, None if f.default is None else ERASED, _converter(hints[f.name]))
                for f in dataclasses.fields(cls)
            ),
        )
    return plan


def encode(event: Event) -> tuple[str, int, dict[str, Any], dict[str, Any] | None]:
    """Type name, schema version, public data and personal data (None when the event has none)."""
    kind = type(event).__name__
    data: dict[str, Any] = {}
    pii: dict[str, Any] = {}
    for f in dataclasses.fields(event):
        target = pii if f.name in event.PII else data
        target[f.name] = _to_json(getattr(event, f.name))
    return kind, SCHEMA_VERSIONS[kind], data, (pii or None)


def decode(kind: str, schema_version: int, data: dict[str, Any], pii: dict[str, Any] | None) -> Event:
    """Rebuild an event; personal fields whose key was shredded read as "(erased)" (phone as None)."""
    plan = _plan(kind)
    while schema_version < SCHEMA_VERSIONS[kind]:
        data = UPCASTERS[(kind, schema_version)](data)
        schema_version += 1
    values: dict[str, Any] = {}
    for name, personal, shredded, convert in plan.fields:
        if personal:
            values[name] = shredded if pii is None else pii.get(name)
        elif name in data:
            value = data[name]
            values[name] = value if convert is None or value is None else convert(value)
    return plan.cls(**values)
