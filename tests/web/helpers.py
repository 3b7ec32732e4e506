"""Reading the pages the way a user does: by element id, form field and visible text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"input", "br", "img", "meta", "link", "hr"}


class _Finder(HTMLParser):
    """Collects the text inside the element with a given id, and every input's attributes."""

    def __init__(self, element_id: str = ""):
        super().__init__()
        self.element_id = element_id
        self.depth = 0
        self.found = False
        self.parts: list[str] = []
        self.inputs: list[dict[str, str]] = []
        self.select = ""  # name of the <select> being read
        self.options: dict[str, list[str]] = {}  # select name -> option values
        self.selected: dict[str, str] = {}  # select name -> the selected option's value

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "input":
            self.inputs.append(attributes)
        elif tag == "select":
            self.select = attributes.get("name", "")
            self.options[self.select] = []
        elif tag == "option" and self.select:
            self.options[self.select].append(attributes.get("value", ""))
            if "selected" in attributes or self.select not in self.selected:
                self.selected[self.select] = attributes.get("value", "")
        if self.depth:
            self.depth += tag not in VOID
        elif self.element_id and attributes.get("id") == self.element_id:
            self.found = True
            self.depth = 0 if tag in VOID else 1

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = ""
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_of(html: str, element_id: str) -> str | None:
    """The visible text of the element with this id (None when there is no such element)."""
    finder = _Finder(element_id)
    finder.feed(html)
    return " ".join("".join(finder.parts).split()) if finder.found else None


def input_attributes(html: str, name: str) -> dict[str, str] | None:
    """The attributes of the form input with this name (``checked`` etc. map to "")."""
    finder = _Finder()
    finder.feed(html)
    return next((a for a in finder.inputs if a.get("name") == name), None)


def input_value(html: str, name: str) -> str | None:
    """What the form would submit for this field: an input's value or a select's choice."""
    attributes = input_attributes(html, name)
    if attributes is None:
        finder = _Finder()
        finder.feed(html)
        return finder.selected.get(name)
    return attributes.get("value", "")


def select_options(html: str, name: str) -> list[str] | None:
    finder = _Finder()
    finder.feed(html)
    return finder.options.get(name)


def csrf_token(client, path: str = "/devices/new") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post_form(client, path: str, data: dict, follow: bool = False):
    return client.post(path, data={"csrf_token": csrf_token(client), **data},
                       follow_redirects=follow)


def device_row(html: str, name: str) -> str:
    """The HTML of one device on the devices page: its one-line row and its details row."""
    match = re.search(rf'<tbody data-device="{re.escape(name)}".*?</tbody>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(0)


def cell(html: str, field: str) -> str:
    match = re.search(rf'data-field="{field}">(.*?)</', html, re.S)
    assert match, f"no {field} cell"
    return match.group(1)
