from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.templates import TemplateError, check, parse, placeholders, render


@pytest.mark.parametrize(
    ("template", "names"),
    [
        ("", set()),
        ("no placeholders", set()),
        ("Здравствуйте, {name}! Заказ {order}.", {"name", "order"}),
        ("{ name }", {"name"}),
        ("{Имя клиента} and {name} twice {name}", {"Имя клиента", "name"}),
        ("{{literal}} {real}", {"real"}),
        ("{{{wrapped}}}", {"wrapped"}),
        ("{0.__class__}", {"0.__class__"}),
    ],
)
def test_placeholders(template: str, names: set[str]) -> None:
    assert placeholders(template) == names


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("Hello {name", "unmatched '{' at position 7"),
        ("Hello name}", "unmatched '}' at position 11"),
        ("{}", "empty placeholder"),
        ("{  }", "empty placeholder"),
        ("{a{b}}", "unmatched '{' at position 1"),
    ],
)
def test_malformed_templates_are_refused(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        placeholders(template)


@pytest.mark.parametrize(
    ("template", "variables", "text"),
    [
        ("Здравствуйте, {name}!", {"name": "Анна"}, "Здравствуйте, Анна!"),
        ("{a}{b}", {"a": "1", "b": "2"}, "12"),
        ("{{name}} is {name}", {"name": "x"}, "{name} is x"),
        ("{{{name}}}", {"name": "x"}, "{x}"),
        ("{n}", {"n": 17}, "17"),
        ("{n}", {"n": None}, ""),
        ("{ name }", {"name": "spaced"}, "spaced"),
        ("{0.__class__}", {"0.__class__": "plain"}, "plain"),
        ("{x[0]}", {"x[0]": "no indexing"}, "no indexing"),
        ("", {}, ""),
    ],
)
def test_render(template: str, variables: dict[str, object], text: str) -> None:
    assert render(template, variables) == text


def test_render_without_a_value_names_the_placeholder() -> None:
    with pytest.raises(TemplateError, match=r"no value for placeholder \{order\}"):
        render("Заказ {order}", {"name": "Анна"})


def test_check_names_unknown_placeholders_and_available_columns() -> None:
    with pytest.raises(TemplateError) as caught:
        check("Hi {name}, {order} / {city}", ["name", "sum"])
    assert str(caught.value) == (
        "unknown placeholder(s) {city}, {order}; available columns: name, sum"
    )


def test_check_with_no_columns_says_so() -> None:
    with pytest.raises(TemplateError, match="available columns: none"):
        check("{name}", [])


def test_check_accepts_known_placeholders() -> None:
    check("Hi {name}, {{not a column}}", ["name", "order"])


def test_literal_is_what_renders_whatever_the_variables() -> None:
    template = parse("  {a} {{x}} {b}")
    assert template.literal == "   {x} "
    assert template.names == {"a", "b"}


_names = st.text(alphabet=st.characters(blacklist_characters="{}"), min_size=1).filter(
    lambda name: name.strip() == name and name != ""
)
_literals = st.text().map(lambda text: text.replace("{", "{{").replace("}", "}}"))


@given(st.lists(st.tuples(_literals, _names)), _literals, st.data())
def test_render_substitutes_every_placeholder_and_keeps_literals(
    pieces: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    template = "".join(f"{literal}{{{name}}}" for literal, name in pieces) + tail
    values = {name: data.draw(st.text(), label=name) for _, name in pieces}
    expected = "".join(
        literal.replace("{{", "{").replace("}}", "}") + values[name] for literal, name in pieces
    ) + tail.replace("{{", "{").replace("}}", "}")
    assert render(template, values) == expected
    assert placeholders(template) == set(values)


@given(st.text())
def test_any_text_either_parses_or_raises_template_error(text: str) -> None:
    try:
        parsed = parse(text)
    except TemplateError:
        return
    assert render(text, dict.fromkeys(parsed.names, "")) == parsed.literal
