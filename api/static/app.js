// The web page of reason: ask, watch the reasoning happen, correct it, browse memory.
//
// Plain JavaScript modules, no build step, no library, nothing from another origin. The page
// is a client of the /v1 API like any other:
//   app.js     the conversation (ask, stream, stop, new thread), configurations, keys
//   run.js     one question's live trace and answer; views.js its pieces
//   memory.js  the memory browser;  api.js  requests, errors in words, SSE over fetch
//   util.js    DOM and formatting helpers

import { ADMIN_KEY, ApiError, KEY, api, explain, sseData, storage, streamError } from "./api.js";
import { memory } from "./memory.js";
import { Run } from "./run.js";
import { $, el, randomId } from "./util.js";

const MODEL = "reason.model";
const DEFAULT_MODEL = "reason-full";

const chat = {
  // Follow-ups in one thread share this id (X-Thread-Id): the server keeps the conversation.
  threadId: randomId("web-"),
  current: null, // {controller, run} of the question in flight

  init() {
    $("#ask-form").addEventListener("submit", (e) => {
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
      this.threadId = randomId("web-");
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
        if (chunk.error) throw streamError(chunk.error);
        run.onChunk(chunk);
      }
      if (!run.finished) {
        throw new Error(done ? "the stream ended without an answer."
          : "the connection closed before the answer arrived.");
      }
    } catch (ex) {
      run.fail(ex && ex.name === "AbortError" ? "Stopped: the run was cancelled." : explain(ex));
      if (ex instanceof ApiError && ex.status === 401) $("#settings").open = true;
    } finally {
      this.current = null;
      this.busy(false);
      memory.refresh();
      box.focus();
    }
  },
};

async function loadModels() {
  const select = $("#model");
  const wanted = storage.get(MODEL) || select.value || DEFAULT_MODEL;
  try {
    const response = await api("/v1/models");
    const ids = ((await response.json()).data || []).map((m) => m.id);
    if (!ids.length) return;
    select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
    const fallback = ids.includes(DEFAULT_MODEL) ? DEFAULT_MODEL : ids[0];
    select.value = ids.includes(wanted) ? wanted : fallback;
    return true;
  } catch (ex) {
    $("#error").textContent = `Could not list the configurations. ${explain(ex)}`;
    if (ex instanceof ApiError && ex.status === 401) $("#settings").open = true;
    return false;
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
    memory.refresh();
    // A key that works closes the settings again; a refused one keeps them open with the 401.
    loadModels().then((ok) => {
      if (ok) $("#settings").open = false;
    });
  });
  $("#forget-keys").addEventListener("click", () => {
    storage.set(KEY, "");
    storage.set(ADMIN_KEY, "");
    $("#api-key").value = "";
    $("#admin-key").value = "";
    $("#keys-status").textContent = "Keys removed from this browser.";
  });
}

// Module scripts run after the document is parsed.
initKeys();
chat.init();
memory.init();
loadModels();
memory.refresh();
document.documentElement.dataset.ready = "true";
