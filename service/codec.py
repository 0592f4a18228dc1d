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


_HINTS: dict[str, dict[str, Any]] = {}


def _hints(kind: type) -> dict[str, Any]:
    if kind.__name__ not in _HINTS:
        _HINTS[kind.__name__] = typing.get_type_hints(kind)
    return _HINTS[kind.__name__]


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _from_json(options[0], value)
    if hint is UUID:
        return UUID(value)
    if origin is tuple:
        (item_hint, _ellipsis) = typing.get_args(hint)
        return tuple(_from_json(item_hint, item) for item in value)
    if hint is Flag:
        return Flag(**{key: value[key] for key in ("code", "field", "detail") if key in value})
    return value


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
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise UnknownEventType(kind)
    while schema_version < SCHEMA_VERSIONS[kind]:
        data = UPCASTERS[(kind, schema_version)](data)
        schema_version += 1
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in cls.PII:
            if pii is None:
                # Optional personal fields (phone, address hash) read as absent; the texts as "(erased)".
                values[f.name] = None if f.default is None else ERASED
            else:
                values[f.name] = pii.get(f.name)
        elif f.name in data:
            values[f.name] = _from_json(hints[f.name], data[f.name])
    return cls(**values)
