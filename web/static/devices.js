// Devices page: refresh every row's cells from /api/status about once a second, no reload.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("devices");
  const POLL_MS = 1000;

  function deviceRows() {
    return Array.from(table.tBodies[0].rows).filter((tr) => tr.dataset.device !== undefined);
  }

  // Rows carry forms that depend on the device set and on enabled; when those change the page
  // is loaded again rather than rebuilt here, so the markup lives only in the template.
  function layout(names) {
    return names.join("\n");
  }

  function typing() {
    const active = document.activeElement;
    const busy = Array.from(table.querySelectorAll("input[name=text]")).some((i) => i.value);
    return busy || (active && active.tagName === "INPUT" && table.contains(active));
  }

  function update(status) {
    const wanted = layout(status.devices.map((d) => d.name + ":" + (d.config.enabled ? "yes" : "no")));
    const shown = layout(deviceRows().map((tr) => tr.dataset.device + ":" + tr.dataset.enabled));
    if (wanted !== shown) {
      if (!typing()) {
        window.location.reload();
        return;
      }
      document.getElementById("notice").hidden = false;
    }
    const byName = new Map(deviceRows().map((tr) => [tr.dataset.device, tr]));
    for (const device of status.devices) {
      const tr = byName.get(device.name);
      if (!tr) continue;
      tr.dataset.state = device.state;
      tr.dataset.stale = device.stale ? "yes" : "no";
      for (const el of tr.querySelectorAll("[data-field]")) {
        const text = device.cells[el.dataset.field];
        if (text !== undefined && el.textContent !== text) el.textContent = text;
      }
    }
    const listener = document.getElementById("listener-summary");
    listener.textContent = status.listener_text;
    listener.classList.toggle("stale", Boolean(status.listener_stale));
    const supervisor = document.getElementById("supervisor-error");
    supervisor.textContent = status.supervisor_error || "";
    supervisor.hidden = !status.supervisor_error;
  }

  window.Oscar.poll(() => table.dataset.statusUrl, POLL_MS, update);
});
