"""A small registry: rules looked up by the name a user types, and an error that says what exists."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from nnworked.errors import NnworkedError

R = TypeVar("R")


class UnknownRule(NnworkedError, KeyError):
    """A name no rule is registered under. A KeyError too, so `Mapping.get` and `in` behave as usual."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class IncompleteRule(TypeError):
    """A rule class that lacks a piece its family requires: a programming error, found at registration."""


class Registry(Mapping[str, R], Generic[R]):
    """The rules of one family (activation, loss, optimizer), keyed by name, in registration order."""

    def __init__(self, family: str, base: type):
        self.family, self.base = family, base
        self._rules: dict[str, R] = {}

    def register(self, rule: type | R) -> R:
        """Add a rule (a class, instantiated here, or an instance). A class that leaves one of its family's
        abstract pieces undefined is refused with the names of the missing pieces."""
        if isinstance(rule, type):
            missing = sorted(getattr(rule, "__abstractmethods__", ()))
            if missing:
                raise IncompleteRule(f"the {self.family} rule {rule.__name__} cannot be registered: it lacks "
                                     f"{', '.join(missing)}")
            rule = rule()
        if not isinstance(rule, self.base):
            raise IncompleteRule(f"a {self.family} rule must be a {self.base.__name__}, not {type(rule).__name__}")
        name = getattr(rule, "name")
        if not isinstance(name, str) or not name:
            raise IncompleteRule(f"a {self.family} rule needs the name a scenario uses")
        if name in self._rules:
            raise ValueError(f"a {self.family} named {name} is already registered")
        self._rules[name] = rule  # type: ignore[assignment]
        return rule  # type: ignore[return-value]

    def unregister(self, name: str) -> None:
        self.lookup(name)
        del self._rules[name]

    def lookup(self, name: str) -> R:
        """The rule registered under `name`; an unknown name raises at once, saying what exists."""
        try:
            return self._rules[name]
        except (KeyError, TypeError):
            raise UnknownRule(f"unknown {self.family} {name!r}: choose from: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return list(self._rules)

    def rules(self) -> list[R]:
        return list(self._rules.values())

    def __getitem__(self, name: str) -> R:
        return self.lookup(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._rules
