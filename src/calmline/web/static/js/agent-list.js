// /agent: open a new conversation (POST /v1/conversations), then go to its console.
import { api, showError, $, eventId } from "./api.js";

const form = $("new-conversation");
const error = $("new-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError(error, null);
  const id = $("new-id").value.trim() || eventId("c");
  const body = { id, channel: $("new-channel").value };
  const name = $("new-customer").value.trim();
  if (name) body.customer_name = name;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const conversation = await api("POST", "/v1/conversations", body);
    window.location.assign("/agent/" + encodeURIComponent(conversation.id || id));
  } catch (err) {
    showError(error, err);
    button.disabled = false;
  }
});
