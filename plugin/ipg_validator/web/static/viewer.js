/* The resource viewer of the validation page: shows the input resource an issue points at,
   with the element its FHIRPath expression names highlighted. */
"use strict";

const IPGViewer = (() => {
  const { el, clear } = IPG;
  const $ = (id) => document.getElementById(id);
  const state = {
    input: null, // the parsed input the expressions point into
    trigger: null, // the button that opened the viewer, to give focus back
  };

  function say(text) {
    $("status").textContent = text;
  }


  /** "Bundle.entry[2].resource.code.coding[0]" -> ["Bundle", "entry", 2, "resource", "code", "coding", 0] */
  function parsePath(expression) {
    const out = [];
    const re = /([A-Za-z_][\w-]*)|\[(\d+)\]/g;
    let m;
    while ((m = re.exec(expression))) out.push(m[1] !== undefined ? m[1] : Number(m[2]));
    return out;
  }

  function inputRoot() {
    const input = state.input;
    if (input && input.resourceType === "Parameters" && Array.isArray(input.parameter)) {
      const p = input.parameter.find((x) => x && x.name === "resource" && x.resource);
      if (p) return p.resource;
    }
    return input;
  }

  /** Where an expression points: the resource to show, its label, and the path inside it. */
  function locate(expression) {
    const tokens = parsePath(expression);
    let root = inputRoot();
    if (tokens[0] === "Parameters") root = state.input;
    if (!root || typeof root !== "object" || (tokens[0] !== root.resourceType && !(Array.isArray(root) && tokens[0] === "Bundle"))) {
      return null;
    }
    let shown = root;
    let rest = tokens.slice(1);
    let label = tokens[0];
    if (rest[0] === "entry" && typeof rest[1] === "number" && rest[2] === "resource" && root.entry && root.entry[rest[1]] && root.entry[rest[1]].resource) {
      shown = root.entry[rest[1]].resource;
      label = `Bundle.entry[${rest[1]}].resource`;
      rest = rest.slice(3);
    }
    const path = [];
    let node = shown;
    for (const key of rest) {
      if (node === null || typeof node !== "object" || !(key in node)) break;
      path.push(key);
      node = node[key];
    }
    return { shown, label, path };
  }

  /** Pretty JSON of `value`, with the character range of `target` (a path inside it, key included). */
  function jsonWithRange(value, target) {
    let text = "";
    let range = null;
    const path = [];
    const same = () => path.length === target.length && path.every((k, i) => k === target[i]);
    function write(v, indent) {
      if (v === null || typeof v !== "object") {
        text += JSON.stringify(v);
        return;
      }
      const array = Array.isArray(v);
      const keys = array ? v.map((_, i) => i) : Object.keys(v);
      if (!keys.length) {
        text += array ? "[]" : "{}";
        return;
      }
      text += array ? "[\n" : "{\n";
      keys.forEach((key, n) => {
        text += indent + "  ";
        const start = text.length;
        if (!array) text += JSON.stringify(key) + ": ";
        path.push(key);
        write(v[key], indent + "  ");
        if (same()) range = [start, text.length];
        path.pop();
        text += n < keys.length - 1 ? ",\n" : "\n";
      });
      text += indent + (array ? "]" : "}");
    }
    write(value, "");
    if (!target.length) range = [0, text.length];
    return { text, range };
  }

  function showResource(expression, trigger) {
    const viewer = $("viewer");
    const pre = clear($("viewer-json"));
    const xml = state.input && state.input.nodeType === 9; // an XML Document: the input was FHIR XML
    const found = state.input ? (xml ? IPGXml.locate(state.input, parsePath(expression)) : locate(expression)) : null;
    document.querySelectorAll("#issues tr.selected").forEach((r) => r.classList.remove("selected"));
    const row = trigger && trigger.closest("#issues tr");
    if (row) row.classList.add("selected");
    state.trigger = trigger || null;
    $("viewer-where").textContent = expression;
    let mark = null;
    if (!found) {
      $("viewer-heading").textContent = "Resource";
      pre.textContent = "This place is not in the input as pasted, so it cannot be shown.";
    } else {
      const kind = xml ? found.shown.localName : found.shown.resourceType || "Element";
      const idNode = xml ? Array.from(found.shown.children).find((c) => c.localName === "id") : null;
      const idText = xml ? idNode && idNode.getAttribute("value") : found.shown.id;
      const id = idText ? `/${idText}` : "";
      $("viewer-heading").textContent = `${kind}${id} at ${found.label}`;
      const { text, range } = xml ? IPGXml.withRange(found.shown, found.target) : jsonWithRange(found.shown, found.path);
      if (range && (xml || found.path.length)) {
        mark = el("mark", { class: "hl", id: "viewer-mark" }, text.slice(range[0], range[1]));
        pre.append(text.slice(0, range[0]), mark, text.slice(range[1]));
      } else {
        pre.textContent = text;
      }
    }
    viewer.hidden = false;
    $("issues-layout").classList.remove("no-viewer");
    pre.scrollTop = mark ? Math.max(0, mark.offsetTop - pre.offsetTop - pre.clientHeight / 3) : 0;
    viewer.scrollIntoView({ block: "nearest" });
    $("viewer-heading").focus({ preventScroll: true });
    say(`Showing ${$("viewer-heading").textContent}${mark ? ", " + expression.slice(found.label.length).replace(/^\./, "") + " highlighted" : ""}.`);
  }

  function closeViewer(restoreFocus) {
    $("viewer").hidden = true;
    $("issues-layout").classList.add("no-viewer");
    document.querySelectorAll("#issues tr.selected").forEach((r) => r.classList.remove("selected"));
    if (restoreFocus && state.trigger && document.contains(state.trigger)) state.trigger.focus();
  }

  /** The parsed input the next expressions point into (null when it is not JSON). */
  function setInput(input) {
    state.input = input;
  }

  /** Give focus back to the button that opened the viewer. */
  function back() {
    if (state.trigger && document.contains(state.trigger)) state.trigger.focus();
  }

  return { setInput, show: showResource, close: closeViewer, back };
})();
