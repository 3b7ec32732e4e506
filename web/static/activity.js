// Activity page: reload the filtered event list from /api/activity every two seconds, newest
// first.
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
      const td = cell("none", table.dataset.emptyText || "No events yet.");
      td.colSpan = COLUMNS.length;
      tr.appendChild(td);
      body.appendChild(tr);
    }
    table.replaceChild(body, table.tBodies[0]);
  }

  // Choosing a device or kind filters at once; the Filter button submits the times (and is
  // all a browser without script needs: the form is a plain GET).
  for (const id of ["device", "kind"]) {
    const select = document.getElementById(id);
    select.addEventListener("change", () => select.form.submit());
  }

  // The same filters, polled: a relative "since" (10m) slides with the clock. No URL when the
  // filters have an error: the page shows the error, not a list.
  if (table.dataset.activityUrl) {
    window.Oscar.poll(() => table.dataset.activityUrl, POLL_MS, render);
  }
});
