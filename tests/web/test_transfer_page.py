"""Import / export through the page: a bad file changes nothing and says what is wrong."""

from __future__ import annotations

import io
import json

from tests.web.helpers import csrf_token, text_of

DEVICES = {"format": "oscar-devices", "version": 1, "devices": [
    {"name": "imp-a", "host": "127.0.0.1", "port": 9401},
    {"name": "imp-b", "host": "127.0.0.1", "port": 9402, "terminator": "\\n"},
]}


def upload(client, content: bytes, mode: str, filename: str = "devices.json"):
    return client.post("/import", data={"csrf_token": csrf_token(client), "mode": mode,
                                        "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_export_downloads_the_configuration(client, registry):
    registry.call("add", device={"name": "exp-a", "host": "127.0.0.1", "port": 9400})
    response = client.get("/export.json")
    assert response.headers["Content-Disposition"] == 'attachment; filename="oscar-devices.json"'
    assert "exp-a" in [d["name"] for d in json.loads(response.data)["devices"]]


def test_check_then_replace(client, registry):
    checked = upload(client, json.dumps(DEVICES).encode(), "check")
    assert "The file is valid: 2 devices" in text_of(checked.get_data(as_text=True),
                                                     "import-result")
    assert "imp-a" not in [d["name"] for d in registry.call("list")]
    replaced = upload(client, json.dumps(DEVICES).encode(), "replace")
    assert "Imported 2 devices" in text_of(replaced.get_data(as_text=True), "import-result")
    assert [d["name"] for d in registry.call("list")] == ["imp-a", "imp-b"]


def test_bad_entry_is_named_and_nothing_changes(client, registry):
    before = registry.call("list")
    bad = {**DEVICES, "devices": [*DEVICES["devices"],
                                  {"name": "imp-c", "host": "127.0.0.1", "port": "x",
                                   "terminator": "\\z"}]}
    response = upload(client, json.dumps(bad).encode(), "replace")
    assert response.status_code == 400
    errors = text_of(response.get_data(as_text=True), "import-errors")
    assert "devices[2] (imp-c).port: must be a whole number" in errors
    assert "devices[2] (imp-c).terminator" in errors
    assert registry.call("list") == before


def test_a_file_that_is_not_json_or_not_an_export(client, registry):
    before = registry.call("list")
    response = upload(client, b"name,host\nproj,1.2.3.4\n", "replace", "devices.csv")
    assert "devices.csv is not a JSON file" in text_of(response.get_data(as_text=True),
                                                       "import-errors")
    response = upload(client, b'{"devices": []}', "replace")
    assert "not an Oscar device export" in text_of(response.get_data(as_text=True),
                                                   "import-errors")
    assert registry.call("list") == before
