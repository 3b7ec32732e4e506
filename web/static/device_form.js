// Device form: picking a profile fills its defaults in, from the JSON blob the page carries
// (#profile-defaults, no extra request). Same rule as the registry (oscar.models.validate): a
// field still at the old profile's default (or a blank port) takes the new profile's default;
// anything the operator changed stays. A field a profile does not set goes back to the generic
// default; the port, which generic does not set, is then kept.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const blob = document.getElementById("profile-defaults");
  const select = document.getElementById("profile");
  if (!blob || !select) return;
  const data = JSON.parse(blob.textContent);
  const form = select.form;
  const checkboxes = new Set(data.checkboxes);
  const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);
  let current = select.value;

  function effective(profile, field) {
    const found = data.profiles[profile];
    if (found && own(found.defaults, field)) return found.defaults[field];
    if (own(data.generic_defaults, field)) return data.generic_defaults[field];
    return undefined;
  }

  function read(el) {
    return checkboxes.has(el.name) ? (el.checked ? "on" : "") : el.value;
  }

  function write(el, value) {
    if (checkboxes.has(el.name)) el.checked = value === "on";
    else el.value = value;
  }

  function showNotes(profile) {
    const notes = document.getElementById("profile-notes");
    const found = data.profiles[profile];
    if (notes) notes.textContent = found ? found.notes : "";
  }

  select.addEventListener("change", () => {
    const next = select.value;
    const fields = new Set(["port", ...Object.keys(data.generic_defaults),
                            ...Object.keys((data.profiles[next] || {defaults: {}}).defaults)]);
    for (const field of fields) {
      const el = form.elements.namedItem(field);
      const now = effective(next, field);
      if (!el || now === undefined) continue;
      const value = read(el);
      if (value === effective(current, field) || (field === "port" && value.trim() === "")) {
        write(el, now);
      }
    }
    current = next;
    showNotes(next);
    const section = document.getElementById("dialect");
    if (section && next !== "generic") section.open = true;
  });
});
