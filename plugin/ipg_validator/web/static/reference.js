/* The reference page: value sets with their expansions, code systems, profiles and rules,
   all read from this server's FHIR API (and the rules from /web/api/rules), and a code search
   over ValueSet/$expand?filter=. */
"use strict";

(() => {
  const { el, clear, plural, severityBadge } = IPG;
  const $ = (id) => document.getElementById(id);
  const state = { valueSets: [], systems: new Map() };

  function failed(box, what, answer) {
    clear(box).append(el("p", { class: "problem" }, `${what} could not be loaded: ${IPG.problemText(answer && answer.body) || (answer && answer.status ? "HTTP " + answer.status : "no answer")}.`));
  }

  function entries(bundle) {
    return bundle && Array.isArray(bundle.entry) ? bundle.entry.map((e) => e.resource).filter(Boolean) : [];
  }

  function shortName(url) {
    const vs = state.valueSets.find((v) => v.url === url);
    return vs ? vs.title || vs.name || url : url;
  }

  function valueSetLink(url) {
    const vs = state.valueSets.find((v) => v.url === url);
    return vs ? el("a", { href: `#vs-${vs.id}` }, vs.title || vs.name) : el("span", { class: "mono" }, url);
  }

  /* ---------- value sets ---------- */

  async function loadValueSets() {
    const box = $("valuesets");
    const answer = await IPG.fhir("/ValueSet", { _summary: "true" }).catch(() => null);
    if (!answer || !answer.ok) return failed(box, "The value sets", answer);
    state.valueSets = entries(answer.body);
    const scope = $("scope");
    for (const vs of state.valueSets) scope.append(el("option", { value: vs.url }, vs.title || vs.name || vs.url));
    const expansions = await Promise.all(state.valueSets.map((vs) => IPG.fhir("/ValueSet/$expand", { url: vs.url, count: "500" }).catch(() => null)));
    clear(box);
    state.valueSets.forEach((vs, n) => box.append(valueSetCard(vs, expansions[n])));
  }

  function valueSetCard(vs, answer) {
    const card = el("article", { class: "vs anchor-target", id: `vs-${vs.id}`, "aria-labelledby": `vs-${vs.id}-h` },
      el("h3", { id: `vs-${vs.id}-h` }, vs.title || vs.name),
      el("p", { class: "url" }, vs.url),
      el("p", { class: "meta" }, `Version ${vs.version || "–"} · ${vs.status || ""}`));
    if (vs.description) card.append(el("details", {}, el("summary", {}, "About this value set"), el("p", {}, vs.description)));
    if (!answer || !answer.ok || !answer.body || !answer.body.expansion) {
      card.append(el("p", { class: "problem" }, `No expansion: ${IPG.problemText(answer && answer.body) || "the server did not answer"}`));
      return card;
    }
    const exp = answer.body.expansion;
    const contains = exp.contains || [];
    card.append(el("p", {}, `${plural(exp.total ?? contains.length, "code")}${exp.total > contains.length ? `, the first ${contains.length} shown` : ""}.`));
    for (const ext of exp.extension || []) if (ext.valueString) card.append(el("p", { class: "hint" }, ext.valueString));
    if (contains.length) {
      card.append(el("table", { class: "stack" },
        el("caption", { class: "visually-hidden" }, `Codes of ${vs.title || vs.name}`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Code"), el("th", { scope: "col" }, "Title"))),
        el("tbody", {}, contains.map((c) => el("tr", {},
          el("td", { dataset: { label: "Code" } }, el("span", { class: "code" }, c.code)),
          el("td", { dataset: { label: "Title" } }, c.display || "")))))); 
    }
    return card;
  }

  /* ---------- code systems ---------- */

  async function loadCodeSystems() {
    const box = $("codesystems");
    const [caps, found] = await Promise.all([
      IPG.fhir("/metadata", { mode: "terminology" }).catch(() => null),
      IPG.fhir("/CodeSystem", { _summary: "true" }).catch(() => null),
    ]);
    if (!caps || !caps.ok) return failed(box, "The code systems", caps);
    const resources = found && found.ok ? entries(found.body) : [];
    const rows = [];
    for (const cs of caps.body.codeSystem || []) {
      for (const version of cs.version || [{}]) {
        const resource = resources.find((r) => r.url === cs.uri && (!version.code || r.version === version.code)) || {};
        const content = ((version.extension || []).find((x) => /codeSystem\.content$/.test(x.url)) || {}).valueCode || resource.content || "";
        state.systems.set(cs.uri, resource.title || resource.name || cs.uri);
        const full = content === "complete";
        rows.push(el("tr", { dataset: { system: cs.uri, content } },
          el("td", { dataset: { label: "Code system" } }, el("strong", {}, resource.title || resource.name || cs.uri), el("br"), el("span", { class: "mono" }, cs.uri)),
          el("td", { dataset: { label: "Version" } }, version.code || resource.version || "–", version.isDefault ? " (default)" : ""),
          el("td", { dataset: { label: "Loaded" } },
            el("span", { class: `badge ${full ? "st-present" : "st-optional"}` }, full ? "Full release" : content === "fragment" ? "Fragment" : `Not complete (${content || "unknown"})`), " ",
            full ? "Every code of the release can be checked." :
              "Shipped with the validator: only the codes IPG672 needs, with confirmed titles. Other well-formed codes cannot be confirmed (a warning). Load the full release from NHS TRUD with ipg-validator import-trud.")));
      }
    }
    clear(box).append(el("table", { class: "stack", id: "codesystems-table" },
      el("caption", { class: "visually-hidden" }, "Code systems in use"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Code system"), el("th", { scope: "col" }, "Version"), el("th", { scope: "col" }, "Loaded"))),
      el("tbody", {}, rows)));
  }

  /* ---------- profiles ---------- */

  async function loadProfiles() {
    const box = $("profiles");
    const answer = await IPG.fhir("/StructureDefinition").catch(() => null);
    if (!answer || !answer.ok) return failed(box, "The profiles", answer);
    const base = (await IPG.settings()).fhirBase;
    clear(box);
    for (const sd of entries(answer.body)) {
      const elements = (sd.differential && sd.differential.element) || [];
      const constraints = elements.flatMap((e) => (e.constraint || []).map((c) => ({ path: e.path, ...c })));
      const bindings = elements.filter((e) => e.binding && e.binding.valueSet).map((e) => ({ path: e.path, ...e.binding }));
      const section = el("article", { class: "vs", id: `profile-${sd.id}`, "aria-labelledby": `profile-${sd.id}-h` },
        el("h3", { id: `profile-${sd.id}-h` }, sd.title || sd.name),
        el("p", { class: "url" }, sd.url),
        el("p", { class: "meta" }, `Constrains ${sd.type || "–"} · version ${sd.version || "–"} · `, el("a", { href: `${base}/StructureDefinition/${encodeURIComponent(sd.id)}` }, "the StructureDefinition as JSON")));
      if (sd.description) section.append(el("p", {}, sd.description));
      if (bindings.length) {
        section.append(el("h4", {}, "Bindings"), el("table", { class: "stack" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Element"), el("th", { scope: "col" }, "Strength"), el("th", { scope: "col" }, "Value set"))),
          el("tbody", {}, bindings.map((b) => el("tr", {},
            el("td", { dataset: { label: "Element" } }, el("span", { class: "mono" }, b.path)),
            el("td", { dataset: { label: "Strength" } }, b.strength || ""),
            el("td", { dataset: { label: "Value set" } }, valueSetLink(String(b.valueSet).split("|")[0])))))));
      }
      if (constraints.length) {
        section.append(el("h4", {}, "Invariants"), el("div", { class: "scroll" }, el("table", { class: "stack" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Key"), el("th", { scope: "col" }, "Severity"), el("th", { scope: "col" }, "Rule"), el("th", { scope: "col" }, "FHIRPath"))),
          el("tbody", {}, constraints.map((c) => el("tr", {},
            el("td", { dataset: { label: "Key" } }, el("span", { class: "mono" }, c.key)),
            el("td", { dataset: { label: "Severity" } }, severityBadge(c.severity)),
            el("td", { dataset: { label: "Rule" } }, c.human || ""),
            el("td", { dataset: { label: "FHIRPath" } }, el("code", {}, c.expression || ""))))))));
      }
      box.append(section);
    }
    if (!box.firstChild) box.append(el("p", {}, "No profiles are loaded."));
  }

  /* ---------- rules ---------- */

  async function loadRules() {
    const box = $("rules");
    const answer = await IPG.getJson("/web/api/rules").catch(() => null);
    if (!answer || !answer.ok) return failed(box, "The rules", answer);
    clear(box);
    for (const set of answer.body.ruleSets || []) {
      box.append(el("h3", {}, set.title || set.id));
      box.append(el("p", { class: "meta" }, `Rules ${set.id} version ${set.version || "–"} · rule ids in `, el("span", { class: "mono" }, set.ruleSystem || "")));
      if (set.guidance && set.guidance.url) box.append(el("p", {}, "Guidance: ", el("a", { href: set.guidance.url, rel: "noreferrer" }, set.guidance.id || set.guidance.url)));
      if (set.description) box.append(el("p", {}, set.description));
      if (set.scope) box.append(el("p", {}, `The rules apply to an encounter with a code of `, valueSetLink(set.scope.valueSet), ` among its ${set.scope.in}, or when the profile is asked for.`));
      box.append(el("div", { class: "scroll" }, el("table", { class: "stack", id: `rules-${set.id}` },
        el("caption", { class: "visually-hidden" }, `Rules of ${set.title || set.id}`),
        el("thead", {}, el("tr", {}, ["Rule", "Severity", "Checks", "Standard", "Message (with its fix)"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, (set.rules || []).map((rule) => {
          const sets = rule.valueSets || (rule.valueSet ? [rule.valueSet] : []);
          return el("tr", { id: `rule-${rule.id}`, class: "anchor-target", tabindex: "-1" },
            el("td", { dataset: { label: "Rule" } }, el("span", { class: "mono" }, rule.id)),
            el("td", { dataset: { label: "Severity" } }, severityBadge(rule.severity)),
            el("td", { dataset: { label: "Checks" } }, rule.kind, rule.in ? ` over the ${rule.in}` : "",
              sets.length ? el("br") : null, sets.map((url, n) => [n ? ", " : "", valueSetLink(url)])),
            el("td", { dataset: { label: "Standard" } }, rule.standard || "",
              (set.standards || {})[rule.standard] ? el("br") : null, (set.standards || {})[rule.standard] || ""),
            el("td", { class: "tmpl", dataset: { label: "Message" } }, rule.message || ""));
        })))));
    }
  }

  /* ---------- search ---------- */

  async function search(event) {
    event.preventDefault();
    const q = $("q").value.trim();
    const out = clear($("search-results"));
    const status = $("search-status");
    if (!q) {
      status.textContent = "Type a code or words of a title first.";
      $("q").focus();
      return;
    }
    const urls = $("scope").value ? [$("scope").value] : state.valueSets.map((v) => v.url);
    status.textContent = "Searching…";
    const answers = await Promise.all(urls.map((url) => IPG.fhir("/ValueSet/$expand", { url, filter: q, count: "200" }).catch(() => null)));
    const codes = new Map();
    const problems = [];
    answers.forEach((answer, n) => {
      if (!answer || !answer.ok) {
        problems.push(`${shortName(urls[n])}: ${IPG.problemText(answer && answer.body) || "no answer"}`);
        return;
      }
      for (const c of (answer.body.expansion && answer.body.expansion.contains) || []) {
        const key = `${c.system}|${c.code}`;
        if (!codes.has(key)) codes.set(key, { ...c, in: [] });
        codes.get(key).in.push(urls[n]);
      }
    });
    const found = Array.from(codes.values()).sort((a, b) => a.code.localeCompare(b.code));
    status.textContent = `${found.length ? plural(found.length, "code") : "No code"} matching “${q}”${$("scope").value ? " in " + shortName(urls[0]) : ""}.`;
    for (const p of problems) out.append(el("p", { class: "problem" }, p));
    if (!found.length) return;
    out.append(el("table", { class: "stack", id: "search-table" },
      el("caption", { class: "visually-hidden" }, `Codes matching ${q}`),
      el("thead", {}, el("tr", {}, ["Code", "Title", "Code system", "In the value sets"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, found.map((c) => el("tr", { dataset: { code: c.code } },
        el("td", { dataset: { label: "Code" } }, el("span", { class: "code" }, c.code)),
        el("td", { dataset: { label: "Title" } }, c.display || ""),
        el("td", { dataset: { label: "Code system" } }, state.systems.get(c.system) || c.system, c.version ? ` ${c.version}` : ""),
        el("td", { dataset: { label: "In the value sets" } }, c.in.map((url, n) => [n ? ", " : "", valueSetLink(url)])))))));
  }

  function followHash() {
    if (!location.hash) return;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) {
      target.scrollIntoView({ block: "center" });
      if (target.hasAttribute("tabindex")) target.focus({ preventScroll: true });
    }
  }

  async function start() {
    IPG.footer();
    $("search").addEventListener("submit", search);
    try {
      await IPG.settings();
    } catch (e) {
      IPG.showProblem($("problem"), "The server's settings could not be loaded", e.message);
      return;
    }
    // The value sets first: the profiles, rules and search name them by title.
    await Promise.all([loadValueSets(), loadCodeSystems()]);
    await Promise.all([loadProfiles(), loadRules()]);
    document.body.dataset.loaded = "true";
    followHash();
  }

  start();
})();
