// /trainer/{sid}/debrief: scores per principle group, what went well, what to change, and a
// scenario to try next (GET /v1/training/sessions/{sid}/debrief).
import { api, el, $, pageState, showError } from "./api.js";

const state = pageState();
const GROUPS = {
  A: "A · Composure",
  B: "B · What not to say",
  C: "C · What to do",
  D: "D · Boundary protocol",
  E: "E · Knowing when to relent",
  overall: "Overall",
};

function bar(label, value, passMark) {
  const shown = value === null || value === undefined ? "not scored" : `${value}`;
  const meter = el("span", { class: "bar" });
  if (typeof value === "number") {
    const fill = el("span", { class: `bar-fill ${passMark && value < passMark ? "low" : ""}` });
    fill.style.width = `${Math.max(0, Math.min(100, value))}%`;
    meter.append(fill);
  }
  return [el("dt", {}, label), el("dd", {}, meter, el("span", { class: "bar-value" }, shown))];
}

async function suggest(debrief) {
  let next = debrief.next_scenario || debrief.suggested_scenario || null;
  let scenarios = [];
  try {
    scenarios = (await api("GET", "/v1/training/scenarios")).scenarios || [];
  } catch {
    return;
  }
  if (typeof next === "object" && next !== null) next = next.id || next.scenario;
  if (!next) {
    // The weakest scored group; a scenario that practises it.
    const scored = Object.entries(debrief.scores || {}).filter(([g, v]) => g !== "overall" && typeof v === "number");
    scored.sort((a, b) => a[1] - b[1]);
    const weakest = scored.length ? scored[0][0] : null;
    const others = scenarios.filter((s) => (s.id || s.name) !== debrief.scenario);
    const match = others.find((s) => (s.principles || []).some((p) => weakest && p.startsWith(weakest))) || others[0];
    next = match ? match.id || match.name : null;
  }
  const found = scenarios.find((s) => (s.id || s.name) === next);
  if (!found) return;
  $("next-scenario").hidden = false;
  $("next-scenario-text").textContent = `${found.title || next}: ${found.summary || ""}`;
  $("next-scenario-start").addEventListener("click", async (e) => {
    e.currentTarget.disabled = true;
    try {
      const session = await api("POST", "/v1/training/sessions", { scenario: next, trainee: state.trainee });
      window.location.assign("/trainer/" + encodeURIComponent(session.id));
    } catch (err) {
      showError($("debrief-error"), err);
    }
  });
}

function render(debrief) {
  $("debrief-title").textContent = debrief.title || debrief.scenario;
  const verdict = $("verdict");
  verdict.textContent = debrief.passed ? `Passed · ${debrief.scores.overall} of 100 (pass mark ${debrief.pass_mark})` : `Not passed yet · ${debrief.scores.overall} of 100 (pass mark ${debrief.pass_mark})`;
  verdict.className = `verdict ${debrief.passed ? "pass" : "fail"}`;
  $("outcome").textContent = `Outcome: ${String(debrief.outcome).replaceAll("_", " ")}.`;
  $("result").hidden = false;
  const rows = [];
  for (const [group, label] of Object.entries(GROUPS)) {
    if (group in (debrief.scores || {})) rows.push(...bar(label, debrief.scores[group], debrief.pass_mark));
  }
  $("scores").replaceChildren(...rows);
  const t = debrief.timing || {};
  if (t.replies) {
    const median = t.median_seconds !== null && t.median_seconds !== undefined ? `${Number(t.median_seconds).toFixed(1)} s` : "—";
    $("timing").textContent = `Timing (A3): median reply ${median}; ${t.too_fast} too fast after a hostile line (pause ${t.pause_seconds} s), ${t.stalled} slower than ${t.stall_seconds} s.`;
  }
  const well = debrief.went_well || [];
  $("went-well").replaceChildren(...(well.length ? well.map((w) => el("li", {}, w)) : [el("li", { class: "empty" }, "Nothing stood out this time.")]));
  const changes = debrief.to_change || [];
  $("to-change").replaceChildren(
    ...(changes.length
      ? changes.map((c) =>
          el(
            "li",
            { class: "change" },
            el("span", { class: "principle" }, c.principle),
            el("span", {}, ` ${c.why}`),
            c.said ? el("p", { class: "said" }, "You wrote: ", el("q", {}, c.said)) : null,
            c.better ? el("p", { class: "better" }, "Better: ", el("q", {}, c.better)) : null,
          ),
        )
      : [el("li", { class: "empty" }, "Nothing to change.")]),
  );
  $("transcript").replaceChildren(
    ...(debrief.transcript || []).map((x) => {
      const customer = x.role === "customer";
      const item = el("li", { class: `msg ${customer ? "customer" : "agent"}` }, el("div", { class: "msg-meta" }, el("span", { class: "msg-who" }, customer ? "Customer" : "You"), x.band ? el("span", { class: "hint" }, ` mood: ${x.band}`) : null), el("p", { class: "msg-text" }, x.text));
      if (!customer && x.findings && x.findings.length) item.append(el("p", { class: "msg-flag" }, `Findings: ${x.findings.join(", ")}`));
      return item;
    }),
  );
}

async function load() {
  try {
    const debrief = await api("GET", `/v1/training/sessions/${encodeURIComponent(state.id)}/debrief`);
    render(debrief);
    suggest(debrief);
  } catch (err) {
    showError($("debrief-error"), err.status === 409 ? "This session is not finished yet: go back and complete the conversation." : err);
  } finally {
    $("debrief").setAttribute("aria-busy", "false");
  }
}

load();
