"""The pages: devices (home, live), add/edit/delete forms, actions, activity, system, transfer."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from web import present, system_info
from web.cue import CueError, send_test_cue
from web.forms import CHECKBOXES, FIELDS, HELP, DeviceForm, label
from web.registry import Registry, RegistryError, RegistryUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("views", __name__)


def registry() -> Registry:
    return current_app.extensions["oscar"].registry


def _down(exc: RegistryUnavailable) -> str:
    return f"{exc}. Retrying…"


# ---- devices ------------------------------------------------------------------------------------

@bp.get("/")
def devices():
    try:
        status = present.with_cells(registry().call("status"))
        down = ""
    except RegistryUnavailable as exc:
        status, down = {"devices": [], "listener": None, "supervisor_error": ""}, _down(exc)
    return render_template("devices.html", status=status, registry_down=down, live=True)


def _render_form(form: DeviceForm, editing: str = "", status: int = 200, down: str = ""):
    return render_template("device_form.html", form=form, editing=editing, fields=FIELDS,
                           checkboxes=CHECKBOXES, label=label, help=HELP,
                           registry_down=down), status


def _submit(form: DeviceForm, editing: str):
    """Send an add or update; on any error show the form again with what was typed."""
    try:
        if editing:
            registry().call("update", name=editing, changes=form.record(include_name=False))
        else:
            registry().call("add", device=form.record())
    except RegistryUnavailable as exc:
        return _render_form(form, editing, 503, _down(exc))
    except RegistryError as exc:
        if exc.code != "invalid":
            raise
        form.errors = exc.fields or {"form": str(exc)}
        return _render_form(form, editing, 400)
    name = editing or form.values["name"].strip()
    flash(f"Saved {name}." if editing else f"Added {name}; its actor starts within a second.")
    return redirect(url_for("views.devices"))


@bp.route("/devices/new", methods=["GET", "POST"])
def add_device():
    if request.method == "POST":
        return _submit(DeviceForm.from_submit(request.form), "")
    return _render_form(DeviceForm.blank())


@bp.route("/devices/<name>/edit", methods=["GET", "POST"])
def edit_device(name: str):
    if request.method == "POST":
        form = DeviceForm.from_submit(request.form)
        form.values["name"] = name  # names cannot change; the field is read-only
        return _submit(form, name)
    return _render_form(DeviceForm.for_device(registry().call("get", name=name)), name)


@bp.route("/devices/<name>/delete", methods=["GET", "POST"])
def delete_device(name: str):
    if request.method == "POST":
        registry().call("remove", name=name)
        flash(f"Deleted {name}; its actor is stopped.")
        return redirect(url_for("views.devices"))
    device = registry().call("get", name=name)
    return render_template("device_delete.html", device=device)


def _action(name: str, op: str, done: str):
    try:
        registry().call(op, name=name)
    except RegistryError as exc:
        if exc.code not in ("disabled", "not_found", "supervisor"):
            raise
        flash(f"{name}: {exc}", "error")
    else:
        flash(done)
    return redirect(url_for("views.devices"))


@bp.post("/devices/<name>/enable")
def enable_device(name: str):
    return _action(name, "enable", f"Enabled {name}; its actor starts within a second.")


@bp.post("/devices/<name>/disable")
def disable_device(name: str):
    return _action(name, "disable", f"Disabled {name}; its actor is stopped.")


@bp.post("/devices/<name>/restart")
def restart_device(name: str):
    return _action(name, "restart", f"Restarted the actor of {name}.")


@bp.post("/devices/<name>/send")
def send_command(name: str):
    text = request.form.get("text", "")
    device = registry().call("get", name=name)
    try:
        where = send_test_cue(current_app.extensions["oscar"].settings, device, text)
    except CueError as exc:
        flash(f"{name}: not sent: {exc}", "error")
    else:
        flash(f"Sent {text!r} to {name} through the OSC listener at {where}; "
              "watch its row for the result.")
    return redirect(url_for("views.devices"))


# ---- activity, system ---------------------------------------------------------------------------

@bp.get("/activity")
def activity():
    device = request.args.get("device", "")
    try:
        events = registry().call("activity", device=device, limit=200)
        names = [d["name"] for d in registry().call("list")]
        down = ""
    except RegistryUnavailable as exc:
        events, names, down = [], [], _down(exc)
    rows = [present.event_cells(e) for e in events]
    return render_template("activity.html", rows=rows, device=device, names=names,
                           registry_down=down, live=True)


@bp.get("/system")
def system():
    context = current_app.extensions["oscar"]
    info = system_info.collect(context.registry, context.started_at)
    down = "" if info["registry"]["reachable"] else f"{info['registry']['error']}. Retrying…"
    return render_template("system.html", info=info, registry_down=down,
                           duration=present.duration, clock=present.clock)


# ---- import / export ----------------------------------------------------------------------------

@bp.get("/transfer")
def transfer():
    return render_template("transfer.html", result=None, errors={})


@bp.get("/export.json")
def export():
    body = json.dumps(registry().call("export"), indent=2) + "\n"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": 'attachment; filename="oscar-devices.json"'})


def _read_upload() -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValueError("choose an export file first")
    try:
        return json.loads(upload.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{upload.filename} is not a JSON file: {exc}") from None


@bp.post("/import")
def import_devices():
    dry_run = request.form.get("mode") != "replace"
    try:
        result = registry().call("import", data=_read_upload(), dry_run=dry_run)
    except ValueError as exc:
        return render_template("transfer.html", result=None, errors={"file": str(exc)}), 400
    except RegistryError as exc:
        if exc.code != "invalid":
            raise
        errors = exc.fields or {"file": str(exc)}
        return render_template("transfer.html", result=None, errors=errors), 400
    return render_template("transfer.html", result=result, errors={})
