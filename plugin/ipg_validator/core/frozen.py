"""Read-only JSON: the loaded content, frozen all the way down, so no request can change what the next one reads.

`FrozenDict` and `FrozenList` are a dict and a list that refuse every change. They stay a dict and a
list (the engines' `isinstance` checks, orjson and the R4B models read them as such); a copy of one
(`copy.deepcopy`, `dict(...)` at the top level) is the caller's own, to change as it likes.
"""

from __future__ import annotations

from typing import Any, NoReturn


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"the loaded content is read-only: copy it (copy.deepcopy) to change a {type(self).__name__}")


class FrozenDict(dict[str, Any]):
    """A JSON object that refuses changes."""

    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        copy: dict[str, Any] = thawed(self)
        return copy

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (frozen, (thawed(self),))


class FrozenList(list[Any]):
    """A JSON array that refuses changes."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        copy: list[Any] = thawed(self)
        return copy

    def __copy__(self) -> list[Any]:
        return list(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (frozen, (thawed(self),))


def frozen(value: Any) -> Any:
    """`value` (parsed JSON) with every object and array in it read-only."""
    if isinstance(value, dict):
        return value if type(value) is FrozenDict else FrozenDict((k, frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return value if type(value) is FrozenList else FrozenList(frozen(v) for v in value)
    return value


def thawed(value: Any) -> Any:
    """A plain, changeable copy of (frozen) JSON."""
    if isinstance(value, dict):
        return {k: thawed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [thawed(v) for v in value]
    return value
