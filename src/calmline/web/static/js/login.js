// The sign-in form: the key goes to POST /ui/session, which sets an HttpOnly cookie.
import { api, showError, $ } from "./api.js";

const form = $("login-form");
const input = $("key");
const error = $("login-error");

function localPath(target) {
  // The server only offers a local path; check again so nothing else is followed.
  return typeof target === "string" && target.startsWith("/") && !target.startsWith("//") && !target.includes("\\") ? target : "/";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = input.value.trim();
  if (!key) {
    showError(error, "Paste your key first.");
    input.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  showError(error, null);
  try {
    await api("POST", "/ui/session", { key }, { signInOn401: false });
    window.location.assign(localPath(form.dataset.next));
  } catch (err) {
    showError(error, err.status === 401 ? "That key is not valid (unknown or revoked)." : err);
    input.setAttribute("aria-invalid", "true");
    input.select();
    button.disabled = false;
  }
});
input.focus();
