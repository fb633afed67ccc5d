"""The one table of quantities: one name grammar, one map from a name to its worked expression, and the
dependencies read off that expression's labels."""

from __future__ import annotations

import pytest

from nnworked import bundled
from nnworked.quantities import Name, parse, sort_key, table
from tests.helpers import trace_of


@pytest.mark.parametrize("text, name", [
    ("z1[0]", Name("z", 1, (0,))), ("dW2[0,1]", Name("dW", 2, (0, 1))), ("L", Name("L", 0, ())),
    ("C[0,1]", Name("C", 0, (0, 1))), ("a2[0]@2", Name("a", 2, (0,), 2)), ("a2[0,1]@final", Name("a", 2, (0, 1), "final")),
])
def test_one_grammar_parses_and_builds_every_name(text: str, name: Name) -> None:
    assert parse(text) == name
    assert str(name) == text


@pytest.mark.parametrize("text", ["z1[", "ŷ", "dW2[0,x]", "z1[0]@", ""])
def test_a_text_that_is_not_a_name_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


def test_the_order_a_student_works_in() -> None:
    names = ["W1[0,0]", "dW1[0,0]", "L", "dz2[0]", "a1[0]", "z2[0]", "z1[0]", "da1[0]", "db2[0]"]
    assert sorted(names, key=sort_key) == ["z1[0]", "a1[0]", "z2[0]", "L", "dz2[0]", "db2[0]", "da1[0]",
                                           "dW1[0,0]", "W1[0,0]"]


def test_dependencies_are_read_off_the_worked_expressions() -> None:
    t = table(trace_of("spam"))
    assert t.depends("z1[0]") == frozenset()  # inputs and weights are given
    assert t.depends("a1[0]") == {"z1[0]"}
    assert t.depends("z2[0]") == {"a1[0]", "a1[1]"}
    assert t.depends("L") == {"a2[0]"}
    assert t.depends("da2[0]") == {"a2[0]"}
    assert t.depends("dz2[0]") == {"a2[0]"}  # the shortcut ŷ − y
    assert t.depends("dW2[0,1]") == {"dz2[0]", "a1[1]"}
    assert t.depends("W2[0,1]") == {"dW2[0,1]"}
    assert "W1[0,0]" in t.downstream(["a2[0]"])


def test_a_batch_loss_depends_on_every_example_output() -> None:
    t = table(trace_of("xor_batch"))
    assert t.depends("L") == {f"a2[0,{e}]" for e in range(4)}


@pytest.mark.parametrize("name", bundled.names())
def test_every_quantity_has_an_expression_that_evaluates_to_its_value(name: str) -> None:
    """The one map from a name to its worked expression agrees with the value the engine computed (under
    `rounding: carry`, as carried)."""
    from nnworked.expr import chain

    trace = trace_of(name)
    t = table(trace)
    for key, value in t.values.items():
        assert t.depends(key) <= set(t.values), key
        worked = chain(t.expression(key), trace.precision.carried)[-1].value  # type: ignore[union-attr]
        assert worked == pytest.approx(value, rel=1e-9, abs=1e-12), key
