"""``@record``: a dataclass for classes every process builds at start, at a fraction of the cost.

The standard ``dataclasses`` module costs a device actor a tenth of its start-up and 0.8 MB:
importing it loads ``inspect``, ``ast`` and ``dis`` (20 M instructions), and for each class
it compiles every method it adds from source text (``__init__``, ``__repr__``, ``__eq__``, for
a frozen class ``__setattr__``, ``__delattr__`` and ``__hash__``, four more for ``order``:
about 0.6 M instructions each) and asks ``inspect.signature`` for a missing docstring. 100
actors start at once. ``record`` compiles only ``__init__`` (the per-cue constructor stays as
fast), and gives the class the other methods as functions that read its field list when
called: the same results, a little slower per call, none of them on a per-cue path.

What it keeps of ``dataclasses``: fields in definition order after the base classes' fields,
``ClassVar`` annotations left out, ``field(default=, default_factory=, repr=, compare=,
hash=)``, ``__post_init__``, ``frozen`` (assignments raise ``FrozenInstanceError``), ``order``,
a mutable class unhashable, and ``fields``, ``asdict`` and ``replace`` for records.
"""

from __future__ import annotations

import operator
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # no default (dataclasses.MISSING's role)


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class Field:
    __slots__ = ("name", "type", "default", "default_factory", "repr", "compare", "hash")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING,
                 repr: bool = True, compare: bool = True, hash: bool | None = None):
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot give both default and default_factory")
        self.name = ""
        self.type: Any = None
        self.default, self.default_factory = default, default_factory
        self.repr, self.compare, self.hash = repr, compare, hash

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, repr: bool = True,
          compare: bool = True, hash: bool | None = None) -> Any:
    return Field(default, default_factory, repr, compare, hash)


def fields(record_or_class: Any) -> tuple[Field, ...]:
    try:
        return record_or_class.__record_fields__
    except AttributeError:
        raise TypeError(f"{record_or_class!r} is not a record") from None


def asdict(record: Any) -> dict[str, Any]:
    """Every field by name; records, lists, tuples and dicts inside copied the same way."""
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


def _plain(value: Any) -> Any:
    if hasattr(type(value), "__record_fields__"):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    return value


def replace(record: Any, /, **changes: Any) -> Any:
    """A new record like ``record`` with ``changes`` (checked again by its ``__init__``)."""
    values = {f.name: getattr(record, f.name) for f in fields(record)}
    values.update(changes)
    return type(record)(**values)


ORDERINGS = (("__lt__", operator.lt), ("__le__", operator.le), ("__gt__", operator.gt),
             ("__ge__", operator.ge))


def record(cls: T | None = None, /, *, frozen: bool = False, order: bool = False) -> Any:
    """``@record``, ``@record(frozen=True, order=True)``, where ``@dataclass`` would be."""
    def build(cls: T) -> T:
        found = _collect(cls)
        cls.__record_fields__ = found
        cls.__match_args__ = tuple(f.name for f in found)
        own = dict(cls.__dict__)
        if "__init__" not in own:
            cls.__init__ = _init_of(cls, found, frozen)
        if cls.__doc__ is None:
            cls.__doc__ = f"{cls.__name__}({', '.join(f.name for f in found)})"
        if "__repr__" not in own:
            cls.__repr__ = _repr_of(tuple(f.name for f in found if f.repr))
        if frozen:
            cls.__setattr__ = _frozen_set
            cls.__delattr__ = _frozen_del
        if "__eq__" not in own:
            values = _values_of(tuple(f.name for f in found if f.compare))
            cls.__eq__ = _eq_of(values)
            if "__hash__" not in own:  # as dataclass(): unhashable unless frozen
                hashed = tuple(f.name for f in found if (f.compare if f.hash is None else f.hash))
                cls.__hash__ = _hash_of(_values_of(hashed)) if frozen else None
            for name, compare in ORDERINGS if order else ():
                setattr(cls, name, _order_of(values, compare))
        return cls

    return build if cls is None else build(cls)


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _collect(cls: type) -> tuple[Field, ...]:
    """The base records' fields, then this class's annotated attributes (in order)."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for inherited in base.__dict__.get("__record_fields__", ()):
            found[inherited.name] = inherited
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        made = value if isinstance(value, Field) else Field(default=value)
        made.name, made.type = name, annotation
        if made.default is MISSING:
            if name in cls.__dict__:
                delattr(cls, name)  # a default_factory (or a bare field()): no class value
        else:
            setattr(cls, name, made.default)
        found[name] = made  # a redefined base field keeps its place, as in dataclasses
    result = tuple(found.values())
    defaulted = False
    for made in result:
        has_default = made.default is not MISSING or made.default_factory is not MISSING
        if defaulted and not has_default:
            raise TypeError(f"{cls.__name__}: field {made.name!r} without a default follows "
                            "one with a default")
        defaulted = defaulted or has_default
    return result


def _init_of(cls: type, found: tuple[Field, ...], frozen: bool) -> Callable[..., None]:
    """``__init__`` compiled once for the class, as dataclasses writes it."""
    names: dict[str, Any] = {"_MISSING": MISSING, "_set": object.__setattr__}
    params, body = ["self"], []
    for index, made in enumerate(found):
        value = made.name
        if made.default is not MISSING:
            names[f"_d{index}"] = made.default
            params.append(f"{made.name}=_d{index}")
        elif made.default_factory is not MISSING:
            names[f"_f{index}"] = made.default_factory
            params.append(f"{made.name}=_MISSING")
            value = f"_f{index}() if {made.name} is _MISSING else {made.name}"
        else:
            params.append(made.name)
        body.append(f"_set(self, {made.name!r}, {value})" if frozen
                    else f"self.{made.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = (f"def __init__({', '.join(params)}):\n    "
              + "\n    ".join(body or ["pass"]) + "\n")
    exec(source, names)  # noqa: S102 (our own text, built from field names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


def _frozen_set(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_del(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _values_of(names: tuple[str, ...]) -> Callable[[Any], tuple]:
    """An object's values of ``names``, as a tuple (what dataclass() compares and hashes)."""
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return attrgetter(*names) if names else (lambda obj: ())


def _repr_of(names: tuple[str, ...]) -> Callable[[Any], str]:
    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"
    return __repr__


def _eq_of(values: Callable[[Any], tuple]) -> Callable[[Any, Any], Any]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return values(self) == values(other)
    return __eq__


def _order_of(values: Callable[[Any], tuple],
              compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    def ordering(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(values(self), values(other))
    return ordering


def _hash_of(values: Callable[[Any], tuple]) -> Callable[[Any], int]:
    def __hash__(self: Any) -> int:
        return hash(values(self))
    return __hash__
