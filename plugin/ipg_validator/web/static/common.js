/* Shared by both pages: building elements, talking to this server, severity labels.
   Plain JavaScript, no library; every request goes to the page's own origin. */
"use strict";

const IPG = (() => {
  /** el("td", {class: "x", dataset: {label: "Where"}}, "text", childNode, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  let settingsPromise = null;
  /** The server's settings: the FHIR base, the body size limit, the version. */
  function settings() {
    if (!settingsPromise) {
      settingsPromise = getJson("/web/api/settings").then((r) => {
        if (!r.ok) throw new Error(problemText(r.body) || `The server answered ${r.status}`);
        return r.body;
      });
    }
    return settingsPromise;
  }

  const KEY = "ipg-validator-api-key";

  /** The API key this tab was given, when the server asks for one (kept for this tab only). */
  function apiKey() {
    try {
      return sessionStorage.getItem(KEY) || "";
    } catch (e) {
      return "";
    }
  }

  /** fetch + JSON, never throwing for HTTP errors: {ok, status, body}; a network failure throws. */
  async function request(url, options) {
    const opts = Object.assign({}, options || {});
    const key = apiKey();
    if (key) opts.headers = Object.assign({}, opts.headers || {}, { Authorization: `Bearer ${key}` });
    const response = await fetch(url, opts);
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (e) {
      body = null;
    }
    return { ok: response.ok, status: response.status, body, text };
  }

  function getJson(url) {
    return request(url, { headers: { Accept: "application/json, application/fhir+json" } });
  }

  async function fhir(path, params) {
    const base = (await settings()).fhirBase;
    const query = params ? "?" + new URLSearchParams(params).toString() : "";
    return request(base + path + query, { headers: { Accept: "application/fhir+json" } });
  }

  /** The texts of an OperationOutcome's issues, joined: what went wrong, in the server's words. */
  function problemText(body) {
    if (!body || body.resourceType !== "OperationOutcome" || !Array.isArray(body.issue)) return "";
    return body.issue.map((i) => (i.details && i.details.text) || i.diagnostics || i.code).filter(Boolean).join(" ");
  }

  const SEVERITY = {
    fatal: { word: "Fatal", icon: "✖", order: 0 },
    error: { word: "Error", icon: "✖", order: 1 },
    warning: { word: "Warning", icon: "⚠", order: 2 },
    information: { word: "Information", icon: "ℹ", order: 3 },
  };

  /** A severity as a badge: an icon and the word, coloured; the icon is hidden from screen readers. */
  function severityBadge(severity) {
    const s = SEVERITY[severity] || { word: severity, icon: "•" };
    return el("span", { class: `badge sev-${severity}` }, el("span", { class: "icon", "aria-hidden": "true" }, s.icon), s.word);
  }

  function plural(n, word, many) {
    return `${n} ${n === 1 ? word : many || word + "s"}`;
  }

  /** Show a plain message in the page's alert box (or hide it with null). */
  function showProblem(box, title, text) {
    clear(box);
    if (!title) {
      box.hidden = true;
      return;
    }
    box.append(el("h2", { text: title }));
    if (text) box.append(el("p", { text }));
    box.hidden = false;
  }

  /** When the server asks for an API key, a field to give it (before anything that needs it). */
  function keyForm(s) {
    if (!s.apiKeyRequired || document.getElementById("api-key-form")) return;
    const input = el("input", { type: "password", id: "api-key", autocomplete: "off", "aria-describedby": "api-key-hint", value: apiKey() });
    const note = el("p", { id: "api-key-hint", class: "hint" }, "This server needs an API key for validation and searches. It is kept in this browser tab only.");
    const form = el("form", { id: "api-key-form", class: "card", "aria-label": "API key" },
      el("div", { class: "field" }, el("label", { for: "api-key" }, "API key"),
        el("div", { class: "row" }, input, el("button", { type: "submit" }, "Use this key"))), note);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      try {
        sessionStorage.setItem(KEY, input.value.trim());
        note.textContent = input.value.trim() ? "The key will be sent with each request from this tab." : "No key: requests will be refused.";
      } catch (err) {
        note.textContent = `The key could not be kept: ${err.message}`;
      }
    });
    const heading = document.querySelector("main h1");
    if (heading) heading.after(form);
  }

  async function footer() {
    try {
      const s = await settings();
      keyForm(s);
      const version = document.getElementById("version");
      if (version) version.textContent = s.version;
      // the loaded guidance packs' names where the page speaks of the guidance (the HTML says IPG672 until then)
      if (s.guidance && s.guidance.length) for (const slot of document.querySelectorAll("[data-guidance]")) slot.textContent = s.guidance;
      const link = document.getElementById("fhir-base");
      if (link) {
        link.textContent = s.fhirBase;
        link.href = s.fhirBase + "/metadata";
      }
    } catch (e) {
      /* the page says so where it needs the settings */
    }
  }

  return { el, append, clear, settings, request, getJson, fhir, problemText, SEVERITY, severityBadge, plural, showProblem, footer };
})();
