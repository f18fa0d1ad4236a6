// Small DOM and formatting helpers shared by the page's modules.
//
// Every text that comes from the server or the model goes in through textContent (el's
// "text" or a string child), never as HTML: model output is untrusted.

export const $ = (selector, root = document) => root.querySelector(selector);

// el("li", {class: "x", text: "..."}, child, "string child", ...)
export function el(tag, attrs = {}, ...children) {
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

export function randomId(prefix) {
  // crypto.getRandomValues works on plain http too (randomUUID needs a secure context).
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const isNone = (value) => value === null || value === undefined;
export const pct = (share) => `${Math.round((Number(share) || 0) * 100)}%`;
export const secs = (s) => (isNone(s) ? "" : `${Number(s).toFixed(2)} s`);
export const shown = (answer) => (isNone(answer) ? "no answer" : String(answer));
export const canon = (s) => String(s ?? "").trim().toLowerCase().replace(/\s+/g, " ");
export const words = (name) => name.replace(/_/g, " ");

// An evidence value in words: arithmetic checks as "k of n hold", flat objects as
// "key: value" pairs, anything deeper as JSON; undefined for nothing worth a row.
export function describeValue(name, value) {
  if (isNone(value)) return undefined;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value !== "object") return String(value);
  if (name === "checks" && "total" in value) {
    if (!value.total) return "no arithmetic claims to check";
    const failed = (value.failed || []).length ? `; wrong: ${value.failed.join(", ")}` : "";
    return `${value.passed} of ${value.total} arithmetic claim(s) hold${failed}`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return undefined;
  if (!Array.isArray(value) && entries.every(([, v]) => isNone(v) || typeof v !== "object")) {
    return entries.map(([k, v]) => `${words(k)}: ${v}`).join(" · ");
  }
  return JSON.stringify(value);
}
