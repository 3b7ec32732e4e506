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

from oscar.cli_device import missing_passwords
from oscar.web import activity as activity_filters
from oscar.web import present, system_info
from oscar.web.cue import CueError, send_test_cue
from oscar.web.forms import (
    CHECKBOXES,
    FIELDS,
    HELP,
    SECTIONS,
    TEXTAREAS,
    DeviceForm,
    label,
    profile_blob,
)
from oscar.web.registry import Registry, RegistryError, RegistryUnavailable

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
    form.forget_secret()  # a typed password never goes back into a page
    return render_template("device_form.html", form=form, editing=editing, fields=FIELDS,
                           sections=SECTIONS, textareas=TEXTAREAS, checkboxes=CHECKBOXES,
                           label=label, help=HELP, profiles=profile_blob(),
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
        if editing:
            form.password_set = _password_set(editing)
        return _render_form(form, editing, 400)
    name = editing or form.values["name"].strip()
    flash(f"Saved {name}." if editing else f"Added {name}; its actor starts within a second.")
    return redirect(url_for("views.devices"))


def _password_set(name: str) -> bool:
    try:
        return bool(registry().call("get", name=name).get("password_set"))
    except (RegistryUnavailable, RegistryError):
        return False


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
    """The events history, filtered by a plain GET form (works without script)."""
    settings = current_app.extensions["oscar"].settings
    days = settings.history_days
    wanted = activity_filters.read(request.args)
    events: list = []
    names: list = []
    down = ""
    try:
        names = [d["name"] for d in registry().call("list")]
        if not wanted.errors:
            events = registry().call("activity", limit=activity_filters.PAGE_LIMIT,
                                     **wanted.args)
    except RegistryUnavailable as exc:
        down = _down(exc)
    except RegistryError as exc:
        if exc.code != "invalid":
            raise
        wanted.errors.update(exc.fields or {"form": str(exc)})
    rows = [present.event_cells(e) for e in events]
    return render_template("activity.html", rows=rows, filters=wanted, names=names,
                           kinds=activity_filters.KINDS, limit=activity_filters.PAGE_LIMIT,
                           max_csv=activity_filters.MAX_LIMIT, history_days=f"{days:g}",
                           history_rows=f"{settings.history_rows:,}",
                           registry_down=down, live=not wanted.errors), \
        400 if wanted.errors else 200


@bp.get("/system")
def system():
    return _render_system()


def _render_system(feedback_text: str | None = None, feedback_errors: dict | None = None,
                   status: int = 200):
    context = current_app.extensions["oscar"]
    info = system_info.collect(context.registry, context.started_at)
    down = "" if info["registry"]["reachable"] else f"{info['registry']['error']}. Retrying…"
    if feedback_text is None:
        feedback_text = "\n".join((info.get("feedback") or {}).get("targets", []))
    return render_template("system.html", info=info, registry_down=down,
                           duration=present.duration, clock=present.clock,
                           feedback_text=feedback_text, feedback_errors=feedback_errors or {},
                           ), status


@bp.post("/system/feedback")
def set_feedback():
    """The feedback targets from the System page's form: one per line (or comma-separated)."""
    text = request.form.get("targets", "")[:20_000]
    targets = [part.strip() for line in text.splitlines() for part in line.split(",")
               if part.strip()]
    try:
        result = registry().call("feedback_set", targets=targets)
    except RegistryError as exc:
        if exc.code != "invalid":
            raise
        errors = {}
        for field, message in (exc.fields or {"targets": str(exc)}).items():
            index = field[len("targets["):-1] if field.startswith("targets[") else ""
            where = f"line {int(index) + 1}: " if index.isdigit() else ""
            errors[field] = f"{where}{message}"
        return _render_system(text, errors, 400)
    count = len(result["targets"])
    flash(f"Saved {count} feedback target{'s' if count != 1 else ''}." if count
          else "Saved: no feedback targets (feedback is off).")
    return redirect(url_for("views.system") + "#feedback")


# ---- import / export ----------------------------------------------------------------------------

@bp.get("/transfer")
def transfer():
    return render_template("transfer.html", result=None, errors={})


@bp.get("/export.json")
def export():
    """The export; ``?with_secrets=1`` includes the device passwords (an explicit choice)."""
    secrets = request.args.get("with_secrets", "") in ("1", "true", "yes")
    body = json.dumps(registry().call("export", with_secrets=secrets), indent=2) + "\n"
    filename = "oscar-devices-with-passwords.json" if secrets else "oscar-devices.json"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


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
        data = _read_upload()
        result = registry().call("import", data=data, dry_run=dry_run)
    except ValueError as exc:
        return render_template("transfer.html", result=None, errors={"file": str(exc)}), 400
    except RegistryError as exc:
        if exc.code != "invalid":
            raise
        errors = exc.fields or {"file": str(exc)}
        return render_template("transfer.html", result=None, errors=errors), 400
    result = {**result, "without_password": missing_passwords(data)}
    return render_template("transfer.html", result=result, errors={})
