// The header's sign-out button (every page).
import { api } from "./api.js";

const button = document.getElementById("sign-out");
if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("POST", "/ui/logout");
    } finally {
      window.location.assign("/login");
    }
  });
}
