// The web page of reason: ask, watch the reasoning happen, correct it, browse memory.
//
// Plain JavaScript, no build step, no library. It is a client of the /v1 API like any other:
//   POST /v1/chat/completions (stream: true)  SSE chunks: reasoning_content lines, x_event
//                                             (the graph's structured events, when the server
//                                             sends them), the answer, x_trace, [DONE]
//   POST /v1/feedback                         correct / wrong / the right answer
//   GET  /v1/models, /v1/memory/stats, /v1/memory/search, /v1/memory/{id}; DELETE (admin)
// Every text that comes from the server or the model is set with textContent, never as HTML.
"use strict";

(() => {
  const KEY = "reason.apiKey";
  const ADMIN_KEY = "reason.adminKey";
  const MODEL = "reason.model";
  const DEFAULT_MODEL = "reason-full";

  const $ = (selector, root = document) => root.querySelector(selector);

  // ----- small helpers ----------------------------------------------------------------

  const storage = {
    get(name) {
      try {
        return localStorage.getItem(name) || "";
      } catch (_) {
        return ""; // storage disabled: keys live for this page only
      }
    },
    set(name, value) {
      try {
        if (value) localStorage.setItem(name, value);
        else localStorage.removeItem(name);
      } catch (_) {
        /* storage disabled */
      }
    },
  };

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function randomId() {
    // crypto.getRandomValues works on plain http too (randomUUID needs a secure context).
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const pct = (share) => `${Math.round((Number(share) || 0) * 100)}%`;
  const secs = (s) => (s === undefined || s === null ? "" : `${Number(s).toFixed(2)} s`);
  const shown = (answer) => (answer === null || answer === undefined ? "no answer" : String(answer));
  const canon = (s) => String(s ?? "").trim().toLowerCase().replace(/\s+/g, " ");

  // ----- errors in words ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, code, retryAfter) {
      super(message || `HTTP ${status}`);
      this.name = "ApiError";
      this.status = status;
      this.code = code || null;
      this.retryAfter = retryAfter || null;
    }
  }

  class NetworkError extends Error {
    constructor() {
      super("network");
      this.name = "NetworkError";
    }
  }

  // The status an error event inside a stream would have had (the stream itself was a 200).
  const STATUS_OF_CODE = {
    invalid_api_key: 401,
    forbidden: 403,
    queue_full: 429,
    cancelled: 499,
    backend_unavailable: 503,
    model_unavailable: 503,
    memory_error: 503,
    memory_disabled: 503,
    backend_timeout: 504,
  };

  async function errorFrom(response) {
    let error = {};
    try {
      const body = await response.json();
      if (body && typeof body.error === "object" && body.error) error = body.error;
    } catch (_) {
      /* not JSON: a proxy's page */
    }
    return new ApiError(
      response.status,
      error.message || response.statusText,
      error.code,
      response.headers.get("Retry-After"),
    );
  }

  function explain(ex) {
    if (ex && ex.name === "AbortError") return "Stopped.";
    if (ex instanceof NetworkError) {
      return "The server cannot be reached. Is reason serve still running? (Nothing was answered.)";
    }
    if (!(ex instanceof ApiError)) return `Something went wrong: ${ex && ex.message ? ex.message : ex}`;
    const { status, message, code } = ex;
    switch (status) {
      case 401:
        return storage.get(KEY)
          ? `The API key was refused (401 Unauthorized): ${message} Check the key under Settings.`
          : `This server needs an API key (401 Unauthorized). Enter it under Settings. ${message}`;
      case 403:
        return `That needs an admin key (403 Forbidden): ${message} Enter one under Settings.`;
      case 429: {
        const wait = ex.retryAfter ? ` Try again in ${ex.retryAfter} s.` : " Try again shortly.";
        return `The server is busy: its queue is full (429).${wait}`;
      }
      case 499:
        return "The run was cancelled.";
      case 503:
        if (code === "memory_disabled") return "This server runs without memory (503).";
        return `The model backend is unavailable (503): ${message}`;
      case 504:
        return `The model took too long to answer (504): ${message}`;
      default:
        return `The server answered ${status}: ${message}`;
    }
  }

  async function api(path, { method = "GET", body, admin = false, signal, headers = {} } = {}) {
    const key = admin ? storage.get(ADMIN_KEY) || storage.get(KEY) : storage.get(KEY);
    const all = { Accept: "application/json", ...headers };
    if (key) all.Authorization = `Bearer ${key}`;
    if (body !== undefined) all["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: all,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: "no-store",
      });
    } catch (ex) {
      if (ex && ex.name === "AbortError") throw ex;
      throw new NetworkError();
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  // ----- server-sent events over fetch (EventSource cannot POST) -------------------------

  function eventData(block) {
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      // ":" lines are keep-alive comments; event:/id:/retry: are not used by this API
    }
    return data.length ? data.join("\n") : null;
  }

  async function* sseData(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        let text = buffer + decoder.decode(value || new Uint8Array(), { stream: !done });
        // A CR at the very end may be the first half of a CRLF: keep it for the next read.
        const hold = !done && text.endsWith("\r") ? "\r" : "";
        if (hold) text = text.slice(0, -1);
        text = text.replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = text.indexOf("\n\n")) >= 0) {
          const data = eventData(text.slice(0, cut));
          text = text.slice(cut + 2);
          if (data !== null) yield data;
        }
        buffer = text + hold;
        if (done) break;
      }
      if (buffer.trim()) {
        const data = eventData(buffer);
        if (data !== null) yield data;
      }
    } finally {
      reader.releaseLock();
    }
  }

  // ----- one question and its live trace -----------------------------------------------

  class Run {
    constructor(question, node) {
      this.node = node;
      this.question = question;
      this.started = performance.now();
      this.structured = false; // x_event seen: the live view comes from events, not lines
      this.arrival = []; // path indexes in arrival order
      this.pathItems = new Map(); // path index -> <li>
      this.tally = new Map(); // answer -> paths so far (live, before the vote)
      this.abstained = 0;
      this.steps = new Map(); // node name -> <li>
      this.content = "";
      this.trace = null;
      this.answerId = null;
      this.finished = false;
      $(".question", node).textContent = question;
      node.querySelector(".fb-correct").addEventListener("click", () => this.feedback(true));
      node.querySelector(".fb-wrong").addEventListener("click", () => this.feedback(false));
      node.querySelector(".fb-truth").addEventListener("submit", (e) => {
        e.preventDefault();
        const truth = e.target.elements.truth.value.trim();
        if (truth) this.feedback(canon(truth) === canon(this.answer()), truth);
      });
      this.status("Sending the question…", true);
    }

    part(selector) {
      return $(selector, this.node);
    }

    reveal(selector) {
      const box = this.part(selector);
      box.hidden = false;
      return box;
    }

    status(text, busy = false) {
      const line = this.part(".run-status");
      line.textContent = text;
      line.classList.toggle("busy", busy);
    }

    fail(message) {
      this.status(this.finished ? "Answered." : "No answer.", false);
      for (const li of this.steps.values()) li.classList.remove("running");
      this.part(".run-error").textContent = message;
    }

    answer() {
      return this.trace && this.trace.vote ? this.trace.vote.answer : this.content;
    }

    // A chat.completion.chunk from the stream.
    onChunk(chunk) {
      if (chunk.x_event) {
        this.structured = true;
        this.onEvent(chunk.x_event);
      }
      const choice = (chunk.choices || [])[0];
      if (!choice) return;
      const delta = choice.delta || {};
      if (delta.reasoning_content) this.onLines(delta.reasoning_content);
      if (choice.index === 0 && delta.content) this.content += delta.content;
      if (choice.index === 0 && choice.finish_reason === "stop") {
        this.answerId = chunk.x_answer_id || null;
        this.trace = chunk.x_trace || null;
        this.finish();
      }
    }

    // reasoning_content: one human line per event. Shown as a log, and (when the server sends
    // no x_event) read for what the live view can use: the principle and the paths' answers.
    onLines(text) {
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        const box = this.reveal(".log-box");
        if (!this.structured && !this.part(".log").children.length) box.open = true;
        this.part(".log").append(el("li", { text: line }));
        if (this.structured) continue;
        const principle = /^Principle: (.*)$/.exec(line);
        if (principle) this.showPrinciple(principle[1]);
        const paths = /^Paths (\d+) of (\d+) done: (.*)$/.exec(line);
        if (paths) {
          const answers = paths[3].split(", ").map((a) => (a === "-" ? null : a));
          this.setTally(answers);
          this.reveal(".paths-box");
          this.part(".paths-count").textContent = `${paths[1]} of ${paths[2]}`;
          this.status(`Sampling: ${paths[1]} of ${paths[2]} paths done…`, true);
        }
      }
    }

    onEvent(ev) {
      switch (ev.type) {
        case "node_start":
          this.stepStart(ev.node);
          break;
        case "node_end":
          this.stepEnd(ev.node, ev.seconds);
          break;
        case "principle":
          if (ev.principle) this.showPrinciple(ev.principle);
          break;
        case "retrieved":
          this.showRecalled(ev.analog_hits || (ev.analogs || []).map((id) => ({ id })),
            ev.principle_hits || []);
          break;
        case "path":
          this.addPath(ev);
          break;
        case "paths":
          this.reveal(".paths-box");
          this.part(".paths-count").textContent = `${ev.done} of ${ev.of}`;
          if (!this.arrival.length) this.setTally(ev.answers || []);
          this.status(`Sampling: ${ev.done} of ${ev.of} paths done…`, true);
          break;
        case "sampled":
          if (ev.stopped_early) {
            this.part(".vote-note").textContent =
              `Stopped early after ${ev.paths} path(s)${ev.reason ? `: ${ev.reason}` : ""}.`;
          }
          break;
        case "vote":
          this.showVote(ev.votes || {}, ev.answer, ev.share, ev.paths);
          break;
        case "verified":
          this.showVerification(ev);
          break;
        case "memory":
          this.showMemory(ev);
          break;
        default:
          break; // an event this page does not know yet
      }
    }

    stepStart(name) {
      const steps = this.part(".steps");
      const li = el("li", { class: "running" }, el("span", { class: "step-name", text: name }),
        el("span", { class: "step-time" }));
      steps.append(li);
      this.steps.set(name, li);
      this.status(`Working: ${name.replace(/_/g, " ")}…`, true);
    }

    stepEnd(name, seconds) {
      const li = this.steps.get(name);
      if (!li) return;
      li.classList.remove("running");
      $(".step-time", li).textContent = secs(seconds);
    }

    showPrinciple(text) {
      $("p", this.reveal(".principle")).textContent = text;
    }

    showRecalled(analogs, principles) {
      if (!analogs.length && !principles.length) return;
      const list = $("ul", this.reveal(".recalled"));
      list.replaceChildren();
      for (const hit of analogs) {
        const score = hit.score === undefined ? "" : ` (similarity ${Number(hit.score).toFixed(2)})`;
        list.append(el("li", {},
          "Solved problem ", recordLink(hit.id, hit), score,
          hit.question ? el("span", { class: "muted", text: `: ${hit.question}` }) : null));
      }
      for (const hit of principles) {
        const score = hit.score === undefined ? "" : ` (similarity ${Number(hit.score).toFixed(2)})`;
        list.append(el("li", {}, `Principle #${hit.id}${score}: `,
          el("span", { class: "muted", text: hit.text || "" })));
      }
    }

    // One finished path (x_event "path"), in arrival order.
    addPath(p) {
      this.reveal(".paths-box");
      if (!this.pathItems.has(p.index)) this.arrival.push(p.index);
      const li = pathItem(p, p.completion_tokens);
      const old = this.pathItems.get(p.index);
      if (old) old.replaceWith(li);
      else this.part(".paths").append(li);
      this.pathItems.set(p.index, li);
      if (p.answer === null || p.answer === undefined) this.abstained += 1;
      else this.tally.set(p.answer, (this.tally.get(p.answer) || 0) + 1);
      this.renderBars(this.tally, null, "live");
    }

    setTally(answers) {
      this.tally = new Map();
      this.abstained = 0;
      for (const a of answers) {
        if (a === null || a === undefined) this.abstained += 1;
        else this.tally.set(a, (this.tally.get(a) || 0) + 1);
      }
      this.renderBars(this.tally, null, "live");
    }

    showVote(votes, winner, share, paths) {
      this.renderBars(new Map(Object.entries(votes)), winner, "final");
      const note = `${shown(winner)} wins with ${pct(share)} of ${paths} voting path(s).`;
      const extra = this.part(".vote-note").textContent;
      this.part(".vote-note").textContent = extra && !extra.includes("wins") ? `${note} ${extra}` : note;
    }

    // Bars per distinct answer; the same element per answer, so the width grows (CSS transition).
    renderBars(counts, winner, phase) {
      const box = this.reveal(".vote");
      box.dataset.phase = phase;
      const bars = $(".bars", box);
      const total = Array.from(counts.values()).reduce((a, b) => a + Number(b), 0);
      const top = Math.max(1, ...Array.from(counts.values(), Number));
      const seen = new Set();
      const sorted = Array.from(counts.entries()).sort((a, b) => Number(b[1]) - Number(a[1]));
      for (const [answer, count] of sorted) {
        seen.add(answer);
        let li = Array.from(bars.children).find((c) => c.dataset.answer === answer);
        if (!li) {
          li = el("li", { class: "bar-row" },
            el("span", { class: "bar-label" }),
            el("span", { class: "bar-track", "aria-hidden": "true" }, el("span", { class: "bar" })),
            el("span", { class: "bar-count" }));
          li.dataset.answer = answer;
        }
        bars.append(li); // re-append in sorted order
        $(".bar-label", li).textContent = answer;
        const n = Number(count);
        const votes = Number.isInteger(n) ? `${n} vote${n === 1 ? "" : "s"}` : `weight ${n.toFixed(2)}`;
        $(".bar-count", li).textContent = `${votes} (${pct(total ? n / total : 0)})`;
        $(".bar", li).style.width = `${(100 * n) / top}%`;
        li.classList.toggle("winner", winner !== null && winner !== undefined && answer === winner);
      }
      for (const li of Array.from(bars.children)) if (!seen.has(li.dataset.answer)) li.remove();
      const abst = this.abstained ? ` ${this.abstained} path(s) gave no answer.` : "";
      if (phase === "live") this.part(".vote-note").textContent = `Votes so far.${abst}`;
    }

    showVerification(ev) {
      const dl = $("dl", this.reveal(".verification"));
      dl.replaceChildren();
      const rows = [
        ["verified", ev.verified === undefined ? undefined : ev.verified ? "yes" : "no"],
        ["vote share", ev.vote_share === undefined ? undefined : pct(ev.vote_share)],
        ["agreeing paths", ev.agreeing_paths === undefined ? undefined
          : `${ev.agreeing_paths} of ${ev.total_paths}`],
        ["abstentions", ev.abstentions],
        ["confidence", ev.confidence === null || ev.confidence === undefined ? undefined
          : Number(ev.confidence).toFixed(2)],
        ["independent agreement", ev.independent_agreement === undefined ? undefined
          : ev.independent_agreement ? "yes" : "no"],
        ["reason", ev.reason],
      ];
      for (const [name, value] of Object.entries(ev)) {
        if (["type", "verified", "vote_share", "agreeing_paths", "total_paths", "abstentions",
          "confidence", "independent_agreement", "reason", "winning_path"].includes(name)) continue;
        rows.push([name.replace(/_/g, " "), describeValue(name, value)]);
      }
      for (const [name, value] of rows) {
        if (value === undefined || value === null || value === "") continue;
        dl.append(el("dt", { text: name }), el("dd", { text: String(value) }));
      }
    }

    showMemory(ev) {
      const p = $("p", this.reveal(".memory-outcome"));
      p.replaceChildren();
      if (ev.stored && ev.id !== null && ev.id !== undefined) {
        p.append(`Stored (${ev.action || "added"}) as record `, recordLink(ev.id), ".");
      } else if (ev.stored === false) {
        p.append(`Not stored${ev.reason ? `: ${ev.reason}` : "."}`);
      } else if (ev.reason) {
        p.append(String(ev.reason));
      }
      if (!p.textContent) this.part(".memory-outcome").hidden = true;
    }

    // The last chunk: the answer, and the whole trace (everything the live view showed and
    // more), so a server without x_event still gets the full picture here.
    finish() {
      this.finished = true;
      const t = this.trace || {};
      for (const li of this.steps.values()) li.classList.remove("running");
      if (t.principle) this.showPrinciple(t.principle);
      if (t.retrieved) this.showRecalled(t.retrieved.analogs || [], t.retrieved.principles || []);
      this.showTracePaths(t.paths || []);
      if (t.vote) this.showVote(t.vote.votes || {}, t.vote.answer, t.vote.share, t.vote.paths);
      const sampling = t.sampling || {};
      if (sampling.stopped_early) {
        const note = this.part(".vote-note");
        if (!/Stopped early/.test(note.textContent)) {
          note.textContent += ` Stopped early after ${(t.paths || []).length} path(s)` +
            `${sampling.reason ? `: ${sampling.reason}` : ""}.`;
        }
      }
      if (t.verification && Object.keys(t.verification).length) this.showVerification(t.verification);
      if (t.memory && Object.keys(t.memory).length) this.showMemory(t.memory);
      if (!this.structured && t.timings) {
        for (const [name, s] of Object.entries(t.timings)) {
          if (["model", "embed_search", "sandbox"].includes(name)) continue;
          this.stepStart(name);
          this.stepEnd(name, s);
        }
      }

      this.reveal(".answer-box");
      const answer = this.part(".answer");
      answer.textContent = this.content || shown(t.vote && t.vote.answer);
      const verified = t.verification && t.verification.verified;
      answer.classList.toggle("verified", Boolean(verified));
      if (verified !== undefined) {
        answer.append(el("span", { class: "badge", text: verified ? "verified" : "not verified" }));
      }
      this.showWinning(t);
      const usage = t.usage || {};
      const costs = [];
      if (t.seconds !== undefined) costs.push(`${secs(t.seconds)} in all`);
      if (usage.completion_tokens !== undefined) {
        costs.push(`${usage.prompt_tokens || 0} prompt + ${usage.completion_tokens} completion tokens`);
      }
      if (t.overhead_share !== undefined) costs.push(`graph overhead ${pct(t.overhead_share)}`);
      if (t.config) costs.push(`configuration ${t.config}`);
      const timings = t.timings || {};
      for (const k of ["model", "embed_search", "sandbox"]) {
        if (timings[k]) costs.push(`${k.replace("_", " + ")} ${secs(timings[k])}`);
      }
      this.part(".costs").textContent = costs.join(" · ");
      const feedback = this.part(".feedback");
      feedback.hidden = !this.answerId;
      this.status(`Answered in ${secs((performance.now() - this.started) / 1000)}.`, false);
    }

    showTracePaths(paths) {
      if (!paths.length) return;
      this.reveal(".paths-box");
      const byIndex = new Map(paths.map((p) => [p.index, p]));
      // Arrival order when the events gave it, else the trace's order.
      const order = this.arrival.length ? this.arrival.filter((i) => byIndex.has(i)) : [];
      for (const p of paths) if (!order.includes(p.index)) order.push(p.index);
      const list = this.part(".paths");
      list.replaceChildren();
      for (const i of order) {
        const p = byIndex.get(i);
        const li = pathItem(p, p.tokens, true);
        list.append(li);
        this.pathItems.set(i, li);
      }
      this.part(".paths-count").textContent = `${paths.length}`;
    }

    showWinning(t) {
      const body = this.part(".winning-body");
      body.replaceChildren();
      const paths = t.paths || [];
      const v = t.verification || {};
      let best = paths.find((p) => v.winning_path !== undefined && p.index === v.winning_path);
      if (!best && t.vote) best = paths.find((p) => p.answer === t.vote.answer);
      if (!best) {
        body.append(el("p", { text: "No path reached the answer." }));
        return;
      }
      body.append(pathDetail(best));
    }

    async feedback(correct, truth) {
      const status = this.part(".fb-status");
      const buttons = this.node.querySelectorAll(".feedback button");
      buttons.forEach((b) => (b.disabled = true));
      status.textContent = "Sending…";
      try {
        const response = await api("/v1/feedback", {
          method: "POST",
          body: { answer_id: this.answerId, correct, true_answer: truth || null },
        });
        const result = await response.json();
        status.replaceChildren(...feedbackWords(result, correct));
        memory.refresh();
      } catch (ex) {
        status.textContent = explain(ex);
      } finally {
        buttons.forEach((b) => (b.disabled = false));
      }
    }
  }

  // Evidence values in words: arithmetic checks as "k of n hold", other objects as JSON.
  function describeValue(name, value) {
    if (value === null || value === undefined) return undefined;
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value !== "object") return String(value);
    if (name === "checks" && "total" in value) {
      if (!value.total) return "no arithmetic claims to check";
      const failed = (value.failed || []).length ? `; wrong: ${value.failed.join(", ")}` : "";
      return `${value.passed} of ${value.total} arithmetic claim(s) hold${failed}`;
    }
    const entries = Object.entries(value);
    if (!entries.length) return undefined;
    if (!Array.isArray(value) && entries.every(([, v]) => v === null || typeof v !== "object")) {
      return entries.map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(" · ");
    }
    return JSON.stringify(value);
  }

  function feedbackWords(result, correct) {
    const id = result.memory_id;
    const link = id === null || id === undefined ? null : recordLink(id);
    switch (result.action) {
      case "stored":
        return ["Thanks: memory stored this answer as record ", link, "."];
      case "merged":
        return ["Thanks: memory merged this answer into record ", link, "."];
      case "confirmed":
        return ["Thanks: memory confirmed record ", link, "."];
      case "rejected":
        return ["Thanks: memory marked record ", link, " as wrong; it is no longer recalled."];
      case "noted":
        return [correct
          ? "Thanks: noted. Memory did not store it (its policy wants more evidence)."
          : "Thanks: noted. Nothing was stored for this answer, so there is nothing to remove."];
      default:
        return link ? [`Memory: ${result.action} (record `, link, ")."] : [`Memory: ${result.action}.`];
    }
  }

  function pathItem(p, tokens, withDetail = false) {
    const kind = p.kind || "prose";
    const li = el("li", { class: `path ${p.answer === null || p.answer === undefined ? "abstain" : ""}` },
      el("span", { class: `kind kind-${kind}`, text: kind }), " ",
      el("span", { class: "path-answer", text: shown(p.answer) }),
      el("span", { class: "muted", text: ` · path ${p.index} · ${tokens ?? "?"} tokens` }));
    const output = p.program_output ?? p.stdout;
    const error = p.program_error ?? p.error;
    if (output) li.append(el("pre", { class: "out", text: `printed: ${output}` }));
    if (error) li.append(el("pre", { class: "out err", text: `error: ${error}` }));
    if (withDetail && (p.text || p.program)) {
      li.append(el("details", {}, el("summary", { text: p.program ? "program" : "text" }),
        pathDetail(p)));
    }
    return li;
  }

  function pathDetail(p) {
    const box = el("div", { class: "path-detail" });
    const facts = [`path ${p.index}`, p.kind || "prose", `answer ${shown(p.answer)}`];
    if (p.tokens !== undefined) facts.push(`${p.tokens} tokens`);
    if (p.confidence !== null && p.confidence !== undefined) {
      facts.push(`confidence ${Number(p.confidence).toFixed(2)}`);
    }
    if (p.seed !== undefined && p.seed !== null) facts.push(`seed ${p.seed}`);
    if (p.finish) facts.push(`finish ${p.finish}`);
    box.append(el("p", { class: "muted", text: facts.join(" · ") }));
    if (p.analog) box.append(el("p", {}, "Shown the worked example ", recordLink(p.analog), "."));
    if (p.text) box.append(el("pre", { class: "path-text", text: p.text }));
    if (p.program) box.append(el("pre", { class: "program", text: p.program }));
    if (p.stdout) box.append(el("pre", { class: "out", text: `printed: ${p.stdout}` }));
    if (p.error) box.append(el("pre", { class: "out err", text: `error: ${p.error}` }));
    if (!p.text && !p.program) {
      box.append(el("p", { class: "muted", text: "This server's trace does not carry the path's text." }));
    }
    return box;
  }

  function recordLink(id, hint) {
    return el("button", {
      type: "button",
      class: "link",
      text: `#${id}`,
      "aria-label": `Open memory record ${id}`,
      onclick: () => memory.open(id, hint),
    });
  }

  // ----- the conversation --------------------------------------------------------------

  const chat = {
    threadId: randomId(),
    current: null, // {controller, run}

    init() {
      const form = $("#ask-form");
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        this.ask();
      });
      $("#question").addEventListener("keydown", (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.ask();
        }
      });
      $("#stop").addEventListener("click", () => this.stop());
      $("#new-thread").addEventListener("click", () => {
        this.stop();
        this.threadId = randomId();
        $("#thread").replaceChildren();
        $("#empty-thread").hidden = false;
        $("#status").textContent = "A new thread: the next question starts a new conversation.";
        $("#question").focus();
      });
      $("#model").addEventListener("change", (e) => storage.set(MODEL, e.target.value));
      // A closed or reloaded tab stops its run (the API cancels a run whose client leaves).
      window.addEventListener("pagehide", () => this.stop());
    },

    stop() {
      if (this.current) this.current.controller.abort();
    },

    busy(on) {
      $("#ask").disabled = on;
      $("#stop").disabled = !on;
      $("#ask-form").setAttribute("aria-busy", on ? "true" : "false");
    },

    requestBody(question) {
      const body = {
        model: $("#model").value || DEFAULT_MODEL,
        messages: [{ role: "user", content: question }],
        stream: true,
        stream_options: { include_usage: true },
      };
      const paths = parseInt($("#paths").value, 10);
      if (paths > 0) body.reasoning_paths = paths;
      const maxTokens = parseInt($("#max-tokens").value, 10);
      if (maxTokens > 0) body.max_tokens = maxTokens;
      return body;
    },

    async ask() {
      const box = $("#question");
      const question = box.value.trim();
      if (!question || this.current) return;
      $("#error").textContent = "";
      $("#status").textContent = "";
      $("#empty-thread").hidden = true;
      const node = $("#turn-template").content.firstElementChild.cloneNode(true);
      $("#thread").append(node);
      const run = new Run(question, node);
      const controller = new AbortController();
      this.current = { controller, run };
      this.busy(true);
      box.value = "";
      node.scrollIntoView({ block: "nearest" });
      try {
        const response = await api("/v1/chat/completions", {
          method: "POST",
          body: this.requestBody(question),
          signal: controller.signal,
          headers: { "X-Thread-Id": this.threadId, Accept: "text/event-stream" },
        });
        run.status("Waiting for the model…", true);
        let done = false;
        for await (const data of sseData(response)) {
          if (data === "[DONE]") {
            done = true;
            break;
          }
          let chunk;
          try {
            chunk = JSON.parse(data);
          } catch (_) {
            continue; // not JSON: nothing this page can show
          }
          if (chunk.error) {
            const e = chunk.error;
            throw new ApiError(STATUS_OF_CODE[e.code] || 500, e.message, e.code);
          }
          run.onChunk(chunk);
        }
        if (!run.finished) {
          throw new Error(done ? "the stream ended without an answer."
            : "the connection closed before the answer arrived.");
        }
      } catch (ex) {
        if (ex && ex.name === "AbortError") run.fail("Stopped: the run was cancelled.");
        else if (ex instanceof TypeError) run.fail(explain(new NetworkError()));
        else run.fail(explain(ex));
        if (ex instanceof ApiError && ex.status === 401) $("#settings").open = true;
      } finally {
        this.current = null;
        this.busy(false);
        memory.refresh();
        box.focus();
      }
    },
  };

  // ----- models and keys ---------------------------------------------------------------

  async function loadModels() {
    const select = $("#model");
    const wanted = storage.get(MODEL) || select.value || DEFAULT_MODEL;
    try {
      const response = await api("/v1/models");
      const ids = ((await response.json()).data || []).map((m) => m.id);
      if (!ids.length) return;
      select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
      select.value = ids.includes(wanted) ? wanted : ids.includes(DEFAULT_MODEL) ? DEFAULT_MODEL : ids[0];
    } catch (ex) {
      $("#error").textContent = `Could not list the configurations. ${explain(ex)}`;
      if (ex instanceof ApiError && ex.status === 401) $("#settings").open = true;
    }
  }

  function initKeys() {
    $("#api-key").value = storage.get(KEY);
    $("#admin-key").value = storage.get(ADMIN_KEY);
    $("#keys-form").addEventListener("submit", (e) => {
      e.preventDefault();
      storage.set(KEY, $("#api-key").value.trim());
      storage.set(ADMIN_KEY, $("#admin-key").value.trim());
      $("#keys-status").textContent = "Saved in this browser.";
      $("#error").textContent = "";
      loadModels();
      memory.refresh();
    });
    $("#forget-keys").addEventListener("click", () => {
      storage.set(KEY, "");
      storage.set(ADMIN_KEY, "");
      $("#api-key").value = "";
      $("#admin-key").value = "";
      $("#keys-status").textContent = "Keys removed from this browser.";
    });
  }

  // ----- memory browser ----------------------------------------------------------------

  const memory = {
    openId: null,
    lastQuery: null,

    init() {
      $("#mem-refresh").addEventListener("click", () => this.refresh());
      $("#mem-search-form").addEventListener("submit", (e) => {
        e.preventDefault();
        this.search($("#mem-q").value.trim(), parseInt($("#mem-k").value, 10) || 5);
      });
      $("#mem-close").addEventListener("click", () => this.close());
      $("#mem-delete").addEventListener("click", () => {
        $("#mem-delete-confirm").hidden = false;
        $("#mem-delete-confirm").focus();
      });
      $("#mem-delete-confirm").addEventListener("click", () => this.remove(this.openId));
    },

    say(text) {
      $("#mem-status").textContent = text;
    },

    async refresh() {
      const dl = $("#mem-stats");
      try {
        const stats = await (await api("/v1/memory/stats")).json();
        $("#mem-problems").textContent = `${stats.problems} problem${stats.problems === 1 ? "" : "s"}`;
        const rows = [
          ["problems", stats.problems],
          ["verified", stats.verified],
          ["rejected", stats.rejected],
          ["principles", stats.principles],
          ["embedding", stats.embedding_model],
        ];
        dl.replaceChildren(...rows.filter(([, v]) => v !== undefined).flatMap(([k, v]) => [
          el("dt", { text: k }), el("dd", { id: `mem-stat-${k}`, text: String(v) })]));
      } catch (ex) {
        $("#mem-problems").textContent = ex instanceof ApiError && ex.code === "memory_disabled"
          ? "off" : "unknown";
        dl.replaceChildren(el("dd", { class: "error", text: explain(ex) }));
      }
    },

    async search(q, k) {
      if (!q) return;
      this.lastQuery = [q, k];
      const list = $("#mem-results");
      this.say("Searching…");
      try {
        const hits = (await (await api(`/v1/memory/search?q=${encodeURIComponent(q)}&k=${k}`)).json()).data || [];
        list.replaceChildren(...hits.map((h) => el("li", {},
          el("button", {
            type: "button",
            class: "hit",
            onclick: () => this.open(h.id, h),
            "aria-label": `Open record ${h.id}: ${h.question}`,
          },
          el("span", { class: "hit-id", text: `#${h.id}` }),
          el("span", { class: "muted", text: ` ${Number(h.score).toFixed(2)} ` }),
          el("span", { text: h.question }),
          el("span", { class: "hit-answer", text: ` → ${h.answer}` })))));
        this.say(hits.length ? `${hits.length} record(s), most similar first.` : "Nothing similar stored.");
      } catch (ex) {
        list.replaceChildren();
        this.say(explain(ex));
      }
    },

    async open(id, hint) {
      const section = $("#mem-record");
      const body = $("#mem-record-body");
      this.openId = id;
      $("#mem-delete-confirm").hidden = true;
      $("#mem-record-title").textContent = `Record #${id}`;
      section.hidden = false;
      body.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
      try {
        const record = await (await api(`/v1/memory/${encodeURIComponent(id)}`)).json();
        body.replaceChildren(recordView(record));
        this.say("");
      } catch (ex) {
        // A server without GET /v1/memory/{id} answers 405: show what the search or trace knew.
        if (ex instanceof ApiError && (ex.status === 405 || ex.status === 404)) {
          const missing = ex.status === 404
            ? `No record #${id}: it may have been deleted.`
            : "This server cannot show a whole record yet; this is what the search returned.";
          body.replaceChildren(el("p", { class: "muted", text: missing }),
            hint ? recordView(hint) : "");
        } else {
          body.replaceChildren(el("p", { class: "error", text: explain(ex) }));
        }
      }
      section.scrollIntoView({ block: "nearest" });
      $("#mem-record-title").setAttribute("tabindex", "-1");
      $("#mem-record-title").focus();
    },

    close() {
      $("#mem-record").hidden = true;
      this.openId = null;
    },

    async remove(id) {
      if (id === null) return;
      $("#mem-delete-confirm").hidden = true;
      try {
        await api(`/v1/memory/${encodeURIComponent(id)}`, { method: "DELETE", admin: true });
        this.close();
        this.say(`Deleted record #${id}.`);
        this.refresh();
        if (this.lastQuery) this.search(...this.lastQuery).then(() => this.say(`Deleted record #${id}.`));
      } catch (ex) {
        this.say(explain(ex));
      }
    },
  };

  const RECORD_FIELDS = [
    ["question", "Question"],
    ["answer", "Answer"],
    ["score", "Similarity"],
    ["verified", "Verified"],
    ["verified_by", "Verified by"],
    ["ground_truth", "Ground truth"],
    ["principle", "Principle"],
    ["domain", "Domain"],
    ["source", "Source"],
    ["model", "Model"],
    ["use_count", "Uses"],
    ["success_count", "Successes"],
    ["created_at", "Stored"],
  ];
  const RECORD_BLOCKS = [
    ["path", "Path"],
    ["program", "Program"],
    ["program_output", "Program output"],
  ];

  function recordView(r) {
    const box = el("div", { class: "record-view" });
    const dl = el("dl");
    for (const [name, label] of RECORD_FIELDS) {
      let value = r[name];
      if (value === undefined || value === null || value === "") continue;
      if (typeof value === "boolean") value = value ? "yes" : "no";
      if (name === "score") value = Number(value).toFixed(3);
      dl.append(el("dt", { text: label }), el("dd", { text: String(value) }));
    }
    box.append(dl);
    for (const [name, label] of RECORD_BLOCKS) {
      if (!r[name]) continue;
      box.append(el("h4", { text: label }), el("pre", { class: name, text: String(r[name]) }));
    }
    if (Array.isArray(r.principles) && r.principles.length) {
      box.append(el("h4", { text: "Principles" }),
        el("ul", {}, ...r.principles.map((p) => el("li", { text: `#${p.id}: ${p.text}` }))));
    }
    if (r.evidence && typeof r.evidence === "object" && Object.keys(r.evidence).length) {
      const ev = el("dl", { class: "evidence" });
      for (const [k, v] of Object.entries(r.evidence)) {
        const value = describeValue(k, v);
        if (value === undefined) continue;
        ev.append(el("dt", { text: k.replace(/_/g, " ") }), el("dd", { text: value }));
      }
      box.append(el("h4", { text: "Evidence" }), ev);
    }
    return box;
  }

  // ----- start ------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    initKeys();
    chat.init();
    memory.init();
    loadModels();
    memory.refresh();
    document.documentElement.dataset.ready = "true";
  });
})();
