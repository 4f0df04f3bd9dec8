// /trainer: the scenarios (GET /v1/training/scenarios); Start opens a session and its chat.
import { api, el, $, pageState, showError } from "./api.js";

const state = pageState();
const list = $("scenarios");
const error = $("scenarios-error");

async function start(scenario, button) {
  button.disabled = true;
  showError(error, null);
  const body = { scenario };
  const trainee = $("trainee");
  if (trainee && trainee.value.trim() && trainee.value.trim() !== state.me) body.trainee = trainee.value.trim();
  try {
    const session = await api("POST", "/v1/training/sessions", body);
    window.location.assign("/trainer/" + encodeURIComponent(session.id));
  } catch (err) {
    showError(error, err);
    button.disabled = false;
  }
}

function card(scenario) {
  const id = scenario.id || scenario.name;
  const button = el("button", { type: "button", class: "button primary", "aria-label": `Start ${scenario.title || id}` }, "Start");
  button.addEventListener("click", () => start(id, button));
  const principles = (scenario.principles || []).map((p) => el("span", { class: "principle" }, p));
  return el(
    "li",
    { class: "card", dataset: { scenario: id } },
    el("h3", {}, scenario.title || id),
    scenario.difficulty !== undefined && scenario.difficulty !== null ? el("p", { class: "hint" }, `Difficulty: ${scenario.difficulty}`) : null,
    el("p", {}, scenario.summary || ""),
    principles.length ? el("p", { class: "principles" }, ...principles) : null,
    button,
  );
}

async function load() {
  try {
    const data = await api("GET", "/v1/training/scenarios");
    const scenarios = data.scenarios || [];
    list.replaceChildren(...scenarios.map(card));
    if (!scenarios.length) list.append(el("li", { class: "empty" }, "No scenarios are installed."));
  } catch (err) {
    list.replaceChildren();
    showError(error, err);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

load();
