"""How an actor shows bytes to the operator (events, status, logs)."""

from __future__ import annotations

from oscar import escapes

TEXT_LIMIT = 200


def short(data: bytes | str) -> str:
    """Printable UTF-8 as is, any other byte as an escape (``\\xff``, ``\\r``), so what was
    sent reads as the operator would type it; at most TEXT_LIMIT characters."""
    if isinstance(data, bytes):
        data = data.strip()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = escapes.encode(data)
        else:
            if not text.isprintable():
                text = "".join(c if c.isprintable() else escapes.encode(c.encode("utf-8"))
                               for c in text)
    else:
        text = data.strip()
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "..."
