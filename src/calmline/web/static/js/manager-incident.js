// /manager/incidents/{iid}: the Acknowledge button (POST /v1/incidents/{iid}/ack, D7).
import { api, $, showError } from "./api.js";

const button = $("acknowledge");
if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    showError($("ack-error"), null);
    try {
      const incident = await api("POST", `/v1/incidents/${encodeURIComponent(button.dataset.incident)}/ack`);
      const when = incident.acknowledged_at ? new Date(incident.acknowledged_at).toLocaleString() : "now";
      const status = $("ack-status");
      status.textContent = `Acknowledged by ${incident.acknowledged_by || "you"} on ${when}.`;
      status.className = "ok";
      button.remove();
    } catch (err) {
      showError($("ack-error"), err);
      button.disabled = false;
    }
  });
}
