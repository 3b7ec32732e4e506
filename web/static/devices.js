// Devices page: refresh every row's cells from /api/status about once a second, no reload;
// keep the last known table (marked stale) while the registry is away; "/" filters; ▸ expands.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("devices");
  const filter = document.getElementById("filter");
  const POLL_MS = 1000;
  const OPEN_KEY = "oscar.devices.open";    // expanded rows and the filter survive a reload
  const FILTER_KEY = "oscar.devices.filter";
  let lastKnown = table.dataset.at || "";  // clock text of the last answer from the registry

  function deviceRows() {
    return Array.from(table.tBodies).filter((body) => body.dataset.device !== undefined);
  }

  // Rows carry forms that depend on the device set and on enabled; when those change the page
  // is loaded again rather than rebuilt here, so the markup lives only in the template.
  function layout(names) {
    return names.join("\n");
  }

  function typing() {
    const active = document.activeElement;
    const busy = Array.from(table.querySelectorAll("input[name=text]")).some((i) => i.value);
    return busy || active === filter || (active && active.tagName === "INPUT" && table.contains(active));
  }

  function setStale(stale) {
    table.classList.toggle("stale", stale);
    document.getElementById("summary").classList.toggle("stale", stale);
    const note = document.getElementById("stale-note");
    note.textContent = stale && lastKnown ? "Table shows the last known state, at " + lastKnown + "." : "";
    note.hidden = !stale;
  }

  function update(status) {
    setStale(false);
    lastKnown = status.at_text || lastKnown;
    const wanted = layout(status.devices.map((d) => d.name + ":" + (d.config.enabled ? "yes" : "no")));
    const shown = layout(deviceRows().map((body) => body.dataset.device + ":" + body.dataset.enabled));
    if (wanted !== shown) {
      if (!typing()) {
        window.location.reload();
        return;
      }
      document.getElementById("notice").hidden = false;
    }
    const byName = new Map(deviceRows().map((body) => [body.dataset.device, body]));
    for (const device of status.devices) {
      const body = byName.get(device.name);
      if (!body) continue;
      body.dataset.state = device.state;
      body.dataset.stale = device.stale ? "yes" : "no";
      for (const el of body.querySelectorAll("[data-field]")) {
        const text = device.cells[el.dataset.field];
        if (text !== undefined && el.textContent !== text) el.textContent = text;
      }
      const error = body.querySelector("td.error");
      if (error.title !== device.cells.last_error) error.title = device.cells.last_error;
    }
    document.getElementById("summary").textContent = status.summary_text || "";
    const listener = document.getElementById("listener-summary");
    listener.textContent = status.listener_text;
    listener.classList.toggle("stale", Boolean(status.listener_stale));
    const supervisor = document.getElementById("supervisor-error");
    supervisor.textContent = status.supervisor_error || "";
    supervisor.hidden = !status.supervisor_error;
    applyFilter();
  }

  // ---- expand / collapse -----------------------------------------------------------------

  function openNames() {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(OPEN_KEY) || "[]"));
    } catch (err) {
      return new Set();
    }
  }

  function setOpen(body, open) {
    const button = body.querySelector("button.expand");
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "▾" : "▸";
    body.querySelector("tr.details").hidden = !open;
    body.classList.toggle("open", open);
    const names = openNames();
    if (open) names.add(body.dataset.device); else names.delete(body.dataset.device);
    sessionStorage.setItem(OPEN_KEY, JSON.stringify(Array.from(names)));
  }

  const initiallyOpen = openNames();
  for (const body of deviceRows()) {
    if (initiallyOpen.has(body.dataset.device)) setOpen(body, true);
  }

  table.addEventListener("click", (event) => {
    const body = event.target.closest("tbody[data-device]");
    if (!body) return;
    const onToggle = event.target.closest("button.expand");
    // A click anywhere on the one-line row opens it too, except on its own controls.
    const onRow = event.target.closest("tr.compact") && !event.target.closest("a, button, input, form");
    if (onToggle || onRow) setOpen(body, body.querySelector("tr.details").hidden);
    const reset = event.target.closest("button.reset");
    if (reset) resetCounters(body, reset);
  });

  // ---- reset counters --------------------------------------------------------------------

  async function resetCounters(body, button) {
    const name = body.dataset.device;
    if (!window.confirm("Reset the sent and dropped counters of " + name + " to zero?")) return;
    const result = body.querySelector(".reset-result");
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.url, {
        method: "POST", credentials: "same-origin", body: "{}",
        headers: {"Content-Type": "application/json", "Accept": "application/json"}});
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        result.textContent = "Counters reset.";
      } else if (response.status === 404 && !answer.code) {
        result.textContent = "This Oscar cannot reset counters yet (no such API call).";
      } else {
        result.textContent = "Not reset: " + (answer.error || "HTTP " + response.status);
      }
    } catch (err) {
      result.textContent = "Not reset: the Oscar web server is not answering.";
    } finally {
      button.disabled = false;
    }
  }

  // ---- filter ----------------------------------------------------------------------------

  function applyFilter() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const body of deviceRows()) {
      const field = (name) => (body.querySelector('[data-field="' + name + '"]') || {}).textContent || "";
      const haystack = [body.dataset.device, field("tags"), field("state"), body.dataset.state]
        .join(" ").toLowerCase();
      body.hidden = !words.every((word) => haystack.includes(word));
    }
  }

  filter.value = sessionStorage.getItem(FILTER_KEY) || "";
  filter.addEventListener("input", () => {
    sessionStorage.setItem(FILTER_KEY, filter.value);
    applyFilter();
  });
  filter.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      filter.value = "";
      sessionStorage.removeItem(FILTER_KEY);
      applyFilter();
      filter.blur();
    }
  });
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const editing = target.closest && target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "/" && !editing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      filter.focus();
      filter.select();
    }
  });
  applyFilter();

  window.Oscar.poll(() => table.dataset.statusUrl, POLL_MS, update, (err) => {
    // Registry (or the web server) away: keep the last known table, greyed and dated.
    if (err.title) setStale(true);
  });
});
