"""Errors that cross the control socket: a code a program can act on, a message a person can
read, and per-field messages for forms."""

from __future__ import annotations


class CodedError(Exception):
    def __init__(self, code: str, message: str, fields: dict[str, str] | None = None):
        self.code = code
        self.fields = fields or {}
        super().__init__(message)
