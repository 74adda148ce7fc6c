/* The validation page: send the Bundle to Bundle/$validate and show the verdict.
   The OperationOutcome comes from the FHIR API; each encounter's checklist from /web/api/checklist,
   which the server computes from the rules file and the value sets (no code or rule is known here). */
"use strict";

(() => {
  const { el, clear, plural, severityBadge, SEVERITY } = IPG;
  const $ = (id) => document.getElementById(id);

  const textarea = $("bundle");
  const problem = $("problem");
  const status = $("status");
  const results = $("results");
  const state = {
    busy: false,
    input: null, // the parsed input, to show the resources the issues point at
    outcome: null,
    source: "bundle",
    ruleSystems: new Set(),
    trigger: null, // the button that opened the resource viewer
  };

  function say(text) {
    status.textContent = text;
  }

  /* ---------- input: examples, files, drag and drop, keyboard ---------- */

  async function loadExamples() {
    const select = $("example");
    let answer;
    try {
      answer = await IPG.getJson("/web/api/examples");
    } catch (e) {
      answer = { ok: false };
    }
    if (!answer.ok || !answer.body || !Array.isArray(answer.body.examples)) {
      $("example-note").textContent = "The examples could not be loaded from the server.";
      return;
    }
    const groups = [
      ["Conform", (x) => x.conforms === true],
      ["Coded against the recommendation", (x) => x.conforms === false],
      ["Other", (x) => typeof x.conforms !== "boolean"],
    ];
    for (const [label, test] of groups) {
      const items = answer.body.examples.filter(test);
      if (!items.length) continue;
      select.append(el("optgroup", { label }, items.map((x) => el("option", { value: x.name, title: x.description, text: x.name }))));
    }
    state.examples = new Map(answer.body.examples.map((x) => [x.name, x]));
  }

  function describeExample() {
    const chosen = state.examples && state.examples.get($("example").value);
    $("example-note").textContent = chosen
      ? chosen.description
      : "Examples that conform and examples coded against the recommendation.";
  }

  async function loadExample() {
    const name = $("example").value;
    if (!name) {
      IPG.showProblem(problem, "No example chosen", "Choose an example in the list first, then press Load and validate.");
      $("example").focus();
      return;
    }
    let answer;
    try {
      answer = await IPG.request(`/web/api/examples/${encodeURIComponent(name)}`, { headers: { Accept: "application/fhir+json" } });
    } catch (e) {
      IPG.showProblem(problem, "The example could not be loaded", `${e.message}. Check that the server is running.`);
      return;
    }
    if (!answer.ok) {
      IPG.showProblem(problem, "The example could not be loaded", IPG.problemText(answer.body) || `The server answered ${answer.status}.`);
      return;
    }
    textarea.value = answer.text;
    await validate(name);
  }

  async function readFile(file) {
    if (!file) return;
    let limit = null;
    try {
      limit = (await IPG.settings()).maxBodyBytes;
    } catch (e) {
      /* the server will say */
    }
    if (limit && file.size > limit) {
      showResultsHidden();
      IPG.showProblem(problem, "The file is too large",
        `${file.name} is ${megabytes(file.size)}; the validator accepts at most ${megabytes(limit)}. Send the encounters in smaller Bundles.`);
      return;
    }
    let text;
    try {
      text = await file.text();
    } catch (e) {
      IPG.showProblem(problem, "The file could not be read", `${file.name}: ${e.message}`);
      return;
    }
    textarea.value = text;
    await validate(file.name.replace(/\.json$/i, ""));
  }

  function megabytes(n) {
    return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
  }

  function wireDragAndDrop() {
    const card = $("input");
    const note = $("drop-note");
    let depth = 0;
    const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
    document.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth += 1;
      card.classList.add("dragging");
      note.hidden = false;
    });
    document.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("dragleave", (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) {
        card.classList.remove("dragging");
        note.hidden = true;
      }
    });
    document.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      card.classList.remove("dragging");
      note.hidden = true;
      readFile(e.dataTransfer.files[0]);
    });
  }

  /* ---------- validation ---------- */

  async function validate(source) {
    if (state.busy) return;
    const text = textarea.value;
    IPG.showProblem(problem, null);
    if (!text.trim()) {
      showResultsHidden();
      IPG.showProblem(problem, "Nothing to validate", "Paste a Bundle, upload or drop a file, or load an example.");
      return;
    }
    state.source = source || "bundle";
    setBusy(true);
    say("Validating…");
    try {
      const settings = await IPG.settings();
      const post = (url) =>
        IPG.request(url, {
          method: "POST",
          headers: { "Content-Type": "application/fhir+json", Accept: "application/fhir+json" },
          body: text,
        });
      const [outcome, checklist] = await Promise.all([
        post(`${settings.fhirBase}/Bundle/$validate`),
        post("/web/api/checklist").catch(() => null),
      ]);
      if (!outcome.ok || !outcome.body || outcome.body.resourceType !== "OperationOutcome") {
        showResultsHidden();
        refused(outcome, text);
        return;
      }
      state.input = parse(text);
      const encounters = checklist && checklist.ok && checklist.body ? checklist.body.encounters : null;
      render(outcome.body, encounters);
    } catch (e) {
      showResultsHidden();
      IPG.showProblem(problem, "The validator did not answer", `${e.message}. Check that the server is still running, then try again.`);
      say("");
    } finally {
      setBusy(false);
    }
  }

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  /** The server refused the input (400 not JSON, 413 too large, 415, ...): say so plainly. */
  function refused(answer, text) {
    const why = IPG.problemText(answer.body);
    let title;
    if (answer.status === 401) title = "This server needs an API key";
    else if (answer.status === 413) title = "The input is too large";
    else if (answer.status === 400 && parse(text) === null) title = "The input is not valid JSON";
    else if (answer.status === 415) title = "The input is not JSON";
    else if (answer.status >= 500) title = "The validator could not check this input";
    else title = "The input could not be validated";
    IPG.showProblem(problem, title, why || `The server answered HTTP ${answer.status}.`);
    say("");
  }

  function setBusy(busy) {
    state.busy = busy;
    for (const id of ["validate", "load-example"]) $(id).setAttribute("aria-disabled", busy ? "true" : "false");
    results.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function showResultsHidden() {
    results.hidden = true;
    closeViewer(false);
  }

  /* ---------- rendering the outcome ---------- */

  function issueRule(issue) {
    const coding = issue.details && Array.isArray(issue.details.coding) ? issue.details.coding[0] : null;
    return coding || {};
  }

  function counts(issues) {
    const out = { fatal: 0, error: 0, warning: 0, information: 0 };
    for (const i of issues) out[i.severity] = (out[i.severity] || 0) + 1;
    out.errors = out.error + out.fatal;
    return out;
  }

  function inside(issue, places) {
    return (issue.expression || issue.location || []).some((e) => places.some((p) => e === p || e.startsWith(p + ".") || e.startsWith(p + "[")));
  }

  function render(outcome, encounters) {
    state.outcome = outcome;
    const issues = Array.isArray(outcome.issue) ? outcome.issue : [];
    const n = counts(issues);
    renderVerdict(n, issues, encounters);
    renderEncounters(encounters || [], issues);
    renderIssues(issues, n);
    $("raw").textContent = JSON.stringify(outcome, null, 2);
    closeViewer(false);
    results.hidden = false;
    say(`Validated ${state.source}: ${plural(n.errors, "error")}, ${plural(n.warning, "warning")}, ${n.information} information.`);
  }

  function renderVerdict(n, issues, encounters) {
    const box = clear($("verdict"));
    let kind, icon, head;
    if (n.errors) {
      kind = "error";
      icon = "✖";
      head = `Does not conform: ${plural(n.errors, "error")}, ${plural(n.warning, "warning")}`;
    } else if (n.warning) {
      kind = "warning";
      icon = "⚠";
      head = `No errors: ${plural(n.warning, "warning")} to review`;
    } else {
      kind = "ok";
      icon = "✔";
      head = "All clear: no errors or warnings";
    }
    box.className = `verdict ${kind}`;
    box.dataset.verdict = kind;
    box.append(el("p", {}, el("strong", {}, el("span", { "aria-hidden": "true" }, icon + " "), head)));
    if (encounters && encounters.length) {
      const checked = encounters.filter((e) => e.applies).length;
      box.append(el("p", { class: "small" },
        `${plural(encounters.length, "encounter")} found, ${checked} checked against the ${encounters[0].ruleSet.toUpperCase()} rules.`));
    } else if (n.errors) {
      const first = issues.find((i) => i.severity === "error" || i.severity === "fatal");
      box.append(el("p", { class: "small" }, (first && first.details && first.details.text) || "No encounter could be checked."));
    } else if (encounters) {
      box.append(el("p", { class: "small" }, "The Bundle has no Procedure, Condition or Encounter to check."));
    }
  }

  function renderEncounters(encounters, issues) {
    const box = clear($("encounters"));
    $("encounters-heading").hidden = !encounters.length;
    encounters.forEach((enc, n) => box.append(encounterCard(enc, n, issues)));
  }

  function encounterCard(enc, n, issues) {
    const id = `enc-${n}`;
    const mine = issues.filter((i) => inside(i, enc.resources));
    const c = counts(mine);
    const summary = issues.find((i) => issueRule(i).code === enc.summaryRule && (i.expression || [])[0] === enc.expression);
    let badge;
    if (!enc.applies) badge = stateBadge("st-optional", "–", "IPG672 rules not applied");
    else if (c.errors) badge = stateBadge("st-missing", "✖", plural(c.errors, "error"));
    else if (c.warning) badge = stateBadge("sev-warning", "⚠", `No errors, ${plural(c.warning, "warning")}`);
    else badge = stateBadge("st-present", "✔", "Coded as IPG672 recommends");

    const body = el("div", { class: "body" });
    if (summary) body.append(el("p", { class: "summary" }, summary.details.text));
    body.append(el("dl", { class: "strings" },
      el("dt", {}, "Procedures, in order"), el("dd", {}, codeString(enc.procedures, "Procedure")),
      el("dt", {}, "Diagnoses, in order"), el("dd", {}, codeString(enc.diagnoses, "Diagnosis"))));
    if (enc.applies) body.append(checklistTable(enc, id));
    else body.append(el("p", {}, "The IPG672 checklist does not apply: this encounter has no SIRT procedure, and the encounter profile was not asked for."));

    return el("article", { class: "encounter", "aria-labelledby": `${id}-h`, dataset: { encounter: enc.encounter, expression: enc.expression } },
      el("header", {}, el("h4", { id: `${id}-h` }, capitalised(enc.encounter)), badge), body);
  }

  function capitalised(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function stateBadge(cls, icon, word) {
    return el("span", { class: `badge ${cls}` }, el("span", { class: "icon", "aria-hidden": "true" }, icon), word);
  }

  function codeString(items, kind) {
    if (!items.length) return el("span", { class: "none" }, "none recorded");
    return el("ol", { class: "codes" }, items.map((item) => {
      const label = `${kind} ${item.position}: ${item.code}${item.display ? " " + item.display : ""}${item.usable ? "" : " (" + item.systemName + ")"}. Show its resource`;
      return el("li", {}, el("button", {
        type: "button", title: item.display || item.systemName, "aria-label": label,
        onclick: (e) => showResource(item.expression, e.currentTarget),
      }, el("span", { class: "pos", "aria-hidden": "true" }, String(item.position)), item.code));
    }));
  }

  function checklistTable(enc, id) {
    const rows = enc.items.map((item) => {
      const requirement = el("td", { class: "req", dataset: { label: "Requirement" } },
        el("span", { class: "code" }, item.label), " ",
        item.optional ? el("em", {}, "(optional) ") : null,
        el("span", { class: "title" }, item.title));
      if (item.codes.length > 1) {
        requirement.append(el("details", {}, el("summary", {}, `${plural(item.codes.length, "code")} in the value set`),
          el("ul", {}, item.codes.map((c) => el("li", {}, el("span", { class: "code" }, c.code), " ", c.display)))));
      }
      return el("tr", { dataset: { status: item.status, code: item.label, rule: item.rule } },
        requirement,
        el("td", { class: "state", dataset: { label: "Status" } }, statusBadge(item)),
        el("td", { class: "detail", dataset: { label: "Recorded in this encounter" } }, recorded(item)));
    });
    return el("table", { class: "checklist stack", "aria-labelledby": `${id}-cap` },
      el("caption", { id: `${id}-cap` }, "IPG672 requirements"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Requirement"), el("th", { scope: "col" }, "Status"), el("th", { scope: "col" }, "Recorded in this encounter"))),
      el("tbody", {}, rows));
  }

  function statusBadge(item) {
    if (item.status === "present") return stateBadge("st-present", "✔", "Present");
    if (item.status === "wrong") return stateBadge("st-wrong", "✖", "Wrong");
    if (item.optional) return stateBadge("st-optional", "○", "Not recorded (optional)");
    return stateBadge("st-missing", "✖", "Missing");
  }

  function recorded(item) {
    const where = (c) => `${item.target === "diagnoses" ? "diagnosis" : "procedure"} ${c.position}`;
    const link = (c, extra) => el("button", {
      type: "button", class: "link", "aria-label": `${c.code} ${c.display}, ${where(c)}: show its resource`,
      onclick: (e) => showResource(c.expression, e.currentTarget),
    }, `${c.code}${c.display ? " " + c.display : ""}`, ` (${where(c)})`, extra || "");
    if (item.status === "present") {
      return el("ul", { class: "plain" }, item.found.map((c) => el("li", {}, link(c))),
        item.wrong.map((c) => el("li", {}, "Also ", link(c, ": it has an error, see the issues"))));
    }
    if (item.status === "wrong") {
      return el("div", {}, item.wrong.map((c) => el("p", {}, link(c), ": recorded, but with an error (see the issues)")));
    }
    if (item.optional) return el("span", {}, "None recorded.");
    if (item.codes.length === 1) {
      const c = item.codes[0];
      return el("span", {}, "Not recorded: add ", el("span", { class: "code" }, c.code), " ", c.display);
    }
    return el("span", {}, `Not recorded: add one of ${item.label}`);
  }

  /* ---------- the issues table ---------- */

  function renderIssues(issues, n) {
    const filters = clear($("filters"));
    filters.append(el("legend", {}, "Show"));
    for (const severity of ["error", "warning", "information"]) {
      const count = severity === "error" ? n.errors : n[severity];
      const box = el("input", { type: "checkbox", id: `show-${severity}`, checked: true, dataset: { severity }, onchange: applyFilters });
      box.checked = true;
      filters.append(el("label", { for: `show-${severity}` }, box, severityBadge(severity), ` ${count}`));
    }
    const body = clear($("issues").tBodies[0]);
    issues.forEach((issue, n) => body.append(issueRow(issue, n)));
    applyFilters();
  }

  function issueRow(issue, n) {
    const rule = issueRule(issue);
    const where = issue.expression || issue.location || [];
    const whereCell = el("td", { class: "where", dataset: { label: "Where" } });
    if (!where.length) whereCell.append(el("span", { class: "none" }, "the whole input"));
    where.forEach((expression, k) => {
      if (k) whereCell.append(el("br"));
      whereCell.append(el("button", {
        type: "button", class: "link", "aria-controls": "viewer", "aria-label": `${expression}: show this resource`,
        onclick: (e) => showResource(expression, e.currentTarget),
      }, breakable(expression)));
    });
    const ruleCell = el("td", { class: "rule", dataset: { label: "Rule or check" } });
    if (rule.code && state.ruleSystems.has(rule.system)) {
      ruleCell.append(el("a", { href: `/reference#rule-${encodeURIComponent(rule.code)}` }, rule.code));
    } else if (rule.code) {
      ruleCell.append(el("span", { class: "mono" }, rule.code));
    }
    ruleCell.append(el("span", { class: "type" }, issue.code));
    const text = (issue.details && issue.details.text) || issue.diagnostics || "";
    return el("tr", { id: `issue-${n}`, dataset: { severity: issue.severity === "fatal" ? "error" : issue.severity, rule: rule.code || "" } },
      el("td", { class: "sev", dataset: { label: "Severity" } }, severityBadge(issue.severity)),
      whereCell,
      el("td", { class: "msg", dataset: { label: "Message and fix" } }, text),
      ruleCell);
  }

  /** An expression that may wrap after each dot, not inside a name. */
  function breakable(expression) {
    return expression.split(/(?<=\.)/).flatMap((part, n) => (n ? [el("wbr"), part] : [part]));
  }

  function applyFilters() {
    const shown = new Set(Array.from($("filters").querySelectorAll("input[type=checkbox]")).filter((b) => b.checked).map((b) => b.dataset.severity));
    const rows = Array.from($("issues").tBodies[0].rows);
    let visible = 0;
    for (const row of rows) {
      row.hidden = !shown.has(row.dataset.severity);
      if (!row.hidden) visible += 1;
    }
    $("issues-count").textContent = `Showing ${visible} of ${plural(rows.length, "issue")}, most severe first. Select a place to see the resource.`;
  }

  /* ---------- the resource viewer ---------- */

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
    const found = state.input ? locate(expression) : null;
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
      const kind = found.shown.resourceType || "Element";
      const id = found.shown.id ? `/${found.shown.id}` : "";
      $("viewer-heading").textContent = `${kind}${id} at ${found.label}`;
      const { text, range } = jsonWithRange(found.shown, found.path);
      if (range && found.path.length) {
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

  /* ---------- the raw OperationOutcome ---------- */

  async function copyOutcome() {
    const text = $("raw").textContent;
    if (!text) return;
    try {
      await navigator.clipboard.writeText(text);
      say("The OperationOutcome was copied.");
    } catch (e) {
      $("raw-details").open = true;
      const range = document.createRange();
      range.selectNodeContents($("raw"));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      say("The OperationOutcome is selected: press Ctrl+C to copy it.");
    }
  }

  function downloadOutcome() {
    const text = $("raw").textContent;
    if (!text) return;
    const url = URL.createObjectURL(new Blob([text + "\n"], { type: "application/fhir+json" }));
    const name = `OperationOutcome-${state.source.replace(/[^\w.-]+/g, "_") || "bundle"}.json`;
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    say(`Downloaded ${name}.`);
  }

  /* ---------- start ---------- */

  async function loadRuleSystems() {
    try {
      const answer = await IPG.getJson("/web/api/rules");
      for (const set of (answer.ok && answer.body && answer.body.ruleSets) || []) if (set.ruleSystem) state.ruleSystems.add(set.ruleSystem);
    } catch (e) {
      /* rule ids are then shown without links */
    }
  }

  function start() {
    IPG.footer();
    loadExamples();
    loadRuleSystems();
    wireDragAndDrop();
    $("example").addEventListener("change", describeExample);
    $("load-example").addEventListener("click", () => loadExample());
    $("file").addEventListener("change", (e) => {
      readFile(e.target.files[0]);
      e.target.value = "";
    });
    $("validate").addEventListener("click", () => validate(state.source));
    $("clear").addEventListener("click", () => {
      textarea.value = "";
      state.source = "bundle";
      showResultsHidden();
      IPG.showProblem(problem, null);
      say("Cleared.");
      textarea.focus();
    });
    textarea.addEventListener("input", () => {
      state.source = "bundle";
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        validate(state.source);
      } else if (e.key === "Escape" && !$("viewer").hidden && $("viewer").contains(document.activeElement)) {
        closeViewer(true);
      }
    });
    $("viewer-back").addEventListener("click", () => {
      if (state.trigger && document.contains(state.trigger)) state.trigger.focus();
    });
    $("viewer-close").addEventListener("click", () => closeViewer(true));
    $("copy").addEventListener("click", copyOutcome);
    $("download").addEventListener("click", downloadOutcome);
  }

  start();
})();
