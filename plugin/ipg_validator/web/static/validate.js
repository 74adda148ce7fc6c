/* The validation page: send the Bundle to Bundle/$validate and show the verdict.
   The OperationOutcome comes from the FHIR API; each encounter's checklist from /web/api/checklist,
   which the server computes from the rules file and the value sets (no code or rule is known here). */
"use strict";

(() => {
  const { el } = IPG;
  const $ = (id) => document.getElementById(id);

  const textarea = $("bundle");
  const problem = $("problem");
  const status = $("status");
  const results = $("results");
  const state = {
    busy: false,
    source: "bundle",
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
    const packs = [...new Set(answer.body.examples.map((x) => x.pack))];  // several guidance packs: a group per pack and kind
    for (const pack of packs) {
      for (const [label, test] of groups) {
        const items = answer.body.examples.filter((x) => x.pack === pack && test(x));
        if (!items.length) continue;
        const named = packs.length > 1 ? `${String(pack).toUpperCase()}: ${label}` : label;
        select.append(el("optgroup", { label: named }, items.map((x) => el("option", { value: x.name, title: x.description, text: x.name }))));
      }
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
    await validate(file.name.replace(/\.(json|xml)$/i, ""));
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
      const xml = IPGXml.isXml(text); // the OperationOutcome comes back in the format the input was sent in
      const media = xml ? "application/fhir+xml" : "application/fhir+json";
      const post = (url, accept) =>
        IPG.request(url, { method: "POST", headers: { "Content-Type": media, Accept: accept }, body: text });
      const [outcome, checklist] = await Promise.all([
        post(`${settings.fhirBase}/Bundle/$validate`, media),
        post("/web/api/checklist", "application/json").catch(() => null),
      ]);
      if (xml) outcome.body = IPGXml.outcome(outcome.text);
      if (!outcome.ok || !outcome.body || outcome.body.resourceType !== "OperationOutcome") {
        showResultsHidden();
        refused(outcome, text);
        return;
      }
      IPGViewer.setInput(xml ? IPGXml.parse(text) : parse(text));
      const encounters = checklist && checklist.ok && checklist.body ? checklist.body.encounters : null;
      IPGResults.show(outcome.body, encounters, state.source, xml ? outcome.text : null);
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
    else if (answer.status === 400 && IPGXml.isXml(text)) title = "The input is not FHIR XML";
    else if (answer.status === 400 && parse(text) === null) title = "The input is not valid JSON";
    else if (answer.status === 415) title = "The input is not FHIR JSON or XML";
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
    IPGViewer.close(false);
  }


  /* ---------- start ---------- */

  function start() {
    IPG.footer();
    loadExamples();
    IPGResults.loadRuleSystems();
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
        IPGViewer.close(true);
      }
    });
    $("viewer-back").addEventListener("click", IPGViewer.back);
    $("viewer-close").addEventListener("click", () => IPGViewer.close(true));
    $("copy").addEventListener("click", IPGResults.copy);
    $("download").addEventListener("click", IPGResults.download);
  }

  start();
})();