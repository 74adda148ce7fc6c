/* FHIR XML on the validation page: telling XML input from JSON, reading an XML OperationOutcome into
   the JSON shape the results are drawn from, and finding the element an issue's FHIRPath names. */
"use strict";

const IPGXml = (() => {
  const OUTCOME_LISTS = new Set(["issue", "extension", "coding", "expression", "location"]);

  /** Whether the pasted or uploaded text is XML (JSON cannot start with '<'). */
  function isXml(text) {
    return text.replace(/^\uFEFF/, "").trimStart().startsWith("<");
  }

  function parse(text) {
    const doc = new DOMParser().parseFromString(text, "application/xml");
    return doc.getElementsByTagName("parsererror").length ? null : doc;
  }

  /** An XML OperationOutcome (as the server writes it) in its JSON form; null when it is not one. */
  function outcome(text) {
    const doc = parse(text || "");
    if (!doc || doc.documentElement.localName !== "OperationOutcome") return null; // the server's XML, in the FHIR namespace
    function read(node) {
      const out = {};
      for (const attr of ["id", "url"]) if (node.hasAttribute(attr)) out[attr] = node.getAttribute(attr);
      for (const child of node.children) {
        const name = child.localName;
        const value = child.hasAttribute("value") && !child.children.length ? child.getAttribute("value") : read(child);
        if (OUTCOME_LISTS.has(name)) (out[name] = out[name] || []).push(value);
        else out[name] = value;
      }
      return out;
    }
    return Object.assign({ resourceType: "OperationOutcome" }, read(doc.documentElement));
  }

  /** The element of the XML input a FHIRPath names (as far as it goes), the resource holding it, and a label. */
  function locate(doc, tokens) {
    if (!doc || tokens[0] !== doc.documentElement.localName) return null;
    let node = doc.documentElement;
    let shown = node;
    let label = tokens[0];
    let walked = tokens[0];
    for (let i = 1; i < tokens.length; i++) {
      const token = tokens[i];
      if (typeof token === "number") continue;
      const index = typeof tokens[i + 1] === "number" ? tokens[i + 1] : 0;
      const found = Array.from(node.children).filter((c) => c.localName === token)[index];
      if (!found) break;
      node = found;
      walked += `.${token}` + (typeof tokens[i + 1] === "number" ? `[${index}]` : "");
      const inner = node.children.length === 1 && /^[A-Z]/.test(node.children[0].localName) ? node.children[0] : null;
      if (inner) {
        node = inner;
        shown = inner;
        label = walked;
      }
    }
    return { shown, label, target: node };
  }

  /** The text of `shown` with the character range of `target` inside it (found by two markers put around it). */
  function withRange(shown, target) {
    if (target === shown) return { text: new XMLSerializer().serializeToString(shown), range: null };
    const MARK = "\uE000";
    const before = target.ownerDocument.createTextNode(MARK);
    const after = target.ownerDocument.createTextNode(MARK);
    target.before(before);
    target.after(after);
    const marked = new XMLSerializer().serializeToString(shown);
    before.remove();
    after.remove();
    const start = marked.indexOf(MARK);
    const end = marked.indexOf(MARK, start + 1) - 1;
    return { text: marked.replaceAll(MARK, ""), range: [start, end] };
  }

  return { isXml, parse, outcome, locate, withRange };
})();
