// /manager/scorecards: one row per agent (GET /v1/scorecards), with the score as a bar.
import { api, el, $, pageState, showError } from "./api.js";

const state = pageState();
const table = $("scorecards");

function counts(map) {
  const entries = Object.entries(map || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return el("span", { class: "hint" }, "none");
  return el("ul", { class: "chips" }, ...entries.map(([k, n]) => el("li", { class: "chip" }, `${k.replaceAll("_", " ")} ${n}`)));
}

function row(card) {
  const score = typeof card.score === "number" ? card.score : null;
  const fill = el("span", { class: `bar-fill ${score !== null && score < 60 ? "low" : ""}` });
  fill.style.width = `${score ?? 0}%`;
  return el(
    "tr",
    { dataset: { agent: card.agent } },
    el("th", { scope: "row" }, card.agent),
    el("td", { class: "score", dataset: { label: "Score" } }, el("span", { class: "bar", role: "img", "aria-label": `score ${score ?? "none"} of 100` }, fill), el("span", { class: "bar-value" }, score === null ? "—" : String(Math.round(score)))),
    el("td", { dataset: { label: "Conversations" } }, String(card.conversations ?? 0)),
    el("td", { dataset: { label: "Messages" } }, String(card.messages ?? 0), card.blocked ? el("span", { class: "hint" }, ` (${card.blocked} blocked)`) : null),
    el("td", { dataset: { label: "Findings" } }, counts(card.findings_by_principle)),
    el("td", { dataset: { label: "Credits" } }, counts(card.credits_by_behaviour)),
    el("td", { dataset: { label: "Incidents" } }, String(card.incidents ?? 0), card.ended_by_protocol ? el("span", { class: "hint" }, ` (${card.ended_by_protocol} by protocol)`) : null),
  );
}

async function load() {
  showError($("sc-error"), null);
  table.setAttribute("aria-busy", "true");
  const params = new URLSearchParams();
  const since = $("since").value;
  if (since) params.set("since", new Date(`${since}T00:00:00`).toISOString());
  if (state.team) params.set("team", state.team);
  try {
    const data = await api("GET", `/v1/scorecards${params.size ? `?${params}` : ""}`);
    const agents = data.agents || [];
    table.tBodies[0].replaceChildren(...agents.map(row));
    $("sc-empty").hidden = agents.length > 0;
  } catch (err) {
    showError($("sc-error"), err);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

$("reload").addEventListener("click", load);
load();
