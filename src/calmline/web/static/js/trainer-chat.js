// /trainer/{sid}: the roleplay. Customer lines come from the simulator behind
// POST /v1/training/sessions/{sid}/replies; the draft is checked as it is typed (POST /v1/check).
import { api, el, $, pageState, showError, debounce, paintMirror, findingItem, applyRewrite } from "./api.js";

const state = pageState();
const sid = state.id;
const base = `/v1/training/sessions/${encodeURIComponent(sid)}`;
const draft = $("draft");
const mirror = $("draft-mirror");
let turns = [];
let replies = 0;
let checkSeq = 0;

function roleOf(turn) {
  return turn.role === "customer" ? "customer" : "agent";
}

function render(allTurns) {
  turns = allTurns || [];
  replies = turns.filter((t) => roleOf(t) === "agent").length;
  const list = $("transcript");
  list.replaceChildren(
    ...turns.map((t) =>
      el(
        "li",
        { class: `msg ${roleOf(t)}` },
        el("div", { class: "msg-meta" }, el("span", { class: "msg-who" }, roleOf(t) === "customer" ? "Customer" : "You")),
        el("p", { class: "msg-text" }, t.text),
      ),
    ),
  );
  const lastItem = list.lastElementChild;
  if (lastItem) lastItem.scrollIntoView({ block: "nearest" });
}

function outcomeText(outcome) {
  const words = {
    resolved: "The customer accepted the way forward.",
    leaves_angry: "The customer left still angry.",
    ended_properly: "You ended it through the boundary protocol (D1–D5).",
    ended_improperly: "The conversation was ended before the warnings were complete.",
    turn_limit: "The conversation ran out of turns.",
  };
  return outcome ? words[outcome] || `Outcome: ${String(outcome).replaceAll("_", " ")}.` : "";
}

function finish(outcome) {
  $("done").hidden = false;
  $("done-outcome").textContent = outcomeText(outcome);
  $("composer").hidden = true;
  $("debrief-link").focus();
}

function showBriefing(briefing) {
  if (!briefing) return;
  const rows = [
    ["Customer", briefing.customer],
    ["Who they are", briefing.description],
    ["Company", briefing.company],
    ["What happened", briefing.what_happened],
    ["Policy", briefing.policy],
    ["You can offer", (briefing.can_offer || []).join("; ")],
  ].filter(([, v]) => v);
  $("briefing").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("briefing-panel").hidden = rows.length === 0;
}

function apply(session) {
  if (session.title) $("scenario-title").textContent = session.title;
  showBriefing(session.briefing);
  if (Array.isArray(session.turns)) render(session.turns);
  if (typeof session.replies === "number") replies = session.replies;
  if (session.done) finish(session.outcome);
}

const check = debounce(async (seq, text) => {
  try {
    const context = turns.slice(-40).map((t) => ({ role: roleOf(t), text: t.text }));
    const result = await api("POST", "/v1/check", { draft: text, context });
    if (seq !== checkSeq || text !== draft.value) return;
    paintMirror(mirror, text, result.findings);
    $("findings").replaceChildren(...result.findings.map((f) => findingItem(f, (finding) => setDraft(applyRewrite(draft.value, finding)))));
    const n = result.findings.length;
    $("findings-summary").textContent = n ? `${n} finding${n === 1 ? "" : "s"}: ${[...new Set(result.findings.map((f) => f.principle))].join(", ")}.` : "No findings: this reply follows the playbook.";
  } catch {
    // checking is a help, not a must: the reply can still be sent
  }
}, 300);

function onInput() {
  checkSeq += 1;
  const text = draft.value;
  paintMirror(mirror, text, []);
  if (!text.trim()) {
    check.cancel();
    $("findings").replaceChildren();
    $("findings-summary").textContent = "";
    return;
  }
  check(checkSeq, text);
}

function setDraft(text) {
  draft.value = text;
  draft.focus();
  onInput();
}

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = draft.value;
  if (!text.trim()) return;
  const button = $("send");
  button.disabled = true;
  showError($("chat-error"), null);
  try {
    const answer = await api("POST", `${base}/replies`, { text, turn: replies });
    draft.value = "";
    onInput();
    if (Array.isArray(answer.turns)) {
      render(answer.turns);
      if (typeof answer.replies === "number") replies = answer.replies;
    } else {
      const more = [...turns, { role: "trainee", text }];
      replies += 1;
      if (answer.customer && answer.customer.text) more.push({ role: "customer", text: answer.customer.text });
      render(more);
    }
      if (answer.done) finish(answer.outcome);
  } catch (err) {
    showError($("chat-error"), err);
    if (err.code === "practice_conflict") load();
  } finally {
    button.disabled = false;
    if (!$("composer").hidden) draft.focus();
  }
});

draft.addEventListener("input", onInput);
draft.addEventListener("scroll", () => {
  mirror.scrollTop = draft.scrollTop;
});
draft.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});

async function load() {
  try {
    apply(await api("GET", base));
  } catch (err) {
    showError($("chat-error"), err);
  }
}

paintMirror(mirror, "", []);
load();
