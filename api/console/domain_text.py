"""The domain's English texts on console pages, in the page's language.

The campaign and telecom layers word their reasons in English (the REST API and the CRMs rely
on it). The console recognises a reason by its English template, taken from the domain's own
public constants where the domain has them, and words it from the catalogue key
`domain.<name>` with the template's fields. Fields that are themselves reasons (`reason`,
`error`, ...) are recognised in turn; values quoted from the user's data stay as they are.
Pydantic errors are worded from their `type` and `ctx`, never their English `msg`.

On an English page, and for any text no template fits, the domain's text is shown unchanged,
so English pages read as the domain wrote them. Where a domain module has no public constant
for a text, its template is written in `RULES`; tests/api/console/test_domain_text.py drives
the domain functions and fails when one no longer fits. Used as the Jinja filter `domain`.
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
from campaigns import idle, rowchecks, spec, spikes, templates
from dialer.telecom import numbers

__all__ = ["DOMAIN_LANG", "RULES", "explain", "jinja_filter"]

DOMAIN_LANG: Final = "en"
_NESTED: Final = {
    "reason": "domain.",
    "error": "domain.",
    "method": "domain.voice.method_",
    "columns": "domain.template.none",
}
"""Fields whose value may itself be a domain text, of the keys starting so."""
_CODES: Final = {"status": "status.", "action": "action.", "dtmf": "dtmf."}
"""Fields whose value is a code the catalogue already words."""
_PREFIXES: Final = 3
_COUNTED: Final = frozenset({"digits"})
"""Fields whose value is a count, worded with its noun (`domain.plural.<field>`)."""

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
    ("spec.needs_a_number", "a_number: " + spec.NEEDS_A_NUMBER),
    ("form.not_a_moment", campaign_form.NOT_A_MOMENT),
    ("form.minutes", campaign_form.MINUTES),
    ("status.account_refused", idle.ACCOUNT_REFUSED_PREFIX + ": {detail}"),
    ("status.network_spike", spikes.REASON),
    ("status.network_summary", spikes.SUMMARY),
    # The modules below keep their wording inline; tests/api/console/test_domain_text.py drives
    # them and fails when a text here no longer fits theirs.
    ("dtmf.digit", "digit {value} must be a whole number from 1 to 9"),
    ("dtmf.action_of", "digit {digit}: action {value} is not one of: {allowed}"),
    ("dtmf.action", "action {value} is not one of: {allowed}"),
    ("dtmf.number_of", "digit {digit}: number {value}: {reason}"),
    ("dtmf.number", "number {value}: {reason}"),
    ("dtmf.needs_number", "digit {digit}: transfer needs a number"),
    ("dtmf.no_number", "digit {digit}: {dtmf} takes no number"),
    ("dtmf.too_many", "a DTMF menu has at most {limit} actions, got {count}"),
    ("dtmf.same_digit", "digit {digit} is used by more than one action"),
    ("voice.speed", "speed {value} must be a number from {low} to {high}"),
    ("voice.ivr_only", "lang {value} is not available on {method}: {allowed}"),
    ("voice.method_plain", "the plain informing method (no DTMF menu)"),
    ("voice.method_ivr", "ivr-api"),
    ("voice.not_setting", "{value} is not a voice setting: {allowed}"),
    ("voice.choice", "{field} {value} is not one of: {allowed}"),
    ("window.hhmm", "{field}: expected a time as HH:MM, got {value}"),
    ("window.time_of_day", "{field}: {value} is not a time of day from 00:00 to 24:00"),
    ("window.pair", '{field}: expected ["HH:MM", "HH:MM"], got {value}'),
    ("window.start_after_end", "{field}: start {start} is after end {end}"),
    ("window.unknown_zone", "{field}: unknown time zone {value}"),
    (
        "window.midnight",
        "a calling window runs from 00:00 to 24:00 without crossing midnight, got {span}",
    ),
    (
        "redial.delay",
        "redial.{category}[{index}]: a delay is whole seconds from 0 to {high}, got {value}",
    ),
    ("campaign.cannot", "campaign {id} is {status}: cannot {action} it"),
    ("campaign.pause_to_edit", "campaign {id} is {status}: pause it to edit"),
    ("campaign.no_more_contacts", "campaign {id} is {status}: it takes no more contacts"),
    ("campaign.is_a_call", "campaign {id} does not exist (it is a call: /v1/calls)"),
    ("campaign.missing", "campaign {id} does not exist"),
    ("campaign.no_contacts", "campaign {id} has no contacts: add some before starting"),
    ("campaign.ended", "campaign {id} ended at {end}: move schedule.end_at to start it"),
    ("status.paused_by", "paused by {who}"),
    ("status.cancelled_by", "cancelled by {who}"),
    ("status.end_passed", "end_at passed"),
    ("contact.missing", "contact {id} does not exist"),
    ("contact.no_digits", "number: no digits to search for in {value}"),
    ("invalid.phone", "phone: {reason}"),
    ("invalid.vars", "vars: {reason}"),
    ("dnc.opt_out", "DTMF {digit} opt-out in campaign {id}"),
    (
        "user.login",
        "login: 1 to 64 characters: latin letters, digits and . _ @ -, starting with one",
    ),
    ("user.password", "password: must be {low} to {high} characters long"),
    ("user.exists", "user {login} exists already"),
    ("user.missing", "user {login} does not exist"),
    ("user.last_admin", "{login} is the last enabled admin"),
    ("file.too_large", "file is {size} bytes; the limit is {limit} bytes"),
    ("file.empty", "file is empty"),
    ("file.no_header", "file has no header row"),
    ("file.sheet_no_header_hint", "the first sheet has no header row: names go in row 1"),
    ("file.sheet_no_header", "the first sheet has no header row"),
    ("file.old_xls", "old binary .xls is not supported: save the file as XLSX or CSV"),
    ("file.many_columns_more", "the header row has {count} or more columns; the limit is {limit}"),
    ("file.many_columns", "the header row has {count} columns; the limit is {limit}"),
    ("file.long_header", "the header row is longer than {size} KiB"),
    ("file.bad_header", "cannot parse the CSV header: {detail}"),
    ("file.unreadable", "cannot parse the CSV: {detail}"),
    ("file.too_many_rows", "file has more than {limit} rows"),
    ("file.duplicate_column", "column {name} appears more than once"),
    ("file.bad_delimiter", "delimiter must be one character, got {value}"),
    ("file.unknown_encoding", "unknown encoding {name}"),
    ("file.not_text_encoding", "{name} is not a text encoding"),
    ("match.call_id", "CallID {heard} is not the attempt's {dialled}"),
    ("match.number", "number {heard} is not the attempt's {dialled}"),
)
"""Catalogue name (after `domain.`) → the English template it words, most specific first."""


def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    for literal, name, _, _ in Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(f"(?P<{name}>.*?)")
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
        yield name, value


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
