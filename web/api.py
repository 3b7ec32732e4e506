"""The JSON API under /api/: everything the pages do, for scripts and for the pages' live updates.

Errors are ``{"error": text, "code": kind, "fields": {field: message}}`` with a matching HTTP
status (400 invalid, 404 unknown device, 409 disabled, 503 registry not answering).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from web import present, system_info
from web.cue import CueError, send_test_cue
from web.registry import Registry, RegistryError, RegistryUnavailable

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")
MAX_ACTIVITY = 2000


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
    try:
        limit = int(request.args.get("limit", "200"))
    except ValueError:
        raise BadRequest("limit must be a whole number") from None
    limit = max(1, min(limit, MAX_ACTIVITY))
    events = registry().call("activity", device=request.args.get("device", ""), limit=limit)
    return jsonify([{**event, "cells": present.event_cells(event)} for event in events])


@bp.get("/system")
def system():
    context = current_app.extensions["oscar"]
    return jsonify(system_info.collect(context.registry, context.started_at))


@bp.get("/export")
def export():
    return jsonify(registry().call("export"))


@bp.post("/import")
def import_devices():
    dry_run = request.args.get("dry_run", "") in ("1", "true", "yes")
    return jsonify(registry().call("import", data=_body(), dry_run=dry_run))
