"""JSON decoding with Go ``encoding/json`` semantics (docs/protocol.md §3.3) and encoding (§5.1).

Go clients and pycolonies send payloads that msgspec's strict decoding alone would refuse or
misread: keys match case-insensitively, ``null`` means the zero value, unknown keys are ignored.
We decode to plain Python values first, normalise them along a plan compiled once per type,
then convert strictly, so a value of the wrong JSON type is still an error.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

from colonies.core.limits import MAX_DEPTH, MAX_TEXT, Limit, limit_of

__all__ = [
    "ONE_OR_MANY",
    "DecodeError",
    "LimitError",
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


class LimitError(DecodeError):
    """A request value beyond its limit (core/limits.py); the message ends with its path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []  # filled in outwards as the error leaves the plans

    def within(self, key: str | int) -> LimitError:
        self.path.insert(0, key)
        return self

    def __str__(self) -> str:
        path = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.path)
        return f"{self.reason} - at `${path}`"


def _check_text(value: str, max_length: int) -> None:
    if len(value) > max_length:
        raise LimitError(f"String longer than {max_length} characters")
    if "\x00" in value:
        raise LimitError("String holds U+0000, which cannot be stored")


def normalize_free_form(value: Any, max_depth: int | None = None) -> Any:
    """Free-form JSON as upstream re-emits it: integral numbers lose their fraction (§5.1).

    Containers are normalised in place, without recursion however deep they nest. With
    ``max_depth`` (a request's limits), nesting deeper than that and strings or keys holding
    U+0000 raise :class:`LimitError`.
    """
    checked = max_depth is not None
    if type(value) is float:
        return int(value) if value.is_integer() else value
    if type(value) is str:
        if checked and "\x00" in value:
            raise LimitError("String holds U+0000, which cannot be stored")
        return value
    if type(value) is not list and type(value) is not dict:
        return value
    # Each container with its depth and its path from ``value`` (the path only for errors).
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        container, depth, path = stack.pop()
        if checked and depth > max_depth:  # type: ignore[operator]
            # At the value's top: the path down to here would be as long as the nesting.
            raise LimitError(f"Nested deeper than {max_depth} levels")
        items = enumerate(container) if type(container) is list else container.items()
        for key, item in items:
            kind = type(item)
            if kind is float:
                if item.is_integer():
                    container[key] = int(item)
            elif kind is list or kind is dict:
                stack.append((item, depth + 1, (*path, key)))
            elif checked and kind is str and "\x00" in item:
                raise _at(LimitError("String holds U+0000, which cannot be stored"), (*path, key))
            if checked and type(key) is str and "\x00" in key:
                raise _at(LimitError("Key holds U+0000, which cannot be stored"), path)
    return value


def _at(error: LimitError, path: tuple[str | int, ...]) -> LimitError:
    error.path[:0] = path
    return error


class _Plan:
    """How to normalise (and, for a request, check) a decoded value of one declared type."""

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


class _Str(_Scalar):
    """A string of a request: at most ``max_length`` characters, no U+0000."""

    __slots__ = ("max_length",)

    def __init__(self, max_length: int) -> None:
        super().__init__("")
        self.max_length = max_length

    def apply(self, value: Any) -> Any:
        if type(value) is str and (len(value) > self.max_length or "\x00" in value):
            _check_text(value, self.max_length)  # raises
        return value


class _Int(_Plan):
    """Go's int is 64 bits: a larger value is a type error, not a silent big integer. A
    request's integer may have narrower bounds."""

    __slots__ = ("high", "low")

    def __init__(self, low: int = -(2**63), high: int = 2**63 - 1) -> None:
        self.low = low
        self.high = high

    def apply(self, value: Any) -> Any:
        if type(value) is int and not self.low <= value <= self.high:
            if self.low == -(2**63) and self.high == 2**63 - 1:
                raise DecodeError(f"integer {value} does not fit in 64 bits")
            if value > self.high:
                raise LimitError(f"Integer larger than {self.high}")
            raise LimitError(f"Integer smaller than {self.low}")
        return value

    def zero(self) -> Any:
        return 0


class _FreeForm(_Plan):
    __slots__ = ("max_depth",)

    def __init__(self, max_depth: int | None) -> None:
        self.max_depth = max_depth

    def apply(self, value: Any) -> Any:
        return normalize_free_form(value, self.max_depth)


class _List(_Plan):
    __slots__ = ("item", "max_length")

    def __init__(self, item: _Plan, max_length: int | None = None) -> None:
        self.item = item
        self.max_length = max_length

    def apply(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value  # strict conversion reports the type error
        if self.max_length is not None and len(value) > self.max_length:
            raise LimitError(f"List longer than {self.max_length} items")
        apply, zero = self.item.apply, self.item.zero()
        try:
            return [zero if v is None else apply(v) for v in value]
        except LimitError as exc:
            raise exc.within(_failing_index(self.item, value)) from None

    def zero(self) -> Any:
        return []


def _failing_index(item: _Plan, values: list[Any]) -> int:
    """Which of ``values`` the plan refuses (looked for only once one was refused)."""
    for i, v in enumerate(values):
        try:
            if v is not None:
                item.apply(v)
        except LimitError:
            return i
    return -1


class _OneOrList(_List):
    """A list where one object may stand for a one-item list (``ONE_OR_MANY`` in the type's
    metadata): v1.9.4's clients send ``capabilities.hardware`` and ``software`` so."""

    __slots__ = ()

    def apply(self, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                return [self.item.apply(value)]
            except LimitError as exc:
                raise exc.within(0) from None
        return super().apply(value)


class _Dict(_Plan):
    __slots__ = ("item", "key", "max_length")

    def __init__(self, key: _Plan, item: _Plan, max_length: int | None = None) -> None:
        self.key = key
        self.item = item
        self.max_length = max_length

    def apply(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if self.max_length is not None and len(value) > self.max_length:
            raise LimitError(f"Map larger than {self.max_length} entries")
        item, key_plan = self.item, self.key
        k = ""
        try:
            out = {}
            for k, v in value.items():
                out[key_plan.apply(k)] = item.zero() if v is None else item.apply(v)
        except LimitError as exc:
            raise exc.within(k) from None
        return out

    def zero(self) -> Any:
        return {}


class _Struct(_Plan):
    __slots__ = ("appliers", "exact", "folded")

    def __init__(self) -> None:
        self.exact: dict[str, _Plan] = {}
        self.folded: dict[str, str] = {}
        self.appliers: dict[str, Any] = {}  # each field's plan's ``apply``, looked up once

    def apply(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        exact = self.appliers
        out: dict[str, Any] = {}
        folded_hits: list[tuple[str, Any]] = []
        key = ""
        try:
            for key, v in value.items():
                if key in exact:
                    if v is not None:
                        out[key] = exact[key](v)
                else:
                    name = self.folded.get(key.lower()) if isinstance(key, str) else None
                    if name is not None and v is not None:
                        folded_hits.append((name, v))
            for key, v in folded_hits:  # an exact match wins over a case-insensitive one
                if key not in out:
                    out[key] = exact[key](v)
        except LimitError as exc:
            raise exc.within(key) from None
        return out

    def zero(self) -> Any:
        return {}


_ZEROS: dict[type, Any] = {
    mi.StrType: "",
    mi.FloatType: 0.0,
    mi.BoolType: False,
}


def _plan_for_info(
    info: mi.Type, seen: dict[type, _Struct], checks: bool, declared: Limit | None = None
) -> _Plan:
    """The plan of one type; with ``checks``, checking a request's values (core/limits.py)
    against the ``declared`` limit of the field or, where none is declared, its type's."""
    if isinstance(info, mi.Metadata):
        inner = _plan_for_info(info.type, seen, checks, limit_of(info.extra) or declared)
        if info.extra and info.extra.get(ONE_OR_MANY) and isinstance(inner, _List):
            return _OneOrList(inner.item, inner.max_length)
        return inner
    if isinstance(info, mi.StructType):
        cached = seen.get(info.cls)
        if cached is not None:
            return cached
        plan = _Struct()
        seen[info.cls] = plan
        for field in info.fields:
            plan.exact[field.encode_name] = _plan_for_info(field.type, seen, checks)
            plan.folded.setdefault(field.encode_name.lower(), field.encode_name)
        plan.appliers = {name: p.apply for name, p in plan.exact.items()}
        return plan
    max_length = declared.max_length if checks and declared is not None else None
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return _List(_plan_for_info(info.item_type, seen, checks), max_length)
    if isinstance(info, mi.DictType):
        key = _plan_for_info(info.key_type, seen, checks)
        return _Dict(key, _plan_for_info(info.value_type, seen, checks), max_length)
    if isinstance(info, mi.AnyType):
        return _FreeForm(MAX_DEPTH if checks else None)
    if isinstance(info, mi.IntType):
        if checks and declared is not None:
            low = declared.ge if declared.ge is not None else -(2**63)
            high = declared.le if declared.le is not None else 2**63 - 1
            return _Int(low, high)
        return _Int()
    if isinstance(info, mi.StrType) and checks:
        return _Str(max_length if max_length is not None else MAX_TEXT)
    if isinstance(info, mi.DateTimeType):
        return _Scalar("0001-01-01T00:00:00Z")
    if isinstance(info, mi.UnionType):
        # Optional[X]: normalise as X (``null`` already fell back to the default).
        for member in info.types:
            if not isinstance(member, mi.NoneType):
                return _plan_for_info(member, seen, checks, declared)
    return _Scalar(_ZEROS.get(type(info)))


# The plans of each type, compiled once: without the request limits, and with them.
_plans: tuple[dict[Any, _Plan], dict[Any, _Plan]] = ({}, {})


def decode_value(value: Any, tp: type[T], *, limits: bool = False) -> T:
    """Convert an already-parsed JSON value to ``tp`` with Go semantics; with ``limits`` (a
    request), values beyond core/limits.py's raise :class:`LimitError`."""
    plans = _plans[limits]
    plan = plans.get(tp)
    if plan is None:
        plan = plans[tp] = _plan_for_info(mi.type_info(tp), {}, limits)
    try:
        return msgspec.convert(plan.apply(value), tp, strict=True)
    except msgspec.ValidationError as exc:
        raise DecodeError(str(exc)) from None


def decode(data: bytes | str, tp: type[T], *, limits: bool = False) -> T:
    """Parse JSON text into ``tp`` with Go semantics; raise :class:`DecodeError` on failure
    (:class:`LimitError`, one, for a request beyond its limits, with ``limits``)."""
    try:
        value = _json_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(str(exc)) from None
    except RecursionError:  # nested deeper than the parser goes: far beyond any limit
        raise LimitError(f"Nested deeper than {MAX_DEPTH} levels") from None
    return decode_value(value, tp, limits=limits)


def encode(obj: Any) -> bytes:
    return _json_encoder.encode(obj)
