"""JSON decoding with Go ``encoding/json`` semantics (docs/protocol.md §3.3) and encoding (§5.1).

Go clients and pycolonies send payloads that msgspec's strict decoding alone would refuse or
misread: keys match case-insensitively, ``null`` means the zero value, unknown keys are ignored.
We decode to plain Python values first, normalise them along a plan compiled once per type,
then convert strictly, so a value of the wrong JSON type is still an error.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

__all__ = [
    "ONE_OR_MANY",
    "DecodeError",
    "decode",
    "decode_value",
    "encode",
    "normalize_free_form",
]

T = TypeVar("T")

#: ``msgspec.Meta(extra={ONE_OR_MANY: True})`` on a list type: a single object decodes as a
#: one-item list.
ONE_OR_MANY = "one_or_many"

_json_decoder = msgspec.json.Decoder()
_json_encoder = msgspec.json.Encoder()


class DecodeError(ValueError):
    """The payload is not valid JSON for the expected message."""


def normalize_free_form(value: Any) -> Any:
    """Free-form JSON as upstream re-emits it: integral numbers lose their fraction (§5.1)."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return value
    if isinstance(value, list):
        return [normalize_free_form(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize_free_form(v) for k, v in value.items()}
    return value


class _Plan:
    """How to normalise a decoded value of one declared type."""

    __slots__ = ()

    def apply(self, value: Any) -> Any:
        return value

    def zero(self) -> Any:
        """The value that stands for ``null`` where a container holds this type."""
        return None


class _Scalar(_Plan):
    __slots__ = ("_zero",)

    def __init__(self, zero: Any) -> None:
        self._zero = zero

    def zero(self) -> Any:
        return self._zero


class _Int(_Plan):
    """Go's int is 64 bits: a larger value is a type error, not a silent big integer."""

    __slots__ = ()

    def apply(self, value: Any) -> Any:
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise DecodeError(f"integer {value} does not fit in 64 bits")
        return value

    def zero(self) -> Any:
        return 0


class _FreeForm(_Plan):
    __slots__ = ()

    def apply(self, value: Any) -> Any:
        return normalize_free_form(value)


class _List(_Plan):
    __slots__ = ("item",)

    def __init__(self, item: _Plan) -> None:
        self.item = item

    def apply(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value  # strict conversion reports the type error
        item = self.item
        return [item.zero() if v is None else item.apply(v) for v in value]

    def zero(self) -> Any:
        return []


class _OneOrList(_List):
    """A list where one object may stand for a one-item list (``ONE_OR_MANY`` in the type's
    metadata): v1.9.4's clients send ``capabilities.hardware`` and ``software`` so."""

    __slots__ = ()

    def apply(self, value: Any) -> Any:
        if isinstance(value, dict):
            return [self.item.apply(value)]
        return super().apply(value)


class _Dict(_Plan):
    __slots__ = ("item",)

    def __init__(self, item: _Plan) -> None:
        self.item = item

    def apply(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        item = self.item
        return {k: item.zero() if v is None else item.apply(v) for k, v in value.items()}

    def zero(self) -> Any:
        return {}


class _Struct(_Plan):
    __slots__ = ("exact", "folded")

    def __init__(self) -> None:
        self.exact: dict[str, _Plan] = {}
        self.folded: dict[str, str] = {}

    def apply(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        exact = self.exact
        out: dict[str, Any] = {}
        folded_hits: list[tuple[str, Any]] = []
        for key, v in value.items():
            if key in exact:
                if v is not None:
                    out[key] = exact[key].apply(v)
            else:
                name = self.folded.get(key.lower()) if isinstance(key, str) else None
                if name is not None and v is not None:
                    folded_hits.append((name, v))
        for name, v in folded_hits:  # an exact match wins over a case-insensitive one
            if name not in out:
                out[name] = exact[name].apply(v)
        return out

    def zero(self) -> Any:
        return {}


_ZEROS: dict[type, Any] = {
    mi.StrType: "",
    mi.FloatType: 0.0,
    mi.BoolType: False,
}


def _plan_for_info(info: mi.Type, seen: dict[type, _Struct]) -> _Plan:
    if isinstance(info, mi.StructType):
        cached = seen.get(info.cls)
        if cached is not None:
            return cached
        plan = _Struct()
        seen[info.cls] = plan
        for field in info.fields:
            plan.exact[field.encode_name] = _plan_for_info(field.type, seen)
            plan.folded.setdefault(field.encode_name.lower(), field.encode_name)
        return plan
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return _List(_plan_for_info(info.item_type, seen))
    if isinstance(info, mi.DictType):
        return _Dict(_plan_for_info(info.value_type, seen))
    if isinstance(info, mi.AnyType):
        return _FreeForm()
    if isinstance(info, mi.IntType):
        return _Int()
    if isinstance(info, mi.DateTimeType):
        return _Scalar("0001-01-01T00:00:00Z")
    if isinstance(info, mi.Metadata):
        inner = _plan_for_info(info.type, seen)
        if info.extra and info.extra.get(ONE_OR_MANY) and isinstance(inner, _List):
            return _OneOrList(inner.item)
        return inner
    if isinstance(info, mi.UnionType):
        # Optional[X]: normalise as X (``null`` already fell back to the default).
        for member in info.types:
            if not isinstance(member, mi.NoneType):
                return _plan_for_info(member, seen)
    return _Scalar(_ZEROS.get(type(info)))


@cache
def _plan(tp: Any) -> _Plan:
    return _plan_for_info(mi.type_info(tp), {})


def decode_value(value: Any, tp: type[T]) -> T:
    """Convert an already-parsed JSON value to ``tp`` with Go semantics."""
    try:
        plan = _plan(tp)  # type: ignore[arg-type]  # types are hashable
        return msgspec.convert(plan.apply(value), tp, strict=True)
    except msgspec.ValidationError as exc:
        raise DecodeError(str(exc)) from None


def decode(data: bytes | str, tp: type[T]) -> T:
    """Parse JSON text into ``tp`` with Go semantics; raise :class:`DecodeError` on failure."""
    try:
        value = _json_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(str(exc)) from None
    return decode_value(value, tp)


def encode(obj: Any) -> bytes:
    return _json_encoder.encode(obj)
