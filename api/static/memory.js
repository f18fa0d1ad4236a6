// The memory browser: stats, search, one record, delete (admin key).
//
//   GET /v1/memory/stats, GET /v1/memory/search?q=&k=, GET /v1/memory/{id},
//   DELETE /v1/memory/{id}
// recordLink(id) is the "#12" button the trace and the feedback use to open a record here.

import { ApiError, api, explain } from "./api.js";
import { $, describeValue, el, isNone, words } from "./util.js";

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
    if (isNone(value) || value === "") continue;
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
      ev.append(el("dt", { text: words(k) }), el("dd", { text: value }));
    }
    box.append(el("h4", { text: "Evidence" }), ev);
  }
  return box;
}

export const memory = {
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
      const off = ex instanceof ApiError && ex.code === "memory_disabled";
      $("#mem-problems").textContent = off ? "off" : "unknown";
      dl.replaceChildren(el("dd", { class: "error", text: explain(ex) }));
    }
  },

  async search(q, k) {
    if (!q) return;
    this.lastQuery = [q, k];
    const list = $("#mem-results");
    this.say("Searching…");
    try {
      const url = `/v1/memory/search?q=${encodeURIComponent(q)}&k=${k}`;
      const hits = (await (await api(url)).json()).data || [];
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

  // ``hint``: what the caller already knows (a search hit, a recalled analog), shown when the
  // server cannot return the record (405 from a server without GET /v1/memory/{id}, or 404).
  async open(id, hint) {
    const section = $("#mem-record");
    const body = $("#mem-record-body");
    const title = $("#mem-record-title");
    this.openId = id;
    $("#mem-delete-confirm").hidden = true;
    title.textContent = `Record #${id}`;
    section.hidden = false;
    body.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
    try {
      const record = await (await api(`/v1/memory/${encodeURIComponent(id)}`)).json();
      body.replaceChildren(recordView(record));
      this.say("");
    } catch (ex) {
      if (ex instanceof ApiError && (ex.status === 405 || ex.status === 404)) {
        const missing = ex.status === 404
          ? `No record #${id}: it may have been deleted.`
          : "This server cannot show a whole record; this is what the page knows of it.";
        body.replaceChildren(el("p", { class: "muted", text: missing }), hint ? recordView(hint) : "");
      } else {
        body.replaceChildren(el("p", { class: "error", text: explain(ex) }));
      }
    }
    section.scrollIntoView({ block: "nearest" });
    title.setAttribute("tabindex", "-1");
    title.focus();
  },

  close() {
    $("#mem-record").hidden = true;
    this.openId = null;
  },

  async remove(id) {
    if (isNone(id)) return;
    $("#mem-delete-confirm").hidden = true;
    try {
      await api(`/v1/memory/${encodeURIComponent(id)}`, { method: "DELETE", admin: true });
      this.close();
      this.refresh();
      if (this.lastQuery) await this.search(...this.lastQuery);
      this.say(`Deleted record #${id}.`);
    } catch (ex) {
      this.say(explain(ex));
    }
  },
};

export function recordLink(id, hint) {
  return el("button", {
    type: "button",
    class: "link",
    text: `#${id}`,
    "aria-label": `Open memory record ${id}`,
    onclick: () => memory.open(id, hint),
  });
}
