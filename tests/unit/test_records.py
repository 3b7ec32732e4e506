"""@record behaves as @dataclass does (fields, defaults, repr, equality, hashing, frozen,
order, asdict, replace), built for less: compared with dataclasses on the same class body."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import ClassVar

import pytest

from oscar import records
from oscar.records import record


def twins(frozen: bool = False) -> tuple[type, type]:
    """The same class body under @dataclass and under @record."""
    def body():
        class Thing:
            name: str
            port: int = 0
            secret: str = FIELD(default="", repr=False)
            cache: list = FIELD(default_factory=list, compare=False)
        return Thing
    FIELD = dataclasses.field  # noqa: N806 (the body reads FIELD from here)
    plain = dataclass(frozen=frozen)(body())
    FIELD = records.field  # noqa: N806
    return plain, record(frozen=frozen)(body())


@pytest.mark.parametrize("frozen", [False, True])
def test_repr_and_equality_match_dataclass(frozen):
    plain, lean = twins(frozen)
    a = lean("proj", 9, "hunter2", [1])
    assert repr(a) == repr(plain("proj", 9, "hunter2", [1]))
    assert "hunter2" not in repr(a)
    assert a == lean("proj", 9, "hunter2", [2])  # compare=False is left out
    assert a != lean("proj", 9, "other")
    assert a != plain("proj", 9, "hunter2", [1])  # another class is never equal
    nan = float("nan")  # the same object: equal inside tuples, as dataclass() compares
    assert (lean("x", nan) == lean("x", nan)) is (plain("x", nan) == plain("x", nan)) is True


def test_hashing_matches_dataclass():
    plain, lean = twins()
    with pytest.raises(TypeError):
        hash(lean("proj"))  # mutable: unhashable, as dataclass() makes it
    plain, lean = twins(frozen=True)
    assert hash(lean("proj", 9, "s", [1])) == hash(lean("proj", 9, "s", [2]))
    assert len({lean("proj", 9), lean("proj", 9), lean("proj", 8)}) == 2
    with pytest.raises(records.FrozenInstanceError):
        lean("proj").port = 1
    with pytest.raises(AttributeError):  # as dataclasses' error is one
        del lean("proj").name


def test_one_field_and_no_field():
    @record
    class One:
        value: int

    @record
    class Base:
        pass

    @record
    class Child(Base):
        value: int = 1

    assert One(1) == One(1) and One(1) != One(2) and repr(One(1)).endswith(".One(value=1)")
    assert Base() == Base() and repr(Base()).endswith(".Base()")
    assert Child(2) != Child(3) and Child(2) != Base()  # a subclass compares its own fields
    assert [f.name for f in records.fields(Child)] == ["value"]


def test_a_method_the_class_writes_itself_is_kept():
    @record(frozen=True)
    class Custom:
        value: int

        def __repr__(self) -> str:
            return "custom"

    assert repr(Custom(1)) == "custom" and Custom(1) == Custom(1)


def test_ordering_matches_dataclass():
    def body():
        class Target:
            scheme: str
            host: str
            port: int = 0
        return Target
    plain = dataclass(frozen=True, order=True)(body())
    lean = record(frozen=True, order=True)(body())
    rows = [("udp", "b", 2), ("tcp", "z", 9), ("udp", "b", 1), ("tcp", "a", 9)]
    assert [tuple(vars(t).values()) for t in sorted(lean(*r) for r in rows)] == \
        [tuple(vars(t).values()) for t in sorted(plain(*r) for r in rows)]
    assert lean("udp", "b") <= lean("udp", "b") < lean("udp", "c")
    with pytest.raises(TypeError):
        lean("udp", "b") < plain("udp", "b")  # noqa: B015 (another class: no order)


def test_a_class_without_a_docstring_gets_its_fields_as_one():
    @record
    class Bare:
        name: str
        port: int = 0

    assert Bare.__doc__ == "Bare(name, port)"


def test_fields_defaults_and_post_init():
    @record
    class Base:
        KIND: ClassVar[str] = "base"
        name: str
        at: float = records.field(default_factory=time.time)

    @record
    class Event(Base):
        detail: str = ""

        def __post_init__(self) -> None:
            self.detail = self.detail[:3]

    event = Event("x", 1.0, "abcdef")
    assert (event.name, event.at, event.detail) == ("x", 1.0, "abc")
    assert [f.name for f in records.fields(Event)] == ["name", "at", "detail"]
    assert Event("y").at > 0 and Event.KIND == "base" and Event.detail == ""
    assert not hasattr(Base, "at")  # a factory leaves no class value, as in dataclasses
    required = [f.name for f in records.fields(Event) if f.default is f.default_factory]
    assert required == ["name"]  # both MISSING: how oscar.messages finds required fields
    with pytest.raises(TypeError):
        Event()


def test_asdict_and_replace():
    @record(frozen=True)
    class Inner:
        tags: tuple = ()

    @record
    class Outer:
        inner: Inner
        rows: list
        table: dict

    outer = Outer(Inner(("a",)), [Inner()], {"k": [1]})
    plain = records.asdict(outer)
    assert plain == {"inner": {"tags": ("a",)}, "rows": [{"tags": ()}], "table": {"k": [1]}}
    assert plain["table"]["k"] is not outer.table["k"]  # copied, as dataclasses.asdict does
    changed = records.replace(outer.inner, tags=("b",))
    assert changed == Inner(("b",)) and outer.inner == Inner(("a",))
    with pytest.raises(TypeError):
        records.replace(outer, colour="red")


def test_a_field_without_default_after_one_with_is_refused():
    with pytest.raises(TypeError):
        @record
        class Bad:
            port: int = 0
            name: str
