"""The console words every reason a campaign is not dialing, in both languages."""

from __future__ import annotations

import pytest

from api.console.campaign_page import idle_words
from api.console.i18n import Translator
from campaigns.idle import Idle, IdleCode
from tests.factories import T0

LANGUAGES = ("ru", "en")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("code", list(IdleCode))
def test_every_idle_code_has_a_sentence(lang: str, code: IdleCode) -> None:
    words = idle_words(Translator(lang), Idle(code, until=T0, zone="Europe/Moscow"), "UTC")
    assert words is not None
    assert words != f"idle.{code.value}"


@pytest.mark.parametrize(
    ("lang", "begins", "asks"),
    [
        ("ru", "большинство последних звонков оборвалось в сети МТТ", "Проверьте маршрут МТТ"),
        ("en", "most recent calls failed in MTT's network", "Check MTT's route"),
    ],
)
def test_a_network_spike_says_what_to_check(lang: str, begins: str, asks: str) -> None:
    idle = Idle(IdleCode.NETWORK_SPIKE, detail="14 of 20 calls, causes 38 ×9, 41 ×5")
    sentence = idle_words(Translator(lang), idle, "Europe/Moscow")
    assert sentence is not None
    assert sentence.startswith(begins)
    assert asks in sentence
