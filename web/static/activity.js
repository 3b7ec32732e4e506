// Activity page: reload the event list from /api/activity every two seconds, newest first.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("activity");
  const POLL_MS = 2000;
  const COLUMNS = ["at", "who", "event", "detail", "sender"];
  const WRAP = {at: "small", detail: "code"};
  let last = null;

  function cell(field, text) {
    const td = document.createElement("td");
    const inner = WRAP[field] ? document.createElement(WRAP[field]) : td;
    inner.textContent = text;
    if (inner !== td) td.appendChild(inner);
    return td;
  }

  function render(events) {
    const key = JSON.stringify(events.map((e) => [e.at, e.event, e.device, e.detail]));
    if (key === last) {
      return;
    }
    last = key;
    const body = document.createElement("tbody");
    for (const event of events) {
      const tr = document.createElement("tr");
      tr.dataset.event = event.event;
      for (const field of COLUMNS) tr.appendChild(cell(field, event.cells[field]));
      body.appendChild(tr);
    }
    if (!events.length) {
      const tr = document.createElement("tr");
      tr.className = "empty";
      const td = cell("none", "No events yet.");
      td.colSpan = COLUMNS.length;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    table.replaceChild(body, table.tBodies[0]);
  }

  // Choosing a device filters at once; the Filter button is there for browsers without script.
  const select = document.getElementById("device");
  select.addEventListener("change", () => select.form.submit());

  window.Oscar.poll(() => table.dataset.activityUrl, POLL_MS, render);
});
