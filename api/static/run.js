// One question in the thread and its live trace.
//
// A Run is fed the stream's chunks (onChunk). With x_event (the graph's structured events)
// the live view is built from them: steps with their seconds, the principle, recalled
// records, paths in arrival order, vote bars growing per distinct answer, early stopping,
// verification, what memory did. Without x_event, the reasoning_content lines are shown and
// read for the principle and the paths' answers. Either way the last chunk's x_trace fills
// in everything, then the answer, the winning path and the feedback buttons appear.

import { api, explain } from "./api.js";
import { memory, recordLink } from "./memory.js";
import { $, canon, el, isNone, pct, secs, shown } from "./util.js";
import { feedbackWords, pathDetail, pathItem, renderBars, verificationRows } from "./views.js";

// Trace timings that are not graph steps: time spent in the model, embedding + search, sandbox.
const EXTERNAL = ["model", "embed_search", "sandbox"];

export class Run {
  constructor(question, node) {
    this.node = node;
    this.started = performance.now();
    this.structured = false; // x_event seen: the live view comes from events, not lines
    this.arrival = []; // path indexes in arrival order
    this.tally = new Map(); // answer -> paths so far (live, before the vote)
    this.abstained = 0;
    this.steps = new Map(); // node name -> <li>
    this.content = "";
    this.trace = null;
    this.answerId = null;
    this.finished = false;
    this.part(".question").textContent = question;
    this.part(".fb-correct").addEventListener("click", () => this.feedback(true));
    this.part(".fb-wrong").addEventListener("click", () => this.feedback(false));
    this.part(".fb-truth").addEventListener("submit", (e) => {
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

  // The run ended without an answer (or was stopped): say why; nothing keeps spinning.
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
      this.rationale = chunk.x_rationale || null;  // the winning path's text
      this.finish();
    }
  }

  // reasoning_content: one human line per event, kept in a log (what any OpenAI client
  // reads). Without x_event, also read for the principle and the paths' answers.
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
        this.setTally(paths[3].split(", ").map((a) => (a === "-" ? null : a)));
        this.showProgress(paths[1], paths[2]);
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
        if (!this.arrival.length) this.setTally(ev.answers || []); // a server without "path"
        this.showProgress(ev.done, ev.of);
        break;
      case "sampled":
        if (ev.stopped_early) this.showStop(ev.paths, ev.reason);
        break;
      case "vote":
        this.showVote(ev.votes || {}, ev.answer, ev.share, ev.paths);
        break;
      case "verified":
        $("dl", this.reveal(".verification")).replaceChildren(...verificationRows(ev));
        break;
      case "memory":
        this.showMemory(ev);
        break;
      default:
        break; // an event this page does not know yet
    }
  }

  stepStart(name) {
    const li = el("li", { class: "running" }, el("span", { class: "step-name", text: name }),
      el("span", { class: "step-time" }));
    this.part(".steps").append(li);
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
    const score = (hit) => (isNone(hit.score) ? "" : ` (similarity ${Number(hit.score).toFixed(2)})`);
    list.replaceChildren(
      ...analogs.map((hit) => el("li", {}, "Solved problem ", recordLink(hit.id, hit), score(hit),
        hit.question ? el("span", { class: "muted", text: `: ${hit.question}` }) : null)),
      ...principles.map((hit) => el("li", {}, `Principle #${hit.id}${score(hit)}: `,
        el("span", { class: "muted", text: hit.text || "" }))),
    );
  }

  showProgress(done, of) {
    this.reveal(".paths-box");
    this.part(".paths-count").textContent = `${done} of ${of}`;
    this.status(`Sampling: ${done} of ${of} paths done…`, true);
  }

  // One finished path (x_event "path"), in arrival order; its answer joins the live tally.
  addPath(p) {
    this.reveal(".paths-box");
    this.arrival.push(p.index);
    this.part(".paths").append(pathItem(p));
    if (isNone(p.answer)) this.abstained += 1;
    else this.tally.set(p.answer, (this.tally.get(p.answer) || 0) + 1);
    this.showTally();
  }

  setTally(answers) {
    this.tally = new Map();
    this.abstained = 0;
    for (const a of answers) {
      if (isNone(a)) this.abstained += 1;
      else this.tally.set(a, (this.tally.get(a) || 0) + 1);
    }
    this.showTally();
  }

  showTally() {
    const box = this.reveal(".vote");
    box.dataset.phase = "live";
    renderBars($(".bars", box), this.tally, null);
    const abstained = this.abstained ? ` ${this.abstained} path(s) gave no answer.` : "";
    this.part(".vote-note").textContent = `Votes so far.${abstained}`;
  }

  showVote(votes, winner, share, paths) {
    const box = this.reveal(".vote");
    box.dataset.phase = "final";
    renderBars($(".bars", box), new Map(Object.entries(votes)), winner);
    this.part(".vote-note").textContent =
      `${shown(winner)} wins with ${pct(share)} of ${paths} voting path(s).`;
  }

  showStop(paths, reason) {
    this.part(".stop-note").textContent =
      `Stopped early after ${paths} path(s)${reason ? `: ${reason}` : ""}.`;
  }

  showMemory(ev) {
    const p = $("p", this.reveal(".memory-outcome"));
    if (ev.stored && !isNone(ev.id)) {
      p.replaceChildren(`Stored (${ev.action || "added"}) as record `, recordLink(ev.id), ".");
    } else if (ev.stored === false) {
      p.replaceChildren(`Not stored${ev.reason ? `: ${ev.reason}` : "."}`);
    } else if (ev.reason) {
      p.replaceChildren(String(ev.reason));
    }
    this.part(".memory-outcome").hidden = !p.textContent;
  }

  // The last chunk: the answer and the whole trace, so a server without x_event still gets
  // the full picture here, and paths get their text or program.
  finish() {
    this.finished = true;
    const t = this.trace || {};
    for (const li of this.steps.values()) li.classList.remove("running");
    if (t.principle) this.showPrinciple(t.principle);
    if (t.retrieved) this.showRecalled(t.retrieved.analogs || [], t.retrieved.principles || []);
    this.showTracePaths(t.paths || []);
    if (t.vote) this.showVote(t.vote.votes || {}, t.vote.answer, t.vote.share, t.vote.paths);
    const sampling = t.sampling || {};
    if (sampling.stopped_early) this.showStop((t.paths || []).length, sampling.stop);
    if (t.verification && Object.keys(t.verification).length) {
      $("dl", this.reveal(".verification")).replaceChildren(...verificationRows(t.verification));
    }
    if (t.memory && Object.keys(t.memory).length) this.showMemory(t.memory);
    if (!this.structured) {
      for (const [name, s] of Object.entries(t.timings || {})) {
        if (EXTERNAL.includes(name)) continue;
        this.stepStart(name);
        this.stepEnd(name, s);
      }
    }
    this.showAnswer(t);
    this.part(".feedback").hidden = !this.answerId;
    this.status(`Answered in ${secs((performance.now() - this.started) / 1000)}.`, false);
  }

  showAnswer(t) {
    this.reveal(".answer-box");
    const answer = this.part(".answer");
    answer.textContent = this.content || shown(t.vote && t.vote.answer);
    const verified = t.verification && t.verification.verified;
    answer.classList.toggle("verified", Boolean(verified));
    if (!isNone(verified)) {
      answer.append(el("span", { class: "badge", text: verified ? "verified" : "not verified" }));
    }
    const body = this.part(".winning-body");
    const paths = t.paths || [];
    const v = t.verification || {};
    let best = paths.find((p) => !isNone(v.winning_path) && p.index === v.winning_path);
    if (!best && t.vote) best = paths.find((p) => p.answer === t.vote.answer);
    // The trace keeps each path's facts; the winning path's text comes as x_rationale.
    if (best && !best.text && this.rationale && best.kind !== "program") {
      best = { ...best, text: this.rationale };
    }
    body.replaceChildren(best ? pathDetail(best) : el("p", { text: "No path reached the answer." }));

    const usage = t.usage || {};
    const costs = [];
    if (!isNone(t.seconds)) costs.push(`${secs(t.seconds)} in all`);
    if (!isNone(usage.completion_tokens)) {
      costs.push(`${usage.prompt_tokens || 0} prompt + ${usage.completion_tokens} completion tokens`);
    }
    for (const k of EXTERNAL) {
      if ((t.timings || {})[k]) costs.push(`${k.replace("_", " + ")} ${secs(t.timings[k])}`);
    }
    if (!isNone(t.overhead_share)) costs.push(`graph overhead ${pct(t.overhead_share)}`);
    if (t.config) costs.push(`configuration ${t.config}`);
    this.part(".costs").textContent = costs.join(" · ");
  }

  // The trace's paths, with their text or program; arrival order when the events gave it.
  showTracePaths(paths) {
    if (!paths.length) return;
    this.reveal(".paths-box");
    const byIndex = new Map(paths.map((p) => [p.index, p]));
    const order = this.arrival.filter((i) => byIndex.has(i));
    for (const p of paths) if (!order.includes(p.index)) order.push(p.index);
    this.part(".paths").replaceChildren(...order.map((i) => pathItem(byIndex.get(i), true)));
    this.part(".paths-count").textContent = `${paths.length}`;
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
      status.replaceChildren(...feedbackWords(await response.json(), correct));
      memory.refresh();
    } catch (ex) {
      status.textContent = explain(ex);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  }
}
