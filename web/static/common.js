// Shared by every page: JSON polling with a timeout, and the "registry not reachable" banner.
// Device and user text only ever goes into the page through textContent, never as HTML.
"use strict";

window.Oscar = (function () {
  const REQUEST_TIMEOUT_MS = 5000;

  function banner(title, detail) {
    const box = document.getElementById("banner");
    if (!box) return;
    if (title === null) {
      box.hidden = true;
      return;
    }
    document.getElementById("banner-title").textContent = title;
    document.getElementById("banner-detail").textContent = detail || "";
    box.hidden = false;
  }

  // Resolves with the parsed JSON; rejects with an Error whose .title says whose fault it is.
  async function getJSON(url) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(url, {credentials: "same-origin", cache: "no-store",
                                   headers: {"Accept": "application/json"},
                                   signal: abort.signal});
    } catch (err) {
      const lost = new Error("The Oscar web server is not answering (" + err.message + ").");
      lost.title = "Lost contact with Oscar.";
      throw lost;
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 401) {
      window.location.reload();  // logged out (or a password was just set): go to the login
      throw new Error("login required");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const failed = new Error(body.error || ("HTTP " + response.status));
      failed.title = response.status === 503 ? "Registry not reachable." : "Update failed.";
      throw failed;
    }
    return body;
  }

  // Calls getJSON(url()) every intervalMs (after the previous answer) and hands data to onData;
  // a failed round goes to onError (if given), so a page can mark what it shows as stale.
  function poll(url, intervalMs, onData, onError) {
    async function tick() {
      try {
        onData(await getJSON(url()));
        banner(null);
      } catch (err) {
        if (err.title) banner(err.title, err.message + " Retrying…");
        if (onError) onError(err);
      }
      setTimeout(tick, intervalMs);
    }
    tick();
  }

  // A page rendered while the registry was down waits for it, then loads again (GET pages) or
  // says it is back (after a form submit, which must not be re-sent by a reload).
  function waitForRegistry() {
    const body = document.body;
    if (body.dataset.live === "yes" || document.getElementById("banner").hidden) return;
    async function tick() {
      try {
        const health = await getJSON(body.dataset.healthUrl);
        if (health.registry.reachable) {
          if (body.dataset.reloadWhenBack === "yes") {
            window.location.reload();
          } else {
            banner("The registry answers again.", "Submit the form once more.");
          }
          return;
        }
      } catch (err) {
        // still down; keep waiting
      }
      setTimeout(tick, 2000);
    }
    setTimeout(tick, 2000);
  }

  document.addEventListener("DOMContentLoaded", waitForRegistry);
  return {banner, getJSON, poll};
})();
