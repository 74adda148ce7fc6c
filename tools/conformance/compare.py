"""Response comparison by the rules of the HL7 runner (its CompareUtilities).

An extra property in the actual response fails (unless comparing as a pattern); a missing one
fails unless listed in `$optional-properties$`; array items marked `$optional$` may be absent
(`true`; `!mode`: unless the server is in that mode; `mode`: if it is; `version:N`: for a server of
FHIR major version N, e.g. the R5-only `relationship` of a $translate match for an R4 server);
strings match literally unless they are one of the `$...$` templates.
"""

from __future__ import annotations

import re
from typing import Any

INSTANT = re.compile(r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))")
DATE = re.compile(r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?)?)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)?)?)?")
UUID = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
URL = re.compile(r"(https?://|www\.)[-a-zA-Z0-9+&@#/%?=~_|!:.;]*[-a-zA-Z0-9+&@#/%=~_|]")
TOKEN = re.compile(r"[0-9a-zA-Z_][0-9a-zA-Z_@.\-]*")
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.\-]+)?(\+[0-9A-Za-z.\-]+)?")
VERSION = re.compile(r"[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9A-Za-z.\-]+)?")
FIXED = {"$instant$": INSTANT, "$date$": DATE, "$uuid$": UUID, "$id$": ID, "$url$": URL, "$token$": TOKEN,
         "$semver$": SEMVER, "$version$": VERSION}


class Comparer:
    """Compares an expected document (with templates) against an actual one; `modes` are server modes."""

    def __init__(self, modes: frozenset[str] = frozenset(), pattern: bool = False,
                 variables: dict[str, str] | None = None) -> None:
        self.modes = modes
        self.pattern = pattern
        # `$version$` is the server's FHIR version (the HL7 runner's `version` variable)
        self.variables = variables or {}

    def compare(self, expected: Any, actual: Any, path: str = "") -> str | None:
        """None when `actual` matches `expected`, else the first difference."""
        if isinstance(expected, dict) and isinstance(actual, dict):
            return self._objects(path, expected, actual)
        if isinstance(expected, list) and isinstance(actual, list):
            return self._arrays(path, expected, actual)
        if isinstance(expected, bool) or isinstance(actual, bool):
            if isinstance(expected, bool) and isinstance(actual, bool) and expected == actual:
                return None
            return f"{path}: expected {expected!r}, found {actual!r}"
        if isinstance(expected, str) and isinstance(actual, str):
            return None if matches(actual, expected, self.variables) else f"{path}: expected {expected!r}, found {actual!r}"
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
            return None if str(expected) == str(actual) else f"{path}: expected {expected}, found {actual}"
        if expected is None and actual is None:
            return None
        return f"{path}: expected {type(expected).__name__} {expected!r}, found {type(actual).__name__} {actual!r}"

    def _objects(self, path: str, expected: dict[str, Any], actual: dict[str, Any]) -> str | None:
        # `$optional-properties$` names properties that may be present or absent (tests-1.7.6:
        # "allow expansion.id & expansion.offset"); `$count-arrays$` compares only array sizes
        optional = set(expected.get("$optional-properties$", ()))
        if optional:
            optional |= {"$optional-properties$", "$count-arrays$"}
        count_only = set(expected.get("$count-arrays$", ()))
        for name, value in actual.items():
            if name == "fhir_comments":
                continue
            if name in expected:
                if name in count_only and isinstance(value, list) and isinstance(expected[name], list):
                    if len(value) != len(expected[name]):
                        return f"array item count differs at {path}.{name}: expected {len(expected[name])}, found {len(value)}"
                    continue
                diff = self.compare(expected[name], value, f"{path}.{name}")
                if diff:
                    return diff
            elif not self.pattern and name not in optional and "*" not in optional:
                return f"properties differ at {path or '/'}: unexpected property {name}"
        for name, value in expected.items():
            if name in ("fhir_comments", "$optional$") or name in optional or "*" in optional:
                continue
            if name not in actual and not self._all_optional(value):
                return f"properties differ at {path or '/'}: missing property {name}"
        return None

    def _arrays(self, path: str, expected: list[Any], actual: list[Any]) -> str | None:
        if self.pattern:
            c = 0
            for i, item in enumerate(expected):
                while c < len(actual) and self.compare(item, actual[c], f"{path}[{i}]") is not None:
                    c += 1
                if c >= len(actual):
                    return f"the expected item at {path}[{i}] was not found"
                c += 1
            return None
        minimum = sum(1 for item in expected if not self.is_optional(item))
        if len(actual) > len(expected) or len(actual) < minimum:
            return f"array item count differs at {path}: expected {len(expected)}, found {len(actual)}"
        c = 0
        for i, item in enumerate(expected):
            if c >= len(actual):
                if all(self.is_optional(e) for e in expected[i:]):
                    return None
                return f"one or more array items did not match at {path} starting at index {i}"
            diff = self.compare(item, actual[c], f"{path}[{i}]")
            if diff and not self.is_optional(item):
                return diff
            if not diff:
                c += 1
        if c < len(actual):
            return f"unexpected node found in array {path} at index {c}"
        return None

    def is_optional(self, item: Any) -> bool:
        if not isinstance(item, dict) or "$optional$" not in item:
            return False
        flag = item["$optional$"]
        if isinstance(flag, bool):
            return flag
        flag = str(flag)
        if flag.startswith("!"):
            return flag[1:] not in self.modes
        if flag.startswith("warning:"):
            return True
        if flag.startswith("version:"):
            return self.variables.get("version", "").split(".")[0] == flag[len("version:"):]
        return flag in self.modes

    def _all_optional(self, value: Any) -> bool:
        """Whether a missing expected array may be absent: as the HL7 comparer judges it, every object
        in it has a `$optional$` key (whatever its value) and items that are not objects never count,
        so a missing array of strings (`location: ["code"]`) is never required."""
        return isinstance(value, list) and all("$optional$" in v for v in value if isinstance(v, dict))


def matches(actual: str, expected: str, variables: dict[str, str] | None = None) -> bool:
    """Whether an actual string matches an expected one: literal, or a `$...$` template.

    A variable inside a longer string (`http://hl7.org/fhir/administrative-gender|$version$`)
    is replaced by its value; the whole string `$version$` is the variable when it is known.
    """
    variables = variables or {}
    if expected == "$version$" and "version" in variables:
        return actual == variables["version"]
    if not (len(expected) > 1 and expected.startswith("$") and expected.endswith("$")):
        for name, value in variables.items():
            expected = expected.replace(f"${name}$", value)
        return actual == expected
    body = expected[1:-1]
    if body.startswith("choice:"):
        return actual in body[len("choice:"):].split("|")
    if body.startswith("fragments:"):
        return _contains_all(actual, body[len("fragments:"):])
    if body.startswith("external:"):
        # no externals file: the text must contain every fragment after `external:N:`
        _, sep, rest = body[len("external:"):].partition(":")
        return _contains_all(actual, rest) if sep else True
    if expected == "$$":
        return True
    if expected == "$string$":
        return actual == actual.strip()
    pattern = FIXED.get(expected)
    if pattern is None:
        return actual == expected
    return pattern.fullmatch(actual) is not None


def _contains_all(actual: str, fragments: str) -> bool:
    low = actual.lower()
    return all(f.lower() in low for f in fragments.split("|"))
