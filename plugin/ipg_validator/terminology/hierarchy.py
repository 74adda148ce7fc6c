"""Hierarchical expansions: the codes of an expansion nested under their parents in the code system."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace

from ..content.codesystem import CodeSystemIndex
from ..core.results import ExpansionItem


def nest(items: list[ExpansionItem], systems: Mapping[str, CodeSystemIndex]) -> list[ExpansionItem]:
    """`items` as a tree: an item whose code system parent is also in the expansion goes in its `contains`.

    Only items from an include that walks its code system (`walk`) are nested. `systems` maps `url|version` (or `url`) to the code systems used. Order is kept at every level;
    an item with several parents in the expansion is placed under the first one only.
    """
    by_url: dict[str, CodeSystemIndex] = {}
    for key, cs in systems.items():
        by_url.setdefault(key, cs)
        by_url.setdefault(cs.url, cs)
    present = {(i.system, i.code) for i in items if i.walk}
    parent_of: dict[tuple[str, str], tuple[str, str]] = {}
    for item in items:
        if not item.walk:
            continue
        found = by_url.get(f"{item.system}|{item.version}") if item.version else None
        found = found or by_url.get(item.system)
        concept = found.get(item.code) if found else None
        for parent in concept.parents if concept else ():
            if (item.system, parent) in present and parent != item.code:
                parent_of[(item.system, item.code)] = (item.system, parent)
                break
    children: dict[tuple[str, str], list[ExpansionItem]] = {}
    roots: list[ExpansionItem] = []
    for item in items:
        above = parent_of.get((item.system, item.code))
        if above is None or _cycles(parent_of, (item.system, item.code)):
            roots.append(item)
        else:
            children.setdefault(above, []).append(item)
    return [_build(item, children, set()) for item in roots]


def flatten(items: Iterable[ExpansionItem]) -> Iterator[ExpansionItem]:
    """Every item of a (possibly nested) expansion, parents before their children."""
    for item in items:
        yield item
        yield from flatten(item.contains)


def _cycles(parent_of: Mapping[tuple[str, str], tuple[str, str]], key: tuple[str, str]) -> bool:
    seen = {key}
    current = parent_of.get(key)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = parent_of.get(current)
    return False


def _build(item: ExpansionItem, children: Mapping[tuple[str, str], list[ExpansionItem]],
           seen: set[tuple[str, str]]) -> ExpansionItem:
    key = (item.system, item.code)
    seen.add(key)
    kids = [_build(c, children, seen) for c in children.get(key, ()) if (c.system, c.code) not in seen]
    return replace(item, contains=tuple(kids)) if kids else item
