"""OSC 1.0 address pattern matching on one address part (a device name or a tag).

``*`` any run of characters, ``?`` one character, ``[abc]`` ``[a-c]`` one of a set,
``[!a]`` one character not in the set, ``{proj1,proj2}`` one of the listed words.

No regular expression is ever built from sender input: a pattern is parsed into a short list of
tokens and matched by stepping a set of positions through the name, so a match costs at most
(pattern tokens x name length) steps whatever the pattern (10 000 ``*`` is refused by length).
Names are ``[A-Za-z0-9_.-]{1,64}``, so a pattern may contain only those characters and the
pattern syntax; anything else cannot match and is refused with ``PatternError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

MAX_PATTERN = 256  # characters; a device name is at most 64
SPECIAL = frozenset("*?[]{}")
_SPECIAL = re.compile(r"[*?\[\]{}]")  # a constant regex, for speed: never built from input
NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")

# Token kinds
_LITERAL, _ANY_ONE, _STAR, _SET, _NOT_SET, _CHOICE = range(6)


class PatternError(ValueError):
    """The pattern is malformed or too long; str(exc) says where."""


def is_pattern(text: str) -> bool:
    """True when text has any OSC pattern character: ``* ? [ ] { }``."""
    return _SPECIAL.search(text) is not None


def _parse(text: str) -> list[tuple[int, object]]:
    if not text:
        raise PatternError("empty pattern")
    if len(text) > MAX_PATTERN:
        raise PatternError(f"pattern longer than {MAX_PATTERN} characters")
    tokens: list[tuple[int, object]] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            tokens.append((_LITERAL, "".join(literal)))
            literal.clear()

    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "*":
            flush()
            if not tokens or tokens[-1][0] != _STAR:  # ** is *: keeps matching linear
                tokens.append((_STAR, None))
            i += 1
        elif char == "?":
            flush()
            tokens.append((_ANY_ONE, None))
            i += 1
        elif char == "[":
            flush()
            i = _parse_set(text, i, tokens)
        elif char == "{":
            flush()
            i = _parse_choice(text, i, tokens)
        elif char in NAME_CHARS:
            literal.append(char)
            i += 1
        elif char in "]}":
            raise PatternError(f"'{char}' without its opening bracket at position {i + 1}")
        else:
            raise PatternError(f"character {char!r} at position {i + 1} is not allowed in a "
                               "name pattern")
    flush()
    return tokens


def _parse_set(text: str, i: int, tokens: list[tuple[int, object]]) -> int:
    start = i
    i += 1
    negate = i < len(text) and text[i] == "!"
    if negate:
        i += 1
    chars: set[str] = set()
    first = True
    while True:
        if i >= len(text):
            raise PatternError(f"'[' at position {start + 1} is not closed")
        char = text[i]
        if char == "]" and not first:
            break
        if char not in NAME_CHARS:
            raise PatternError(f"character {char!r} at position {i + 1} is not allowed in "
                               "a [set]")
        if i + 2 < len(text) and text[i + 1] == "-" and text[i + 2] != "]":
            high = text[i + 2]
            if high not in NAME_CHARS or high < char:
                raise PatternError(f"bad range {char}-{high} at position {i + 1}")
            chars.update(chr(code) for code in range(ord(char), ord(high) + 1))
            i += 3
        else:
            chars.add(char)
            i += 1
        first = False
    tokens.append((_NOT_SET if negate else _SET, frozenset(chars)))
    return i + 1


def _parse_choice(text: str, i: int, tokens: list[tuple[int, object]]) -> int:
    start = i
    close = text.find("}", i)
    if close < 0:
        raise PatternError(f"'{{' at position {start + 1} is not closed")
    words = text[i + 1:close].split(",")
    for offset, char in enumerate(text[i + 1:close], start=i + 2):
        if char != "," and char not in NAME_CHARS:
            raise PatternError(f"character {char!r} at position {offset} is not allowed in "
                               "a {choice}")
    tokens.append((_CHOICE, tuple(dict.fromkeys(words))))
    return close + 1


@lru_cache(maxsize=512)
def compile_pattern(text: str) -> Callable[[str], bool]:
    """A function name -> True when the pattern matches the whole name. Raises PatternError.

    Cached: the listener compiles the same few patterns for every cue.
    """
    tokens = tuple(_parse(text))
    if len(tokens) == 1 and tokens[0][0] == _LITERAL:
        word = tokens[0][1]
        return lambda name: name == word

    def match(name: str) -> bool:
        return _match(tokens, name)

    return match


def _match(tokens: tuple[tuple[int, object], ...], name: str) -> bool:
    # Every position the pattern so far can end at; at most len(name) + 1 of them.
    n = len(name)
    positions = {0}
    for kind, arg in tokens:
        if kind == _STAR:
            positions = set(range(min(positions), n + 1))
            continue
        following: set[int] = set()
        for pos in positions:
            if kind == _LITERAL:
                if name.startswith(arg, pos):  # type: ignore[arg-type]
                    following.add(pos + len(arg))  # type: ignore[arg-type]
            elif pos < n:
                if kind == _ANY_ONE:
                    following.add(pos + 1)
                elif kind == _SET:
                    if name[pos] in arg:  # type: ignore[operator]
                        following.add(pos + 1)
                elif kind == _NOT_SET:
                    if name[pos] not in arg:  # type: ignore[operator]
                        following.add(pos + 1)
            if kind == _CHOICE:
                for word in arg:  # type: ignore[attr-defined]
                    if name.startswith(word, pos):
                        following.add(pos + len(word))
        if not following:
            return False
        positions = following
    return n in positions
