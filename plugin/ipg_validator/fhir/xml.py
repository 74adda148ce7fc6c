"""FHIR R4 XML in and out: an XML body read into its FHIR JSON form, a resource written as FHIR XML.

Reading gives exactly the JSON a sender of the same resource in JSON would have sent, so what
follows (structure checks, rules, the FHIRPath in every issue) is the same whichever format came
in. Both directions follow the element definitions of the fhir.resources R4B models (xml_shapes),
with lxml doing the XML: the resource need not be valid, since an invalid one must still reach the
checks that say what is wrong with it.

XML is hostile input: no DTD (so no external or expanding entities), no network, UTF-8 only, the
JSON size and depth limits; malformed XML is refused with its line and column.
"""

from __future__ import annotations

import math
import re
from typing import Any, cast

import orjson
from lxml import etree

from ..core.errors import FhirError
from ..core.jsonio import UTF8_BOM
from ..core.limits import Limits, depth_within
from .xml_shapes import BOOLEAN, DECIMAL, INTEGER, RESOURCE, XHTML, Shape, shape

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
FHIR_XML = "application/fhir+xml"
MAX_DEPTH = Limits.max_json_depth
LIBXML_MAX_DEPTH = 256  # libxml2 refuses deeper documents unless told otherwise (huge_tree)
_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_DEC = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_REFUSED = ((b"<!DOCTYPE", "a document type declaration (<!DOCTYPE ...>)"), (b"<!ENTITY", "an entity declaration (<!ENTITY ...>)"))


class XmlWriteError(ValueError):
    """A resource that cannot be written as XML (an element name that is not an XML name, an unreadable narrative)."""


def parse_xml(body: bytes, *, max_depth: int | None = MAX_DEPTH) -> dict[str, Any]:
    """The FHIR JSON form of an XML resource; a FhirError (400, 413, 415) says why not, and where."""
    root = _parse(body, max_depth)
    resource = _Reader(max_depth).resource(root, "", 1)
    if max_depth is not None and not depth_within(resource, max_depth):
        raise _too_deep(f"in its JSON form it is nested more than {max_depth} levels deep (objects and arrays inside each other)")
    return resource


def _parse(body: bytes, max_depth: int | None) -> Any:
    if body.startswith(UTF8_BOM):
        body = body[len(UTF8_BOM):]
    if not body.strip():
        raise FhirError.of(400, "structure", "The request body is empty: send a FHIR resource as XML")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FhirError.of(400, "structure", f"The XML is not UTF-8: byte 0x{body[exc.start]:02x} at offset {exc.start}; FHIR XML is UTF-8") from None
    for marker, what in _REFUSED:
        at = body.find(marker)
        if at >= 0:
            line, column = _position(text, len(body[:at].decode("utf-8")))
            raise FhirError.of(400, "security", f"The XML has {what} at line {line} column {column}: DTDs and entities are refused "
                               "(they can read files or expand without bound); send FHIR XML without them", tx_code="invalid-data")
    declared = _ENCODING.match(body)
    if declared and declared.group(1).decode("ascii", "replace").lower() not in ("utf-8", "utf8"):
        raise FhirError.of(415, "not-supported", f"The XML declares encoding {declared.group(1).decode('ascii', 'replace')!r}: send UTF-8")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
                             remove_comments=True, remove_pis=True, collect_ids=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        message = (exc.msg or str(exc)).strip()
        if "depth" in message.lower():
            raise _too_deep(f"it is nested more than {LIBXML_MAX_DEPTH} elements deep") from None
        line, column = exc.position if exc.position else (exc.lineno, 0)
        message = re.sub(r",?\s+line \d+(, column \d+)?$", "", message)
        raise FhirError.of(400, "structure", f"The XML is not well-formed: {message} at line {line} column {column}") from None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise FhirError.of(400, "security", "The XML has a document type declaration: DTDs and entities are refused", tx_code="invalid-data")
    return root


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _too_deep(why: str) -> FhirError:
    return FhirError.of(413, "too-costly", f"The XML is nested too deeply: {why}; FHIR resources need far fewer, the limit protects the server")


def _split(tag: Any) -> tuple[str | None, str]:
    """(namespace, local name) of an lxml tag or attribute name (`{ns}name`, or `name` in no namespace)."""
    if not isinstance(tag, str):
        return None, ""
    if tag[:1] == "{":
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def _refuse(el: Any, text: str, path: str) -> FhirError:
    return FhirError.of(400, "structure", f"{text} (line {el.sourceline}): this is not FHIR XML", path or None)


class _Reader:
    """Turns one parsed XML resource into its JSON form, following the R4B shapes."""

    def __init__(self, max_depth: int | None) -> None:
        self.limit = LIBXML_MAX_DEPTH if max_depth is None else min(LIBXML_MAX_DEPTH, 2 * max_depth + 2)

    def resource(self, el: Any, path: str, depth: int) -> dict[str, Any]:
        ns, name = _split(el.tag)
        if ns != FHIR_NS:
            where = f"in namespace {ns!r}" if ns else "in no namespace"
            raise _refuse(el, f"<{name}> is {where}, not the FHIR namespace: add xmlns=\"{FHIR_NS}\"", path)
        path = path or name
        for attr in el.attrib:
            if _split(attr)[0] != XSI_NS:
                raise _refuse(el, f"The resource element <{name}> has the attribute {attr!r}; its id is an <id value=\"...\"/> element", path)
        out: dict[str, Any] = {"resourceType": name}
        self._children(el, out, shape(name), path, depth)
        return out

    def _children(self, el: Any, out: dict[str, Any], of: Shape | None, path: str, depth: int) -> None:
        if depth > self.limit:
            raise _too_deep(f"it is nested more than {self.limit} elements deep")
        if el.text and el.text.strip():
            raise _refuse(el, f"<{_split(el.tag)[1]}> has text {el.text.strip()[:40]!r}; FHIR XML puts values in value=\"...\" attributes", path)
        for child in el:
            ns, name = _split(child.tag)
            if child.tail and child.tail.strip():
                raise _refuse(child, f"Text {child.tail.strip()[:40]!r} after <{name}>; FHIR XML puts values in value=\"...\" attributes", path)
            spec = of.get(name) if of is not None else None
            if spec is not None and spec.kind == XHTML:
                if ns != XHTML_NS or name != "div":
                    raise _refuse(child, f"{path}.{name} must be an XHTML <div xmlns=\"{XHTML_NS}\">", f"{path}.{name}")
                self._put(out, name, spec, etree.tostring(child, encoding="unicode", with_tail=False), None, child, f"{path}.{name}")
                continue
            if ns != FHIR_NS:
                raise _refuse(child, f"<{name}> is in namespace {ns!r}, not the FHIR namespace", path)
            count = len(out[name]) if isinstance(out.get(name), list) else 0
            here = f"{path}.{name}[{count}]" if spec is not None and spec.repeats else f"{path}.{name}"
            if spec is None:
                value, side = self._generic(child, here, depth + 1), None
            elif spec.kind == RESOURCE:
                value, side = self._wrapped(child, here, depth + 1), None
            elif spec.primitive:
                value, side = self._primitive(child, spec.kind, here, depth + 1)
            else:
                value, side = self._complex(child, spec.type or "", here, depth + 1), None
            self._put(out, name, spec, value, side, child, here)
        for name, value in list(out.items()):  # align the `_name` list of a repeating primitive with its values
            if name.startswith("_") and isinstance(value, list) and isinstance(out.get(name[1:]), list):
                value += [None] * (len(out[name[1:]]) - len(value))

    def _put(self, out: dict[str, Any], name: str, spec: Any, value: Any, side: Any, el: Any, path: str) -> None:
        if spec is None:  # not an element of this type: kept as it came, for the structure check to name
            if name in out:
                out[name] = (out[name] if isinstance(out[name], list) else [out[name]]) + [value]
            else:
                out[name] = value
            return
        if not spec.repeats:
            if name in out or f"_{name}" in out:
                raise _refuse(el, f"<{name}> appears more than once, but {path} is allowed only once", path)
            if value is not None:
                out[name] = value
            if side is not None:
                out[f"_{name}"] = side
            return
        values = out.setdefault(name, [])
        if side is not None:
            sides = out.setdefault(f"_{name}", [])
            sides += [None] * (len(values) - len(sides))
            sides.append(side)
        values.append(value)

    def _attributes(self, el: Any, allowed: tuple[str, ...], path: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for attr, value in el.attrib.items():
            if attr in allowed:
                found[attr] = value
            elif _split(attr)[0] != XSI_NS:
                raise _refuse(el, f"<{_split(el.tag)[1]}> has the attribute {attr!r}, which FHIR XML does not define here", path)
        return found

    def _primitive(self, el: Any, kind: str, path: str, depth: int) -> tuple[Any, dict[str, Any] | None]:
        attrs = self._attributes(el, ("value", "id"), path)
        side: dict[str, Any] = {}
        if "id" in attrs:
            side["id"] = attrs["id"]
        self._children(el, side, shape("Element"), path, depth)
        if "value" not in attrs and not side:
            raise _refuse(el, f"<{_split(el.tag)[1]}> has neither a value=\"...\" attribute nor an extension", path)
        return (_typed(kind, attrs["value"]) if "value" in attrs else None), (side or None)

    def _complex(self, el: Any, type_name: str, path: str, depth: int) -> Any:
        attrs = self._attributes(el, ("id", "url", "value") if type_name == "Extension" else ("id", "value"), path)
        if "value" in attrs:  # a primitive's form where a complex type belongs: the JSON would have a string here
            if len(el) or len(attrs) > 1:
                raise _refuse(el, f"<{_split(el.tag)[1]}> has a value=\"...\" attribute, but {path} is not a primitive", path)
            return attrs["value"]
        out: dict[str, Any] = dict(attrs)
        self._children(el, out, shape(type_name), path, depth)
        return out

    def _wrapped(self, el: Any, path: str, depth: int) -> dict[str, Any]:
        self._attributes(el, (), path)
        inner = list(el)
        if el.text and el.text.strip() or len(inner) != 1 or any(c.tail and c.tail.strip() for c in inner):
            raise _refuse(el, f"<{_split(el.tag)[1]}> must hold exactly one resource element (e.g. <Patient>), found {len(inner)}", path)
        return self.resource(inner[0], path, depth + 1)

    def _generic(self, el: Any, path: str, depth: int) -> Any:
        """An element the type does not define: its likely JSON form (strings for values), left for the structure check."""
        if depth > self.limit:
            raise _too_deep(f"it is nested more than {self.limit} elements deep")
        ns, _ = _split(el.tag)
        if ns == XHTML_NS:
            return etree.tostring(el, encoding="unicode", with_tail=False)
        inner = list(el)
        if "value" in el.attrib and not inner:
            return el.attrib["value"]
        if len(inner) == 1 and not el.attrib and _split(inner[0].tag)[1][:1].isupper():
            return self.resource(inner[0], path, depth + 1)
        out: dict[str, Any] = {k: v for k, v in el.attrib.items() if _split(k)[0] != XSI_NS}
        for child in inner:
            name = _split(child.tag)[1]
            value = self._generic(child, f"{path}.{name}", depth + 1)
            out[name] = (out[name] if isinstance(out[name], list) else [out[name]]) + [value] if name in out else value
        return out


def _typed(kind: str, text: str) -> Any:
    """The JSON value of a primitive's value attribute: booleans and numbers typed, else the string (as JSON would carry it)."""
    if kind == BOOLEAN:
        return True if text == "true" else False if text == "false" else text
    if kind in (INTEGER, DECIMAL) and _DEC.fullmatch(text):
        if _INT.fullmatch(text):
            return int(text)
        number = float(text)
        return number if math.isfinite(number) and kind == DECIMAL else text
    return text


def dump_xml(resource: dict[str, Any], *, pretty: bool = False) -> bytes:
    """A resource in its FHIR JSON form written as FHIR XML (UTF-8, with the XML declaration)."""
    try:
        root = _Writer().resource(None, resource)
    except ValueError as exc:  # lxml: a name that is not an XML name
        raise XmlWriteError(str(exc)) from None
    return cast(bytes, etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=pretty))


def _lexical(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return orjson.dumps(value).decode()
    return str(value)


class _Writer:
    """Writes the JSON form of a resource as lxml elements, in the element order of the R4B shapes."""

    def resource(self, parent: Any, value: Any) -> Any:
        kind = value.get("resourceType") if isinstance(value, dict) else None
        if not isinstance(kind, str):
            raise XmlWriteError("a resource without a resourceType cannot be written as XML")
        tag = f"{{{FHIR_NS}}}{kind}"
        el = etree.Element(tag, nsmap={None: FHIR_NS}) if parent is None else etree.SubElement(parent, tag)
        self._fill(el, value, shape(kind), resource=True)
        return el

    def _fill(self, el: Any, value: dict[str, Any], of: Shape | None, *, resource: bool = False, extension: bool = False) -> None:
        as_attributes = () if resource else ("id", "url") if extension else ("id",)
        for name in as_attributes:
            if isinstance(value.get(name), str):
                self._set(el, name, value[name])
        names = [n for n in (of.order if of is not None else ()) if n in value or f"_{n}" in value]
        known = set(names)
        names += [n for n in dict.fromkeys(k[1:] if k.startswith("_") else k for k in value) if n not in known]
        for name in names:
            if name == "resourceType" and resource or name in as_attributes and isinstance(value.get(name), str):
                continue
            spec = of.get(name) if of is not None else None
            self._element(el, name, spec, value.get(name), value.get(f"_{name}"))

    def _element(self, el: Any, name: str, spec: Any, value: Any, side: Any) -> None:
        if spec is None:
            self._generic(el, name, value, side)
            return
        values = value if isinstance(value, list) else [value] if value is not None else []
        sides = side if isinstance(side, list) else [side] if side is not None else []
        for n in range(max(len(values), len(sides))):
            item = values[n] if n < len(values) else None
            extra = sides[n] if n < len(sides) else None
            if spec.kind == RESOURCE and isinstance(item, dict):
                self.resource(etree.SubElement(el, f"{{{FHIR_NS}}}{name}"), item)
            elif spec.kind == XHTML and isinstance(item, str):
                el.append(_xhtml(item))
            elif spec.primitive and not isinstance(item, (dict, list)):
                self._primitive(el, name, item, extra)
            elif not spec.primitive and isinstance(item, dict):
                sub = etree.SubElement(el, f"{{{FHIR_NS}}}{name}")
                self._fill(sub, item, shape(spec.type or ""), extension=spec.type == "Extension")
            else:
                self._generic(el, name, item, extra)

    def _primitive(self, el: Any, name: str, value: Any, side: Any) -> None:
        sub = etree.SubElement(el, f"{{{FHIR_NS}}}{name}")
        if isinstance(side, dict) and isinstance(side.get("id"), str):
            self._set(sub, "id", side["id"])
        if value is not None:
            self._set(sub, "value", _lexical(value))
        if isinstance(side, dict):
            self._fill(sub, {k: v for k, v in side.items() if k != "id"}, shape("Element"), resource=True)

    def _generic(self, el: Any, name: str, value: Any, side: Any = None) -> None:
        """What the shape does not define, written as FHIR XML would carry it (values as value attributes)."""
        if isinstance(value, list):
            sides = side if isinstance(side, list) else []
            for n, item in enumerate(value):
                self._generic(el, name, item, sides[n] if n < len(sides) else None)
        elif isinstance(value, dict) and isinstance(value.get("resourceType"), str):
            self.resource(etree.SubElement(el, f"{{{FHIR_NS}}}{name}"), value)
        elif isinstance(value, dict):
            self._fill(etree.SubElement(el, f"{{{FHIR_NS}}}{name}"), value, None)
        elif value is not None or isinstance(side, dict):
            self._primitive(el, name, value, side)

    @staticmethod
    def _set(el: Any, name: str, text: str) -> None:
        try:
            el.set(name, text)
        except ValueError:  # characters XML 1.0 cannot carry at all (NUL, most control characters)
            el.set(name, _NOT_XML_CHAR.sub("\ufffd", text))


def _xhtml(div: str) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        el = etree.fromstring(div.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise XmlWriteError(f"the narrative div is not XHTML: {exc.msg}") from None
    if _split(el.tag) != (XHTML_NS, "div"):
        raise XmlWriteError("the narrative div is not an XHTML <div>")
    return el
