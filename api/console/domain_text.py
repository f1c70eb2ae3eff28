"""The domain's English texts on console pages, in the page's language.

The campaign and telecom layers word their reasons in English (the REST API and the CRMs rely
on it). The console recognises a reason by its English template, taken from the domain's own
public constants where the domain has them, and words it from the catalogue key
`domain.<name>` with the template's fields. Fields that are themselves reasons (`reason`,
`error`, ...) are recognised in turn; values quoted from the user's data stay as they are.
Pydantic errors are worded from their `type` and `ctx`, never their English `msg`.

On an English page, and for any text no template fits, the domain's text is shown unchanged,
so English pages read as the domain wrote them; tests/api/console/test_domain_text.py drives
the domain functions and fails when a text is no longer recognised. Seconds (a redial delay)
read in minutes, as the console's forms ask for them. Used as the Jinja filter `domain`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from string import Formatter
from typing import Any, Final

from jinja2 import pass_context
from jinja2.runtime import Context

from api.console import campaign_form
from api.console.i18n import Translator
from campaigns import (
    apply,
    contacts,
    errors,
    idle,
    importlimits,
    launch,
    matching,
    purposes,
    rowchecks,
    spec,
    spikes,
    store,
    sweep,
    templates,
    users,
    windows,
)
from dialer.telecom import dtmf, event_texts, numbers, redial, voice

__all__ = ["DOMAIN_LANG", "RULES", "explain", "jinja_filter"]

DOMAIN_LANG: Final = "en"
_NESTED: Final = {
    "reason": "domain.",
    "error": "domain.",
    "method": "domain.voice.method_",
    "columns": "domain.template.none",
    "source": "domain.purpose.law_",
    "json_type": "domain.event.json_",
    "grammar": "domain.event.grammar_",
}
"""Fields whose value may itself be a domain text, of the keys starting so."""
_CODES: Final = {
    "status": "status.",
    "action": "action.",
    "dtmf": "dtmf.",
    "part": "domain.event.part_",
    "purpose": "domain.purpose.for_",
    "field": "domain.purpose.field_",
}
"""Fields whose value is a code the catalogue already words."""
_PREFIXES: Final = 3
_COUNTED: Final = frozenset({"digits"})
"""Fields whose value is a count, worded with its noun (`domain.plural.<field>`)."""
_CHOICES: Final = {"json_type": tuple(event_texts.JSON_TYPES.values())}
"""Fields whose value is one of these: a field beside them is then told apart from it."""
_SECONDS: Final = frozenset({"seconds", "max_seconds"})
"""Fields whose value is seconds, shown in minutes: the console's forms ask for minutes."""

RULES: Final[tuple[tuple[str, str], ...]] = (
    *((f"number.{code}", text) for code, text in numbers.REASONS.items()),
    ("rows.unknown_timezone", rowchecks.UNKNOWN_TIMEZONE),
    ("rows.renders_empty", rowchecks.RENDERS_EMPTY),
    ("rows.no_message", rowchecks.NO_MESSAGE),
    ("rows.bad_template", rowchecks.BAD_TEMPLATE),
    ("rows.no_column", rowchecks.NO_COLUMN),
    ("rows.no_phone_column", rowchecks.NO_PHONE_COLUMN),
    ("template.unmatched", templates.UNMATCHED),
    ("template.empty_placeholder", templates.EMPTY_PLACEHOLDER),
    ("template.unknown", templates.UNKNOWN_PLACEHOLDERS),
    ("template.no_value", templates.NO_VALUE),
    ("template.none", templates.NO_COLUMNS),
    ("spec.end_before_start", spec.END_BEFORE_START),
    ("spec.http_url", spec.HTTP_URL),
    ("spec.timestamp", spec.TIMESTAMP),
    ("spec.not_a_bool", spec.NOT_A_BOOL),
    ("spec.needs_a_number", "a_number: " + spec.NEEDS_A_NUMBER),
    ("form.not_a_moment", campaign_form.NOT_A_MOMENT),
    ("form.minutes", campaign_form.MINUTES),
    ("form.minutes_range", campaign_form.MINUTES_RANGE),
    ("status.account_refused", idle.ACCOUNT_REFUSED_PREFIX + ": {detail}"),
    ("status.network_spike", spikes.REASON),
    ("status.network_summary", spikes.SUMMARY),
    ("dtmf.digit", dtmf.DIGIT_RANGE),
    ("dtmf.action_of", dtmf.WHICH_DIGIT + dtmf.ACTION),
    ("dtmf.action", dtmf.ACTION),
    ("dtmf.number_of", dtmf.WHICH_DIGIT + dtmf.NUMBER),
    ("dtmf.number", dtmf.NUMBER),
    ("dtmf.needs_number", dtmf.NEEDS_NUMBER),
    ("dtmf.no_number", dtmf.NO_NUMBER),
    ("dtmf.too_many", dtmf.TOO_MANY),
    ("dtmf.same_digit", dtmf.SAME_DIGIT),
    ("voice.speed", voice.SPEED),
    ("voice.ivr_only", voice.LANG_NOT_ON),
    ("voice.method_plain", voice.PLAIN_METHOD),
    ("voice.method_ivr", voice.IVR_METHOD),
    ("voice.not_setting", voice.NOT_A_SETTING),
    ("voice.choice", voice.CHOICE),
    ("window.hhmm", windows.NOT_HHMM),
    ("window.time_of_day", windows.NOT_TIME_OF_DAY),
    ("window.pair", windows.NOT_A_PAIR),
    ("window.start_after_end", windows.START_AFTER_END),
    ("window.unknown_zone", windows.UNKNOWN_TIME_ZONE),
    ("window.midnight", windows.CROSSES_MIDNIGHT),
    ("redial.delay", redial.BAD_DELAY),
    ("purpose.above_cap", purposes.ABOVE_CAP),
    ("purpose.wider_than_law", purposes.WIDER_THAN_LAW),
    ("purpose.holidays", purposes.HOLIDAYS_AS_WEEKENDS),
    ("purpose.caps_for_debt_only", purposes.CAPS_FOR_DEBT_ONLY),
    ("purpose.law_part_3", purposes.LAW_PART_3),
    ("purpose.law_part_5", purposes.LAW_PART_5),
    ("campaign.cannot", store.CANNOT),
    ("campaign.pause_to_edit", store.PAUSE_TO_EDIT),
    ("campaign.no_more_contacts", launch.NO_MORE_CONTACTS),
    ("campaign.is_a_call", launch.IS_A_CALL),
    ("campaign.missing", errors.NO_CAMPAIGN),
    ("campaign.no_contacts", launch.NO_CONTACTS),
    ("campaign.ended", store.ENDED),
    ("status.paused_by", launch.PAUSED_BY),
    ("status.cancelled_by", launch.CANCELLED_BY),
    ("status.end_passed", sweep.END_PASSED),
    ("contact.missing", contacts.NO_CONTACT),
    ("contact.no_digits", "number: " + contacts.NO_DIGITS),
    # campaigns.errors.Invalid names its field so
    ("invalid.phone", "phone: {reason}"),
    ("invalid.vars", "vars: {reason}"),
    ("dnc.opt_out", apply.OPT_OUT),
    ("user.login", "login: " + users.BAD_LOGIN),
    ("user.password", "password: " + users.TOO_SHORT_OR_LONG),
    ("user.exists", users.USER_EXISTS),
    ("user.missing", users.NO_USER),
    ("user.last_admin", users.LAST_ADMIN),
    *((f"file.{name}", text) for name, text in importlimits.REFUSALS.items()),
    ("match.call_id", matching.OTHER_CALL_ID),
    ("match.number", matching.OTHER_NUMBER),
    *((f"event.{name}", text) for name, text in event_texts.PARSE_ERRORS.items()),
    *((f"event.json_{name}", text) for name, text in event_texts.JSON_TYPES.items()),
    *((f"event.grammar_{kind}", text) for kind, text in event_texts.GRAMMAR.items()),
)
"""Catalogue name (after `domain.`) → the English template it words, most specific first."""


def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            choices = "|".join(map(re.escape, _CHOICES.get(name, ())))
            parts.append(f"(?P<{name}>{choices or '.*?'})")
    return re.compile("".join(parts), re.DOTALL)


@cache
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((f"domain.{name}", _pattern(text)) for name, text in RULES)


def _fields(match: re.Match[str], t: Translator) -> Iterator[tuple[str, str]]:
    for name, value in match.groupdict().items():
        if name in _NESTED:
            value = _worded(value, t, _NESTED[name]) or value
        elif name in _CODES and t.has(_CODES[name] + value):
            value = t(_CODES[name] + value)
        elif name in _COUNTED and value.isdigit():
            value = f"{value} {_noun(t(f'domain.plural.{name}'), int(value))}"
        elif name in _SECONDS:
            value = _minutes(value)
        yield name, value


def _minutes(seconds: str) -> str:
    """'-90' seconds as '-1,5' minutes; a value that is not whole seconds stays as it is."""
    try:
        count = int(seconds)
    except ValueError:
        return seconds
    return f"{count / 60:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _noun(forms: str, count: int) -> str:
    """The form for `count` of 'one|few|many' (Russian: 1 цифра, 3 цифры, 6 цифр)."""
    one, few, many = forms.split("|")
    if count % 10 == 1 and count % 100 != 11:
        return one
    return few if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14 else many


def _worded(text: str, t: Translator, within: str = "domain.", prefixes: int = 0) -> str | None:
    """`text` in the page's language, or None when no template (of a key `within`) fits it.

    A text no template fits whole may be a prefix (the number or login it is about, quoted)
    and a reason: the prefix is kept and the rest worded. At most `_PREFIXES` of them, so a
    crafted text of many colons costs no more than a few passes."""
    for key, pattern in _compiled():
        match = pattern.fullmatch(text) if key.startswith(within) else None
        if match is not None:
            return t(key, **dict(_fields(match, t)))
    head, colon, tail = text.partition(": ")
    if not colon or prefixes >= _PREFIXES:
        return None
    worded = _worded(tail, t, within, prefixes + 1)
    return None if worded is None else f"{head}: {worded}"


def _pydantic(problem: Mapping[str, Any], t: Translator) -> str:
    """A pydantic error from its type and context; its English `msg` only if neither fits."""
    kind = str(problem.get("type", ""))
    ctx = problem.get("ctx") or {}
    english = str(problem.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error" and "error" in ctx:
        return explain(str(ctx["error"]), t)
    if t.lang == DOMAIN_LANG:
        return english
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        kind = "required"
    key = f"domain.pydantic.{kind}"
    return t(key, **{name: str(value) for name, value in ctx.items()}) if t.has(key) else english


def explain(value: object, t: Translator, within: str = "") -> str:
    """A domain text (or a pydantic error's details) as the page's language words it;
    `within` limits the templates tried to those named `domain.<within>…`."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return _pydantic(value, t)
    text = str(value)
    if t.lang == DOMAIN_LANG:
        return text
    return _worded(text, t, f"domain.{within}") or text


@pass_context
def jinja_filter(context: Context, value: object, within: str = "") -> str:
    """`{{ reason | domain }}`: the page's translator is the template's `t`. A value that is
    either the user's text or a reason (a rendered message) names the reasons it may be:
    `{{ text | domain("template.") }}`."""
    translator: Translator = context["t"]
    return explain(value, translator, within)
