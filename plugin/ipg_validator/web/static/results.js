/* The verdict, the encounters' checklists and the issues table of the validation page, drawn from
   the OperationOutcome and the server's checklist; copying and downloading the OperationOutcome. */
"use strict";

const IPGResults = (() => {
  const { el, clear, plural, severityBadge } = IPG;
  const $ = (id) => document.getElementById(id);
  const state = {
    outcome: null,
    source: "bundle",
    ruleSystems: new Set(), // rule id systems that link to the reference page
  };

  function say(text) {
    $("status").textContent = text;
  }


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

  function render(outcome, encounters, rawXml) {
    state.outcome = outcome;
    state.xml = Boolean(rawXml);
    const issues = Array.isArray(outcome.issue) ? outcome.issue : [];
    const n = counts(issues);
    renderVerdict(n, issues, encounters);
    renderEncounters(encounters || [], issues);
    renderIssues(issues, n);
    $("raw").textContent = rawXml ? rawXml.trim() : JSON.stringify(outcome, null, 2); // as the server sent it
    $("download").textContent = `Download as ${rawXml ? "XML" : "JSON"}`;
    $("raw-summary").textContent = `Show the OperationOutcome ${rawXml ? "XML" : "JSON"}`;
    IPGViewer.close(false);
    $("results").hidden = false;
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
      const found = new Set(encounters.map((e) => e.expression)).size;
      const packs = [...new Set(encounters.map((e) => e.guidanceId))];
      const checked = packs.map((g, k) => `${encounters.filter((e) => e.applies && e.guidanceId === g).length} ${k ? "" : "checked "}against the ${g} rules`);
      box.append(el("p", { class: "small" }, `${plural(found, "encounter")} found, ${checked.join(", ")}.`));
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
    if (!enc.applies) badge = stateBadge("st-optional", "–", enc.verdicts["not-applied"]);
    else if (c.errors) badge = stateBadge("st-missing", "✖", plural(c.errors, "error"));
    else if (c.warning) badge = stateBadge("sev-warning", "⚠", `No errors, ${plural(c.warning, "warning")}`);
    else badge = stateBadge("st-present", "✔", enc.verdicts.coded);

    const body = el("div", { class: "body" });
    if (summary) body.append(el("p", { class: "summary" }, summary.details.text));
    body.append(el("dl", { class: "strings" },
      el("dt", {}, "Procedures, in order"), el("dd", {}, codeString(enc.procedures, "Procedure")),
      el("dt", {}, "Diagnoses, in order"), el("dd", {}, codeString(enc.diagnoses, "Diagnosis"))));
    if (enc.applies) body.append(checklistTable(enc, id));
    else body.append(el("p", {}, `The ${enc.guidanceId} checklist does not apply. ${enc.notApplied || ""}`));

    return el("article", { class: "encounter", "aria-labelledby": `${id}-h`, dataset: { encounter: enc.encounter, expression: enc.expression } },
      el("header", {}, el("h4", { id: `${id}-h` }, capitalised(enc.encounter)),
        el("span", { class: "small pack", title: enc.guidance }, enc.guidanceId), badge), body);
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
        onclick: (e) => IPGViewer.show(item.expression, e.currentTarget),
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
      el("caption", { id: `${id}-cap` }, `${enc.guidanceId} requirements`),
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
      onclick: (e) => IPGViewer.show(c.expression, e.currentTarget),
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
        onclick: (e) => IPGViewer.show(expression, e.currentTarget),
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
    const url = URL.createObjectURL(new Blob([text + "\n"], { type: state.xml ? "application/fhir+xml" : "application/fhir+json" }));
    const name = `OperationOutcome-${state.source.replace(/[^\w.-]+/g, "_") || "bundle"}.${state.xml ? "xml" : "json"}`;
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    say(`Downloaded ${name}.`);
  }


  /** The rule systems whose ids link to the reference page; without them ids are shown plain. */
  async function loadRuleSystems() {
    try {
      const answer = await IPG.getJson("/web/api/rules");
      for (const set of (answer.ok && answer.body && answer.body.ruleSets) || []) if (set.ruleSystem) state.ruleSystems.add(set.ruleSystem);
    } catch (e) {
      /* rule ids are then shown without links */
    }
  }

  /** Draw the outcome of validating `source` (an example name or "bundle"); `rawXml`: the outcome as XML was sent. */
  function show(outcome, encounters, source, rawXml) {
    state.source = source;
    render(outcome, encounters, rawXml);
  }

  return { show, loadRuleSystems, copy: copyOutcome, download: downloadOutcome };
})();
