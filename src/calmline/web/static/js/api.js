// Shared helpers of the web UI: calls to the /v1 API and safe DOM building.
// Everything that came from a customer or an agent is put in the page as text (textContent),
// never as HTML.

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || `request failed (${status})`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

// A JSON request to this site with the sign-in cookie; a problem document becomes an ApiError.
export async function api(method, path, body, { signInOn401 = true } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, "network", "The server did not answer. Check your connection and try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    data = await response.json();
  }
  if (!response.ok) {
    if (response.status === 401 && signInOn401) {
      // The sign-in expired or the key was revoked: back to the sign-in page.
      const here = window.location.pathname + window.location.search;
      window.location.assign("/login?next=" + encodeURIComponent(here));
    }
    const detail = data && data.detail ? data.detail : `The server answered ${response.status}.`;
    throw new ApiError(response.status, data && data.code, detail);
  }
  return data;
}

// el("li", {class: "x", dataset: {a: "1"}}, "text", child) -> an element; strings become text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function $(id) {
  return document.getElementById(id);
}

// The page's data from the server (JSON in main's data-state attribute).
export function pageState() {
  const main = document.getElementById("main");
  try {
    return JSON.parse(main.dataset.state || "{}");
  } catch {
    return {};
  }
}

export function showError(node, err) {
  if (!node) return;
  if (!err) {
    node.hidden = true;
    node.textContent = "";
    return;
  }
  node.textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  node.hidden = false;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

export function eventId(prefix) {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${prefix}-${Date.now().toString(36)}-${random[0].toString(36)}${random[1].toString(36)}`;
}

export function timeOf(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const SEVERITY_WORD = { block: "must fix", warn: "worth changing", info: "note" };

export function severityWord(severity) {
  return SEVERITY_WORD[severity] || severity;
}

// Whether a finding is about the draft as a whole (something missing, such as an apology)
// rather than some of its words: those are listed, not marked.
export function wholeDraft(finding, text) {
  const first = text.search(/\S/);
  const last = text.trimEnd().length;
  return first >= 0 && finding.span[0] <= first && finding.span[1] >= last;
}

// Fill the mirror behind a textarea with the draft, the words of each finding in a <mark>.
// Where findings overlap, the text is cut at every edge so each piece gets its own mark, with
// the worst severity of the findings over it and all their messages in its tooltip.
export function paintMirror(mirror, text, findings) {
  mirror.replaceChildren();
  const order = { info: 0, warn: 1, block: 2 };
  const spans = (findings || []).filter(
    (f) => Array.isArray(f.span) && f.span[1] > f.span[0] && f.span[0] < text.length && !wholeDraft(f, text),
  );
  const edges = new Set([0, text.length]);
  for (const f of spans) {
    edges.add(f.span[0]);
    edges.add(Math.min(f.span[1], text.length));
  }
  const cuts = [...edges].sort((a, b) => a - b);
  for (let i = 0; i < cuts.length - 1; i += 1) {
    const [start, end] = [cuts[i], cuts[i + 1]];
    const piece = text.slice(start, end);
    const over = spans.filter((f) => f.span[0] <= start && f.span[1] >= end);
    if (!over.length || !piece.trim()) {
      mirror.append(document.createTextNode(piece));
      continue;
    }
    const worst = over.reduce((a, f) => (order[f.severity] > order[a] ? f.severity : a), "info");
    const tips = over.map((f) => `${f.principle}: ${f.message}`).join("\n");
    mirror.append(el("mark", { class: `sev-${worst}`, title: tips }, piece));
  }
  // A trailing newline needs a character after it, or the mirror is a line short.
  mirror.append(document.createTextNode("\u200b"));
}

// A finding in a list: principle id, severity, the words, why, and its rewrite button.
export function findingItem(finding, onRewrite) {
  const item = el(
    "li",
    { class: `finding sev-${finding.severity}` },
    el("span", { class: "principle", title: "Playbook principle" }, finding.principle),
    el("span", { class: `sev sev-${finding.severity}` }, severityWord(finding.severity)),
    finding.text ? el("q", { class: "finding-text" }, finding.text) : null,
    el("span", { class: "finding-message" }, finding.message),
  );
  if (finding.rewrite !== null && finding.rewrite !== undefined && onRewrite) {
    const label = finding.rewrite ? "Use rewrite" : "Remove it";
    const button = el("button", { type: "button", class: "button small rewrite", title: finding.rewrite ? `Replace with: ${finding.rewrite}` : "Remove these words" }, label);
    button.addEventListener("click", () => onRewrite(finding));
    item.append(el("div", { class: "rewrite-row" }, finding.rewrite ? el("span", { class: "rewrite-text" }, "→ ", finding.rewrite) : null, button));
  }
  return item;
}

// The draft with one finding's rewrite applied (rewrite_span, else its span), spaced the way
// the engine's own "fixed" draft is: an insertion gets a space on each side where needed.
export function applyRewrite(draft, finding) {
  const span = finding.rewrite_span || finding.span;
  if (!span) return draft;
  let [start, end] = span;
  start = Math.max(0, Math.min(start, draft.length));
  end = Math.max(start, Math.min(end, draft.length));
  let before = draft.slice(0, start);
  let after = draft.slice(end);
  const text = finding.rewrite || "";
  if (start === end) {
    const gapBefore = before && !/[ \n]$/.test(before) ? " " : "";
    const gapAfter = after && !/^[ \n]/.test(after) ? " " : "";
    return (before + gapBefore + text + gapAfter + after).trim();
  }
  if (!text) {
    before = before.replace(/\s+$/, "");
    after = after.replace(/^\s+/, before ? " " : "");
  }
  return (before + text + after).trim();
}
