"""A cheaper `__init__` for frozen, slotted dataclasses: the messages and outputs made per batch.

`@dataclass(frozen=True)` makes `__init__` set each field through `object.__setattr__`, found
anew for every field (its own `__setattr__` refuses). A points batch makes five or six such
objects (the decoded message, the feedback, the peers' copy, two sends), nearly thirty fields,
and that lookup was about a third of their cost. `quick_init` gives such a class an `__init__`
that calls each slot's own setter, bound once; the class stays what it was: frozen (assigning
raises), hashable, equal by value, with the same signature and defaults.

A class it cannot speak for keeps the `__init__` dataclasses wrote: not frozen or not slotted,
a `__post_init__`, an `InitVar`, a field that is keyword-only, left out of `__init__` or made
by a `default_factory`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def _eligible(cls: type) -> bool:
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        return False
    params: Any = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or hasattr(cls, "__post_init__"):
        return False
    fields = dataclasses.fields(cls)
    if any(f.default_factory is not dataclasses.MISSING for f in fields):
        return False
    # what dataclasses made must take exactly the fields, in order, by position or name: not
    # so with an InitVar, a keyword-only field or one left out of __init__
    made = list(inspect.signature(vars(cls)["__init__"]).parameters.values())[1:]
    return [p.name for p in made] == [f.name for f in fields] and all(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in made
    )


def quick_init(cls: T) -> T:
    """Replace a frozen, slotted dataclass's `__init__` by one that sets its slots directly."""
    if not _eligible(cls):
        return cls
    namespace: dict[str, Any] = {}
    params: list[str] = []
    body: list[str] = []
    for f in dataclasses.fields(cls):
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__  # the slot's descriptor
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        body.append(f"    _set_{f.name}(self, {f.name})\n")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("".join(body) or "    pass\n")
    exec(source, namespace)  # as dataclasses itself writes __init__
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    made = vars(cls)["__init__"]  # the one dataclasses wrote
    init.__doc__ = made.__doc__
    init.__annotations__ = dict(made.__annotations__)
    init.quick = True  # tells the tests which classes have it
    setattr(cls, "__init__", init)  # noqa: B010 (mypy refuses assigning to __init__)
    return cls


def quick_inits(namespace: Mapping[str, Any]) -> list[type]:
    """`quick_init` every eligible class defined in a module (its `globals()`); those changed."""
    module = namespace["__name__"]
    done = []
    for value in list(namespace.values()):
        if isinstance(value, type) and value.__module__ == module and _eligible(value):
            done.append(quick_init(value))
    return done
