"""The JSON API under /api/, as a script would use it."""

from __future__ import annotations

import socket

from pythonosc.osc_message import OscMessage


def test_device_life_cycle(client):
    created = client.post("/api/devices", json={"name": "api-a", "host": "127.0.0.1",
                                                "port": 9301, "terminator": "\\n"})
    assert created.status_code == 201
    assert created.get_json()["terminator"] == "\\n" and created.get_json()["ttl"] == 10.0
    assert client.get("/api/devices/api-a").get_json()["port"] == 9301
    assert "api-a" in [d["name"] for d in client.get("/api/devices").get_json()]

    updated = client.patch("/api/devices/api-a", json={"port": 9302, "ttl": 2})
    assert updated.status_code == 200 and updated.get_json()["port"] == 9302

    disabled = client.post("/api/devices/api-a/disable", json={})
    assert disabled.get_json()["enabled"] is False
    row = client.get("/api/status?name=api-a").get_json()["devices"][0]
    assert row["state"] == "disabled" and row["config"]["ttl"] == 2.0
    assert client.post("/api/devices/api-a/enable", json={}).get_json()["enabled"] is True

    assert client.delete("/api/devices/api-a").status_code == 200
    gone = client.get("/api/devices/api-a")
    assert gone.status_code == 404 and gone.get_json()["code"] == "not_found"


def test_invalid_device_gets_400_with_every_bad_field(client):
    response = client.post("/api/devices", json={"name": "api bad", "host": "127.0.0.1",
                                                 "port": 0, "colour": "red"})
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"name", "port", "colour"}
    assert body["fields"]["colour"] == "unknown field"


def test_changes_must_be_json(client):
    response = client.post("/api/devices", data="name=x&host=y&port=1",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "application/json" in response.get_json()["error"]
    # a body-less action still needs the JSON content type: it is what stops forged requests
    assert client.post("/api/devices/whatever/restart").status_code == 415
    not_object = client.post("/api/devices", json=["not", "an", "object"])
    assert not_object.status_code == 400


def test_unknown_device_and_unknown_route(client):
    assert client.post("/api/devices/nobody/enable", json={}).status_code == 404
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and "error" in missing.get_json()


def test_restart_of_disabled_device_is_409(client):
    client.post("/api/devices", json={"name": "api-off", "host": "127.0.0.1", "port": 9303,
                                      "enabled": False})
    response = client.post("/api/devices/api-off/restart", json={})
    assert response.status_code == 409 and response.get_json()["code"] == "disabled"


def test_send_goes_to_the_listener(settings, client):
    client.post("/api/devices", json={"name": "api-send", "host": "127.0.0.1", "port": 9304})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", settings.osc_udp_port))
        listener.settimeout(5)
        response = client.post("/api/devices/api-send/send", json={"text": "INPUT 3"})
        packet, _ = listener.recvfrom(65536)
    assert response.status_code == 200
    assert OscMessage(packet).address == "/device/api-send/message"
    assert OscMessage(packet).params == ["INPUT 3"]
    assert client.post("/api/devices/api-send/send", json={}).status_code == 400


def test_export_then_import_round_trip(client):
    client.post("/api/devices", json={"name": "api-x", "host": "127.0.0.1", "port": 9305})
    exported = client.get("/api/export").get_json()
    assert exported["format"] == "oscar-devices"
    client.delete("/api/devices/api-x")
    checked = client.post("/api/import?dry_run=1", json=exported)
    assert checked.get_json() == {"devices": len(exported["devices"]), "applied": False}
    assert client.get("/api/devices/api-x").status_code == 404  # dry run changed nothing
    applied = client.post("/api/import", json=exported)
    assert applied.get_json()["applied"] is True
    assert client.get("/api/devices/api-x").status_code == 200


def test_bad_import_names_entry_and_field_and_changes_nothing(client):
    before = client.get("/api/devices").get_json()
    bad = {"format": "oscar-devices", "version": 1, "devices": [
        {"name": "ok1", "host": "127.0.0.1", "port": 1000},
        {"name": "bad1", "host": "127.0.0.1", "port": 99999},
    ]}
    response = client.post("/api/import", json=bad)
    assert response.status_code == 400
    assert response.get_json()["fields"] == {"devices[1] (bad1).port": "must be 1-65535, got 99999"}
    assert client.get("/api/devices").get_json() == before


def test_tags_through_the_api_export_and_import(client):
    created = client.post("/api/devices", json={"name": "api-tag", "host": "127.0.0.1",
                                                "port": 9306, "tags": ["stage-left", "proj"]})
    assert created.status_code == 201 and created.get_json()["tags"] == ["proj", "stage-left"]
    as_text = client.patch("/api/devices/api-tag", json={"tags": "proj,wash"})
    assert as_text.get_json()["tags"] == ["proj", "wash"]
    bad = client.patch("/api/devices/api-tag", json={"tags": ["ok", "no way"]})
    assert bad.status_code == 400
    assert bad.get_json()["fields"] == {"tags": "tag 'no way': 1-64 characters: letters, "
                                                "digits, '_', '.' or '-'"}
    row = client.get("/api/status?name=api-tag").get_json()["devices"][0]
    assert row["config"]["tags"] == ["proj", "wash"] and row["cells"]["tags"] == "proj, wash"

    exported = client.get("/api/export").get_json()
    entry = next(d for d in exported["devices"] if d["name"] == "api-tag")
    assert entry["tags"] == ["proj", "wash"]
    client.patch("/api/devices/api-tag", json={"tags": []})
    assert client.post("/api/import", json=exported).status_code == 200
    assert client.get("/api/devices/api-tag").get_json()["tags"] == ["proj", "wash"]


def test_import_of_an_export_made_before_tags_existed(client):
    old = {"format": "oscar-devices", "version": 1, "devices": [
        {"name": "api-old", "host": "127.0.0.1", "port": 9307, "enabled": True,
         "terminator": "\\r", "encoding": "utf-8", "ttl": 10.0, "backoff_min": 0.5,
         "backoff_max": 10.0}]}
    before = client.get("/api/export").get_json()
    try:
        assert client.post("/api/import", json=old).status_code == 200
        assert client.get("/api/devices/api-old").get_json()["tags"] == []
    finally:
        client.post("/api/import", json=before)


def test_import_refuses_a_bad_tag_and_an_unencodable_terminator(client):
    before = client.get("/api/devices").get_json()
    bad = {"format": "oscar-devices", "version": 1, "devices": [
        {"name": "ok2", "host": "127.0.0.1", "port": 1000, "tags": ["a*"]},
        {"name": "bad2", "host": "127.0.0.1", "port": 1001, "encoding": "ascii",
         "terminator": "\u00e9"},
        {"name": "bad3", "host": "127.0.0.1", "port": 1002, "encoding": "idna"},
    ]}
    response = client.post("/api/import", json=bad)
    assert response.status_code == 400
    fields = response.get_json()["fields"]
    assert fields["devices[0] (ok2).tags"].startswith("tag 'a*': 1-64 characters")
    assert "cannot be written in ascii" in fields["devices[1] (bad2).terminator"]
    assert "'idna' is not one of the text encodings" in fields["devices[2] (bad3).encoding"]
    assert client.get("/api/devices").get_json() == before


def test_activity_filter_and_limit(client):
    assert isinstance(client.get("/api/activity?device=api-a&limit=5").get_json(), list)
    assert client.get("/api/activity?limit=lots").status_code == 400


def test_health_and_system(client):
    health = client.get("/api/health").get_json()
    assert health["web"] == "ok" and health["registry"]["reachable"] is True
    assert health["stale"] == []  # no listener or actor in these tests: nothing reports
    assert health["listener"] == {"heartbeat_age": None, "stale": False}
    system = client.get("/api/system").get_json()
    assert system["registry"]["reachable"] is True
    assert system["osc"]["udp_port"] > 0 and "control" in system["endpoints"]
    assert system["versions"]["flask"] and system["versions"]["oscar"]


def test_requests_for_another_host_name_are_refused(client):
    # A web page elsewhere could reach 127.0.0.1 through DNS rebinding; its Host header gives
    # it away.
    response = client.get("/api/devices", headers={"Host": "attacker.example:8053"})
    assert response.status_code == 400
    assert client.get("/api/devices", headers={"Host": "127.0.0.1:8053"}).status_code == 200


def test_reset_zeroes_a_devices_totals_and_returns_its_row(client):
    client.post("/api/devices", json={"name": "api-reset", "host": "127.0.0.1", "port": 9304,
                                      "enabled": False})
    response = client.post("/api/devices/api-reset/reset", json={})
    assert response.status_code == 200
    row = response.get_json()
    assert row["name"] == "api-reset" and row["sent"] == 0 and row["dropped"] == 0
    assert row["totals_since"] > 0
    assert client.post("/api/devices/nobody/reset", json={}).status_code == 404
    client.delete("/api/devices/api-reset")
