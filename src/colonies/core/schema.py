"""The JSON-schema subset of blueprint definitions: type, properties, required, enum, items.

A blueprint's ``spec`` is validated against its definition's ``schema`` on add and update
(docs/protocol.md §7.14); the first violation is reported with its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SchemaError", "validate"]


class SchemaError(ValueError):
    """The value does not satisfy the schema; the message names the path."""


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    return True  # an unknown type name constrains nothing (as upstream)


def validate(value: Any, schema: Mapping[str, Any], path: str = "spec") -> None:
    kind = schema.get("type")
    if isinstance(kind, str) and kind and not _type_ok(kind, value):
        raise SchemaError(f"{path} must be of type {kind}")
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        raise SchemaError(f"{path} must be one of {enum}")
    if isinstance(value, dict):
        for name in schema.get("required") or []:
            if name not in value:
                raise SchemaError(f"{path}.{name} is required")
        properties = schema.get("properties") or {}
        for name, sub in properties.items():
            if name in value and isinstance(sub, Mapping):
                validate(value[name], sub, f"{path}.{name}")
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        for i, item in enumerate(value):
            validate(item, items, f"{path}[{i}]")
