"""The encounter as the rules see it: its procedure and diagnosis codes in order, and where each came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple


# What else a coding is, beside usable: its code unconfirmed (an error, or absent from a fragment), its system
# one this service does not hold, the wrong classification for its resource, or its record says it does not count.
UNCONFIRMED, FOREIGN, MISFIT, NOT_COUNTED = "unconfirmed", "foreign", "misfit", "not-counted"
HIDDEN = frozenset({FOREIGN, MISFIT, NOT_COUNTED})  # left out of the encounter's code strings


class CodedItem(NamedTuple):
    """One coding of a Procedure or Condition, normalised; `usable` is False when it names no system
    (or, see `state`, when it cannot count). `marks` are the record statuses of its resource that a rule names.

    A named tuple, not a dataclass: a Bundle makes one per coding and a tuple is four times quicker to make.
    """

    system: str | None
    code: str
    display: str | None
    expression: str  # the coding: Bundle.entry[i].resource.code.coding[j]
    resource: str  # the resource: Bundle.entry[i].resource
    system_name: str
    usable: bool = True
    state: str = ""  # "" or one of UNCONFIRMED, FOREIGN, MISFIT, NOT_COUNTED
    marks: tuple[tuple[str, str], ...] = ()  # ("Procedure.status", "not-done"), ...

    @property
    def label(self) -> str:
        return f"{self.code} {self.display}" if self.display else self.code

    def mark(self, rule_statuses: tuple[tuple[str, frozenset[str]], ...]) -> tuple[str, str] | None:
        """The first of this coding's record statuses that a rule names, as ("Procedure.status", "not-done")."""
        return next(((path, value) for path, value in self.marks for p, values in rule_statuses if p == path and value in values), None)


@dataclass(frozen=True)
class EncounterCase:
    """One encounter to judge: the ordered codes, the places to point at, and whether the rules apply."""

    label: str  # how messages name it: "Encounter/enc-1"
    expression: str  # the Encounter resource, or "Bundle" when the Bundle has none
    procedures: tuple[CodedItem, ...] = ()
    diagnoses: tuple[CodedItem, ...] = ()
    procedure_groups: tuple[tuple[str, str, tuple[CodedItem, ...]], ...] = field(default=())  # (Procedure.code path, label, codings)
    has_encounter: bool = True
    forced: bool = False  # the caller named the guidance's profile

    def items(self, target: str) -> tuple[CodedItem, ...]:
        return self.procedures if target == "procedures" else self.diagnoses

    def usable(self, target: str) -> tuple[CodedItem, ...]:
        """The items of `target` that name a system, worked out once for all the rules."""
        return self._usable_procedures if target == "procedures" else self._usable_diagnoses

    @cached_property
    def _usable_procedures(self) -> tuple[CodedItem, ...]:
        return tuple(i for i in self.procedures if i.usable)

    @cached_property
    def _usable_diagnoses(self) -> tuple[CodedItem, ...]:
        return tuple(i for i in self.diagnoses if i.usable)
