// Pieces of a run's view, built from plain data (an x_event or a part of x_trace):
// a path row, a path's detail, the vote bars, the verification rows, the feedback sentence.

import { recordLink } from "./memory.js";
import { $, describeValue, el, isNone, pct, shown, words } from "./util.js";

// One path: its kind (prose / program), answer, tokens, a program's output or error.
// From a "path" event (completion_tokens, program_output, program_error) or a trace path
// (tokens, stdout, error, program, text).
export function pathItem(p, withDetail = false) {
  const kind = p.kind || "prose";
  const tokens = p.completion_tokens ?? p.tokens;
  const li = el("li", { class: isNone(p.answer) ? "path abstain" : "path" },
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

// A trace path in full: facts, the worked example it was shown, its text or program.
export function pathDetail(p) {
  const box = el("div", { class: "path-detail" });
  const facts = [`path ${p.index}`, p.kind || "prose", `answer ${shown(p.answer)}`];
  if (!isNone(p.tokens)) facts.push(`${p.tokens} tokens`);
  if (!isNone(p.confidence)) facts.push(`confidence ${Number(p.confidence).toFixed(2)}`);
  if (!isNone(p.seed)) facts.push(`seed ${p.seed}`);
  if (p.finish) facts.push(`finish ${p.finish}`);
  box.append(el("p", { class: "muted", text: facts.join(" · ") }));
  if (p.analog) box.append(el("p", {}, "Shown the worked example ", recordLink(p.analog), "."));
  if (p.text) box.append(el("pre", { class: "path-text", text: p.text }));
  if (p.program) box.append(el("pre", { class: "program", text: p.program }));
  if (p.stdout) box.append(el("pre", { class: "out", text: `printed: ${p.stdout}` }));
  if (p.error) box.append(el("pre", { class: "out err", text: `error: ${p.error}` }));
  if (p.copied && p.copied.length) {
    box.append(el("p", { class: "muted", text: `numbers copied from the example: ${p.copied.join(", ")}` }));
  }
  if (!p.text && !p.program) {
    box.append(el("p", { class: "muted", text: "This server's trace does not carry the path's text." }));
  }
  return box;
}

// Bars per distinct answer, longest first. The same <li> per answer is kept between calls,
// so a bar's width grows (CSS transition) as paths arrive.
export function renderBars(list, counts, winner) {
  const values = Array.from(counts.values(), Number);
  const total = values.reduce((a, b) => a + b, 0);
  const top = Math.max(1, ...values);
  const seen = new Set();
  const sorted = Array.from(counts.entries()).sort((a, b) => Number(b[1]) - Number(a[1]));
  for (const [answer, count] of sorted) {
    seen.add(answer);
    let li = Array.from(list.children).find((c) => c.dataset.answer === answer);
    if (!li) {
      li = el("li", { class: "bar-row" },
        el("span", { class: "bar-label" }),
        el("span", { class: "bar-track", "aria-hidden": "true" }, el("span", { class: "bar" })),
        el("span", { class: "bar-count" }));
      li.dataset.answer = answer;
    }
    list.append(li); // (re)appended in sorted order
    const n = Number(count);
    const votes = Number.isInteger(n) ? `${n} vote${n === 1 ? "" : "s"}` : `weight ${n.toFixed(2)}`;
    $(".bar-label", li).textContent = answer;
    $(".bar-count", li).textContent = `${votes} (${pct(total ? n / total : 0)})`;
    $(".bar", li).style.width = `${(100 * n) / top}%`;
    li.classList.toggle("winner", !isNone(winner) && answer === winner);
  }
  for (const li of Array.from(list.children)) if (!seen.has(li.dataset.answer)) li.remove();
}

const KNOWN_EVIDENCE = new Set(["type", "verified", "vote_share", "agreeing_paths",
  "total_paths", "abstentions", "confidence", "independent_agreement", "reason",
  "winning_path"]);

// The verification evidence (a "verified" event, or the trace's "verification") as rows.
export function verificationRows(ev) {
  const rows = [
    ["verified", describeValue("verified", ev.verified)],
    ["vote share", isNone(ev.vote_share) ? undefined : pct(ev.vote_share)],
    ["agreeing paths", isNone(ev.agreeing_paths) ? undefined
      : `${ev.agreeing_paths} of ${ev.total_paths}`],
    ["abstentions", ev.abstentions],
    ["confidence", isNone(ev.confidence) ? undefined : Number(ev.confidence).toFixed(2)],
    ["independent agreement", describeValue("", ev.independent_agreement)],
    ["reason", ev.reason],
  ];
  for (const [name, value] of Object.entries(ev)) {
    if (!KNOWN_EVIDENCE.has(name)) rows.push([words(name), describeValue(name, value)]);
  }
  return rows
    .filter(([, value]) => !isNone(value) && value !== "")
    .flatMap(([name, value]) => [el("dt", { text: name }), el("dd", { text: String(value) })]);
}

// The recalled records a "wrong" retired, as links.
function retiredWords(result) {
  const ids = result.retired || [];
  if (!ids.length) return [];
  return [" Recalled record(s) that led to it are no longer recalled: ",
          ...ids.flatMap((id, i) => (i ? [", ", recordLink(id)] : [recordLink(id)])), "."];
}

// What memory did with a piece of feedback (POST /v1/feedback's answer), in words.
export function feedbackWords(result, correct) {
  const id = result.memory_id;
  const link = isNone(id) ? null : recordLink(id);
  switch (result.action) {
    case "stored":
      return ["Thanks: memory stored this answer as record ", link, "."];
    case "merged":
      return ["Thanks: memory merged this answer into record ", link, "."];
    case "confirmed":
      return ["Thanks: memory confirmed record ", link, "."];
    case "rejected":
      return ["Thanks: memory marked record ", link, " as wrong; it is no longer recalled.",
              ...retiredWords(result)];
    case "corrected":
      return ["Thanks: a program the service wrote prints your answer; memory stored it as record ",
              link, ".", ...retiredWords(result)];
    case "stored_as_given":
      return ["Thanks: no program printed your answer, but this service trusts reviewers: stored as record ",
              link, ".", ...retiredWords(result)];
    case "not_stored":
      return [`Thanks: ${result.detail}`, ...retiredWords(result)];
    case "noted":
      return [correct
        ? "Thanks: noted. Memory did not store it (its policy wants more evidence)."
        : "Thanks: noted. Nothing was stored for this answer, so there is nothing to remove.",
              ...retiredWords(result)];
    default:
      return link ? [`Memory: ${result.action} (record `, link, ")."] : [`Memory: ${result.action}.`];
  }
}
