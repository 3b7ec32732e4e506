"""The JSON API under /api/: everything the pages do, for scripts and for the pages' live updates.

Errors are ``{"error": text, "code": kind, "fields": {field: message}}`` with a matching HTTP
status (400 invalid, 404 unknown device, 409 disabled, 503 registry not answering).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from oscar.web import activity as activity_filters
from oscar.web import present, system_info
from oscar.web.cue import CueError, send_test_cue
from oscar.web.registry import Registry, RegistryError, RegistryUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")


class BadRequest(ValueError):
    pass


def registry() -> Registry:
    return current_app.extensions["oscar"].registry


def _body(required: bool = True) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and not required and not request.get_data():
        return {}
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


@bp.errorhandler(BadRequest)
def bad_request(exc: BadRequest):
    return jsonify(error=str(exc), code="bad_request", fields={}), 400


@bp.get("/health")
def health():
    """Always 200 while the web UI runs; says whether the registry answers and how old the
    listener's and the actors' last heartbeats are. ``stale`` names the supervisord programs
    that are RUNNING but stopped reporting (an empty list is healthy)."""
    ping = registry().ping()
    body: dict[str, Any] = {"web": "ok",
                            "registry": {"reachable": ping is not None, **(ping or {})}}
    if ping is not None:
        try:
            body.update(present.heartbeats(registry().call("status")))
        except (RegistryUnavailable, RegistryError) as exc:
            body["registry"]["status_error"] = str(exc)
    return jsonify(body)


@bp.get("/status")
def status():
    name = request.args.get("name", "")
    return jsonify(present.with_cells(registry().call("status", name=name)))


@bp.get("/devices")
def list_devices():
    return jsonify(registry().call("list"))


@bp.post("/devices")
def add_device():
    return jsonify(registry().call("add", device=_body())), 201


@bp.get("/devices/<name>")
def get_device(name: str):
    return jsonify(registry().call("get", name=name))


@bp.route("/devices/<name>", methods=["PATCH", "PUT"])
def update_device(name: str):
    return jsonify(registry().call("update", name=name, changes=_body()))


@bp.delete("/devices/<name>")
def remove_device(name: str):
    return jsonify(registry().call("remove", name=name))


@bp.post("/devices/<name>/<any(enable, disable, restart):action>")
def device_action(name: str, action: str):
    _body(required=False)
    return jsonify(registry().call(action, name=name))


@bp.post("/devices/<name>/reset")
def reset_totals(name: str):
    """Zero the device's totals (sent, dropped, replies, connects); returns its status row."""
    _body(required=False)
    return jsonify(registry().call("reset", name=name))


@bp.post("/devices/<name>/send")
def send_command(name: str):
    text = _body().get("text")
    if not isinstance(text, str):
        raise BadRequest('give the command as {"text": "..."}')
    device = registry().call("get", name=name)
    try:
        where = send_test_cue(current_app.extensions["oscar"].settings, device, text)
    except CueError as exc:
        status = 409 if exc.code == "disabled" else 400
        return jsonify(error=str(exc), code=exc.code, fields={}), status
    return jsonify(sent=text, device=name, listener=where)


@bp.get("/activity")
def activity():
    """The events history: ``device``, ``kind``, ``since``, ``until`` (the forms `oscar
    activity` takes: 20:30, 2026-11-26 20:30, ISO, 10m...), ``limit``, ``format=csv``."""
    try:
        limit = activity_filters.read_limit(request.args)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    wanted = activity_filters.read(request.args)
    if wanted.errors:
        field, message = next(iter(wanted.errors.items()))
        return jsonify(error=f"{field}: {message}", code="invalid", fields=wanted.errors), 400
    output = request.args.get("format", "json")
    if output not in ("json", "csv"):
        raise BadRequest("format must be json or csv")
    events = registry().call("activity", limit=limit, **wanted.args)
    if output == "csv":
        return activity_filters.csv_response(events)
    return jsonify([{**event, "cells": present.event_cells(event)} for event in events])


@bp.get("/feedback")
def get_feedback():
    """Where device replies, states and errors go as OSC: ``{"targets", "source"}``."""
    return jsonify(registry().call("feedback_get"))


@bp.put("/feedback")
def set_feedback():
    """Replace the feedback targets: body ``{"targets": ["udp://h:p", "tcp://h:p"]}``."""
    body = _body()
    if "targets" not in body:
        raise BadRequest('give the targets as {"targets": ["udp://HOST:PORT", ...]}')
    return jsonify(registry().call("feedback_set", targets=body["targets"]))


@bp.get("/system")
def system():
    context = current_app.extensions["oscar"]
    return jsonify(system_info.collect(context.registry, context.started_at))


@bp.get("/export")
def export():
    """``?with_secrets=1`` includes the device passwords; without it each device says only
    ``password_set`` (and importing that file leaves the devices without a password)."""
    secrets = request.args.get("with_secrets", "") in ("1", "true", "yes")
    response = jsonify(registry().call("export", with_secrets=secrets))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/import")
def import_devices():
    dry_run = request.args.get("dry_run", "") in ("1", "true", "yes")
    return jsonify(registry().call("import", data=_body(), dry_run=dry_run))
