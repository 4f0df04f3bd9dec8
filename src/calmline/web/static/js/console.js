// The agent console (/agent/{cid}): the conversation, the draft checked as it is typed, the
// boundary protocol's stepper, the pause after hostile messages and the demand check.
//
// Drafts go over the WebSocket /v1/conversations/{cid}/live (the server waits for the agent to
// stop typing and checks only the newest); when the socket is not available they go to
// POST /v1/check after a short pause instead. Messages are stored with
// POST /v1/conversations/{cid}/events.
import {
  api, el, $, pageState, showError, debounce, eventId, timeOf, paintMirror, findingItem, applyRewrite,
} from "./api.js";

const STAGES = ["none", "made_aware", "asked_to_stop", "warned", "warned_again", "invited_back", "ended"];
const STAGE_TEXT = {
  none: "Normal conversation.",
  made_aware: "You have made the customer aware of their behaviour (D1).",
  asked_to_stop: "You have asked the customer to stop (D2).",
  warned: "You have warned the customer once (D3).",
  warned_again: "You have repeated the warning (D4).",
  invited_back: "You have invited the customer back (D5); you may end the conversation.",
  ended: "The conversation has ended.",
};

const initial = pageState();
const conversation = initial.conversation || {};
const cid = conversation.id;
const known = new Set(); // event ids already in the transcript
const turns = []; // {role, text} for the /v1/check fallback's context
let closed = Boolean(conversation.closed_at);
let latestCheck = null;
let checkSeq = 0;
let socket = null;
let socketReady = false;
let reconnects = 0;
let pauseTimer = null;
let checkFailedFor = null; // the text whose check failed, if any

const draft = $("draft");
const mirror = $("draft-mirror");
const sendButton = $("send");
const fixAllButton = $("use-all-fixes");
const liveStatus = $("live-status");

// ----- transcript ----------------------------------------------------------------------------

function signalChips(guidance) {
  const analysis = guidance && guidance.analysis;
  if (!analysis || !analysis.signals || !analysis.signals.length) return null;
  const seen = new Set();
  const chips = el("ul", { class: "chips", "aria-label": "What the coach read in this message" });
  for (const signal of analysis.signals) {
    const label = `${signal.type} · ${signal.principle}`;
    if (seen.has(label)) continue;
    seen.add(label);
    chips.append(el("li", { class: "chip", title: signal.explanation || "" }, label));
  }
  return chips;
}

function addMessage(event, guidance) {
  if (!event || known.has(event.id)) return;
  known.add(event.id);
  const list = $("transcript");
  $("transcript-empty").hidden = true;
  if (event.kind === "conversation_end") {
    list.append(el("li", { class: "msg system" }, "The conversation ended", event.at ? ` at ${timeOf(event.at)}` : "", "."));
    return;
  }
  if (event.kind !== "customer_message" && event.kind !== "agent_message") return;
  const customer = event.kind === "customer_message";
  turns.push({ role: customer ? "customer" : "agent", text: event.text });
  const author = event.author || initial.me;
  const who = customer ? conversation.customer_name || "Customer" : author === initial.me ? "You" : author || "Agent";
  const item = el(
    "li",
    { class: `msg ${customer ? "customer" : "agent"}`, dataset: { eventId: event.id } },
    el("div", { class: "msg-meta" }, el("span", { class: "msg-who" }, who), el("time", { datetime: event.at || "" }, timeOf(event.at))),
    el("p", { class: "msg-text" }, event.text),
  );
  if (customer) {
    const chips = signalChips(guidance);
    if (chips) item.append(chips);
  } else if (guidance && guidance.findings && guidance.findings.length) {
    const ids = [...new Set(guidance.findings.map((f) => f.principle))].join(", ");
    item.append(el("p", { class: "msg-flag" }, `Sent with findings: ${ids}`));
  }
  list.append(item);
  item.scrollIntoView({ block: "nearest" });
}

// ----- guidance ------------------------------------------------------------------------------

function showStage(stage) {
  const index = STAGES.indexOf(stage);
  for (const step of $("stepper").children) {
    const at = STAGES.indexOf(step.dataset.stage);
    step.classList.toggle("done", index >= at && index > 0);
    const current = step.dataset.stage === stage;
    step.classList.toggle("current", current);
    if (current) step.setAttribute("aria-current", "step");
    else step.removeAttribute("aria-current");
  }
  $("protocol-stage").textContent = STAGE_TEXT[stage] || stage;
}

function showState(state) {
  const badge = $("conversation-state");
  badge.textContent = state;
  badge.dataset.state = state;
}

function showNextStep(next) {
  const panel = $("next-step");
  if (!next || !next.wording) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $("next-principle").textContent = next.principle || "";
  $("next-wording").textContent = next.wording;
  $("next-why").textContent = next.why || "";
}

function showNotes(guidance) {
  const notes = [...(guidance.notes || [])];
  for (const advice of guidance.pacing || []) {
    if (!advice.hold_seconds) notes.push(`${advice.principle}: ${advice.message}`);
  }
  if (guidance.notify_manager) notes.push("D7: your line manager has been told about this conversation.");
  const list = $("notes");
  list.replaceChildren(...notes.map((n) => el("li", {}, n)));
  $("notes-panel").hidden = notes.length === 0;
}

function startPause(advice, since) {
  clearInterval(pauseTimer);
  const box = $("pause");
  const seconds = advice.hold_seconds;
  const began = since ? new Date(since).getTime() : Date.now();
  const endsAt = began + seconds * 1000;
  if (!(seconds > 0) || endsAt <= Date.now()) {
    box.hidden = true;
    return;
  }
  $("pause-message").textContent = advice.message;
  box.hidden = false;
  box.classList.remove("over");
  const tick = () => {
    const left = Math.max(0, endsAt - Date.now());
    $("pause-count").textContent = left > 0 ? `${Math.ceil(left / 1000)} s` : "Ready when you are.";
    $("pause-fill").style.width = `${100 - (left / (seconds * 1000)) * 100}%`;
    if (left <= 0) {
      clearInterval(pauseTimer);
      box.classList.add("over");
    }
  };
  tick();
  pauseTimer = setInterval(tick, 250);
}

function applyGuidance(guidance, event) {
  if (!guidance) return;
  if (guidance.event_kind === "agent_draft") return;
  showState(guidance.state);
  showStage(guidance.protocol_stage);
  showNextStep(guidance.next_step);
  showNotes(guidance);
  if (guidance.history) {
    $("history").hidden = false;
    $("history-text").textContent = guidance.history;
  }
  const hold = (guidance.pacing || []).find((p) => p.hold_seconds);
  if (hold && guidance.event_kind === "customer_message") startPause(hold, event && event.at);
  else if (guidance.event_kind === "agent_message") $("pause").hidden = true;
  if (guidance.protocol_stage === "ended" || guidance.event_kind === "conversation_end") setClosed();
}

function setClosed() {
  closed = true;
  for (const id of ["draft", "send", "use-all-fixes", "add-customer", "customer-text", "end-conversation"]) {
    $(id).disabled = true;
  }
  $("protocol-stage").textContent = STAGE_TEXT.ended;
  liveStatus.textContent = "ended";
}

// ----- the draft -----------------------------------------------------------------------------

function showCheck(result) {
  latestCheck = result;
  if (result && checkFailedFor !== null) {
    checkFailedFor = null;
    showError($("send-error"), null);
  }
  const text = draft.value;
  const findings = result ? result.findings : [];
  paintMirror(mirror, text, findings);
  const list = $("findings");
  list.replaceChildren(...findings.map((f) => findingItem(f, useRewrite)));
  const credits = result ? result.credits || [] : [];
  const seen = new Set();
  $("credits").replaceChildren(
    ...credits
      .filter((c) => !seen.has(c.behaviour) && seen.add(c.behaviour))
      .map((c) => el("li", { class: "credit" }, el("span", { class: "principle" }, c.principle), ` ${c.behaviour.replaceAll("_", " ")}`)),
  );
  const summary = $("findings-summary");
  if (!text.trim()) summary.textContent = "";
  else if (!findings.length) summary.textContent = "No findings: this reply follows the playbook.";
  else summary.textContent = `${findings.length} finding${findings.length === 1 ? "" : "s"}: ${[...new Set(findings.map((f) => f.principle))].join(", ")}.`;
  summary.classList.toggle("clean", Boolean(text.trim()) && !findings.length);
  // The shipped politeness model's reading of the draft (absent when the models are off).
  const tone = $("tone");
  const polite = result && typeof result.politeness === "number" ? result.politeness : null;
  tone.hidden = !text.trim() || polite === null;
  if (!tone.hidden) {
    const word = polite >= 0.5 ? "polite" : polite >= 0.1 ? "curt" : "impolite";
    tone.textContent = `Tone: reads as ${word} (${Math.round(polite * 100)} % polite)`;
    tone.dataset.tone = word;
  }
  const blocked = Boolean(result && result.blocked);
  $("blocked-warning").hidden = !blocked;
  fixAllButton.disabled = closed || !findings.length || !result.fixed || result.fixed === text;
  updateSend();
}

// Send waits for the check of the text as it is now, so a draft that must not go out cannot
// slip through while it is being checked; when checking fails, sending is left to the agent.
function updateSend() {
  const checked = Boolean(latestCheck && latestCheck.draft === draft.value);
  const blocked = checked && Boolean(latestCheck.blocked);
  const pending = !checked && checkFailedFor !== draft.value;
  sendButton.disabled = closed || !draft.value.trim() || blocked || pending;
  sendButton.setAttribute("aria-busy", String(pending && Boolean(draft.value.trim())));
}

const checkOverHttp = debounce(async (seq, text) => {
  try {
    const result = await api("POST", "/v1/check", {
      draft: text,
      context: turns.slice(-40),
      customer_name: conversation.customer_name || null,
    });
    if (seq === checkSeq && text === draft.value) showCheck(result);
  } catch (err) {
    if (seq === checkSeq) {
      checkFailedFor = text;
      showError($("send-error"), `The draft could not be checked: ${err.message}`);
      updateSend();
    }
  }
}, 300);

function checkDraft() {
  const text = draft.value;
  checkSeq += 1;
  // Marks of an older text would sit on the wrong words: show the plain text until the check of
  // this one is back.
  paintMirror(mirror, text, latestCheck && latestCheck.draft === text ? latestCheck.findings : []);
  updateSend();
  if (!text.trim()) {
    checkOverHttp.cancel();
    showCheck(null);
    return;
  }
  if (socketReady) socket.send(JSON.stringify({ type: "draft", text, seq: checkSeq }));
  else checkOverHttp(checkSeq, text);
}

function setDraft(text) {
  draft.value = text;
  draft.focus();
  draft.setSelectionRange(text.length, text.length);
  checkDraft();
}

function useRewrite(finding) {
  setDraft(applyRewrite(draft.value, finding));
}

function syncScroll() {
  mirror.scrollTop = draft.scrollTop;
}

// ----- the live socket -----------------------------------------------------------------------

function connect() {
  if (!("WebSocket" in window) || !cid) {
    liveStatus.textContent = "checking over HTTP";
    return;
  }
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  let opened = false;
  try {
    socket = new WebSocket(`${scheme}://${window.location.host}/v1/conversations/${encodeURIComponent(cid)}/live`);
  } catch {
    liveStatus.textContent = "checking over HTTP";
    return;
  }
  socket.addEventListener("open", () => {
    opened = true;
    socketReady = true;
    reconnects = 0;
    liveStatus.textContent = "live";
    if (draft.value.trim()) checkDraft();
  });
  socket.addEventListener("message", (message) => {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    onFrame(frame);
  });
  socket.addEventListener("close", () => {
    socketReady = false;
    socket = null;
    if (closed) return;
    liveStatus.textContent = "checking over HTTP";
    if (draft.value.trim()) checkDraft();
    // Try again a few times (the server may have restarted); HTTP checks meanwhile.
    if (opened || reconnects < 1) {
      reconnects += 1;
      if (reconnects <= 5) setTimeout(connect, 2000 * reconnects);
    }
  });
}

async function reloadEvents() {
  try {
    const data = await api("GET", `/v1/conversations/${encodeURIComponent(cid)}/events`);
    let last = null;
    for (const item of data.events || []) {
      if (!known.has(item.event.id)) {
        addMessage(item.event, item.guidance);
        last = item;
      }
    }
    if (last) applyGuidance(last.guidance, last.event);
  } catch {
    // the next guidance frame tries again
  }
}

function onFrame(frame) {
  if (frame.type === "check") {
    if (frame.seq === checkSeq && frame.result && frame.result.draft === draft.value) showCheck(frame.result);
  } else if (frame.type === "guidance") {
    if (frame.guidance && frame.guidance.event_kind === "agent_draft") return;
    // An event of this page was shown with the answer to its POST; another one was added by
    // someone else (the helpdesk, another tab).
    if (!known.has(frame.event_id)) reloadEvents();
  } else if (frame.type === "hello") {
    // Something stored between the page load and the connection: fetch it.
    if (frame.guidance && !known.has(frame.guidance.event_id) && frame.guidance.event_kind !== "agent_draft") reloadEvents();
  } else if (frame.type === "error") {
    checkFailedFor = draft.value;
    showError($("send-error"), frame.detail || frame.code);
    updateSend();
  }
}

// ----- storing events ------------------------------------------------------------------------

async function postEvent(kind, text) {
  const body = { id: eventId(kind === "customer_message" ? "cust" : kind === "agent_message" ? "agent" : "end"), kind, text };
  const answer = await api("POST", `/v1/conversations/${encodeURIComponent(cid)}/events`, body);
  const event = { ...body, at: new Date().toISOString() };
  addMessage(event, answer.guidance);
  applyGuidance(answer.guidance, event);
  return answer;
}

$("composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = draft.value;
  if (!text.trim() || sendButton.disabled) return;
  sendButton.disabled = true;
  showError($("send-error"), null);
  try {
    await postEvent("agent_message", text);
    draft.value = "";
    checkSeq += 1;
    showCheck(null);
    paintMirror(mirror, "", []);
  } catch (err) {
    showError($("send-error"), err);
  } finally {
    updateSend();
  }
});

$("customer-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = $("customer-text");
  const text = box.value;
  if (!text.trim()) {
    showError($("customer-error"), "Type what the customer wrote first.");
    box.focus();
    return;
  }
  showError($("customer-error"), null);
  $("add-customer").disabled = true;
  try {
    await postEvent("customer_message", text);
    box.value = "";
    draft.focus();
  } catch (err) {
    showError($("customer-error"), err);
  } finally {
    $("add-customer").disabled = closed;
  }
});

$("end-conversation").addEventListener("click", async () => {
  if (!window.confirm("End this conversation? Nothing more can be sent in it.")) return;
  try {
    await postEvent("conversation_end", "");
    setClosed();
  } catch (err) {
    showError($("customer-error"), err);
  }
});

$("use-next").addEventListener("click", () => {
  const words = $("next-wording").textContent;
  setDraft(draft.value.trim() ? `${draft.value.trimEnd()} ${words}` : words);
});

fixAllButton.addEventListener("click", () => {
  if (latestCheck && latestCheck.fixed) setDraft(latestCheck.fixed);
});

draft.addEventListener("input", checkDraft);
draft.addEventListener("scroll", syncScroll);
draft.addEventListener("keydown", (e) => {
  // Ctrl/Cmd+Enter sends, like most chat tools.
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    $("composer").requestSubmit();
  }
});
new ResizeObserver(() => {
  mirror.style.height = `${draft.offsetHeight}px`;
  syncScroll();
}).observe(draft);

// ----- the demand check (E1-E3) --------------------------------------------------------------

function lastCustomerText() {
  for (let i = turns.length - 1; i >= 0; i -= 1) if (turns[i].role === "customer") return turns[i].text;
  return "";
}

function number(value) {
  const n = Number(String(value).replace(/[^0-9.]/g, ""));
  return value.trim() && Number.isFinite(n) ? n : undefined;
}

$("relent-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("relent-error");
  showError(error, null);
  const policy = $("relent-policy").value.trim();
  if (!policy) {
    showError(error, "Say what the policy allows (an amount, or a percent of the amount at stake).");
    $("relent-policy").focus();
    return;
  }
  const body = { policy, promised: $("relent-promised").checked };
  const demand = $("relent-demand").value.trim();
  const message = lastCustomerText();
  if (demand) body.demand = demand;
  else if (message) body.message = message;
  const claim = number($("relent-claim").value);
  if (claim !== undefined) body.claim = claim;
  const spend = number($("relent-spend").value);
  if (spend !== undefined) body.annual_spend = spend;
  if (conversation.customer_name) body.name = conversation.customer_name;
  try {
    const advice = await api("POST", "/v1/relent", body);
    const words = { stand_firm: "Stand firm, with a reason and an apology", bargain: "Offer a bargain", grant: "Grant it" };
    $("relent-recommendation").textContent = `${words[advice.recommendation] || advice.recommendation}: ${advice.currency || ""} ${advice.figure}`;
    $("relent-principle").textContent = advice.principle || "";
    $("relent-reasoning").replaceChildren(...(advice.reasoning || []).map((r) => el("li", {}, r)));
    $("relent-wording").textContent = advice.wording || "";
    $("relent-result").hidden = false;
  } catch (err) {
    showError(error, err);
  }
});

$("use-relent").addEventListener("click", () => setDraft($("relent-wording").textContent));

// ----- start ---------------------------------------------------------------------------------

let last = null;
for (const item of initial.events || []) {
  addMessage(item.event, item.guidance);
  if (item.event.kind !== "agent_draft") last = item;
}
if (last) applyGuidance(last.guidance, last.event);
else showStage(conversation.protocol_stage || "none");
if (closed) setClosed();
else connect();
paintMirror(mirror, "", []);
updateSend();
