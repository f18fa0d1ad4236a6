// The page's client of the /v1 API: keys, requests, errors in words, and SSE over fetch.
//
//   api(path, options)     fetch with the stored key; a non-2xx answer throws ApiError
//   explain(error)         one sentence for a person (401, 403, 429 + Retry-After, 503...)
//   sseData(response)      the data of each server-sent event, as an async iterator
//
// EventSource cannot POST, so the chat stream is read from fetch's ReadableStream.

export const KEY = "reason.apiKey";
export const ADMIN_KEY = "reason.adminKey";

export const storage = {
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

export class ApiError extends Error {
  constructor(status, message, code, retryAfter) {
    super(message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || null;
    this.retryAfter = retryAfter || null;
  }
}

export class NetworkError extends Error {
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

// An error event inside a stream: OpenAI's error object.
export function streamError(error) {
  return new ApiError(STATUS_OF_CODE[error.code] || 500, error.message, error.code);
}

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

export function explain(ex) {
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

export async function api(path, { method = "GET", body, admin = false, signal, headers = {} } = {}) {
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

function eventData(block) {
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    // ":" lines are keep-alive comments; event:/id:/retry: are not used by this API
  }
  return data.length ? data.join("\n") : null;
}

export async function* sseData(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (ex) {
        if (ex && ex.name === "AbortError") throw ex;
        throw new NetworkError(); // the connection dropped mid-answer
      }
      const { value, done } = chunk;
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
