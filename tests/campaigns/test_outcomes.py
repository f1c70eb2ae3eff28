from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from campaigns.contact_status import write_settlement
from campaigns.outcomes import Settlement, settle_finished, settle_lost
from dialer.telecom.causes import Category
from dialer.telecom.redial import RedialPolicy
from tests.factories import T0, make_campaign, make_contact

BASE = RedialPolicy()


@pytest.mark.parametrize(
    ("cause", "duration", "outcome", "delay", "attempts", "network"),
    [
        (16, 12, "listened", None, 1, 0),
        (16, 1, None, timedelta(hours=3), 1, 0),
        (17, 0, None, timedelta(minutes=15), 1, 0),
        (19, 0, None, timedelta(hours=2), 1, 0),
        (20, 0, None, timedelta(hours=3), 1, 0),
        (34, 0, None, timedelta(minutes=5), 1, 1),
        (1, 0, "invalid_number", None, 1, 0),
        (3, 0, "route_error", None, 1, 0),
        (21, 0, None, timedelta(hours=24), 1, 0),
    ],
)
def test_first_finished_call(
    cause: int,
    duration: int,
    outcome: str | None,
    delay: timedelta | None,
    attempts: int,
    network: int,
) -> None:
    s = settle_finished(
        make_contact(), make_campaign(), cause=cause, duration=duration, base=BASE, now=T0
    )
    assert s.outcome == outcome
    assert s.next_attempt_at == (T0 + delay if delay else None)
    assert (s.attempts, s.network_attempts, s.last_cause) == (attempts, network, cause)


def test_network_failures_do_not_use_up_attempts() -> None:
    contact = make_contact(attempts=4, network_attempts=2, history="network,busy,network,busy")
    s = settle_finished(contact, make_campaign(), cause=17, duration=0, base=BASE, now=T0)
    # two counting attempts before this one, max_attempts 3: this busy is the last
    assert s.outcome == "busy"
    assert s.history == "network,busy,network,busy,busy"


def test_campaign_overrides_shape_the_delays() -> None:
    campaign = make_campaign(redial={"busy": [60, 120]}, max_attempts=5)
    contact = make_contact(attempts=1, history="busy", last_cause=17)
    s = settle_finished(contact, campaign, cause=17, duration=0, base=BASE, now=T0)
    assert s.next_attempt_at == T0 + timedelta(seconds=120)


def test_eighteen_twice_in_a_row_is_an_invalid_number() -> None:
    contact = make_contact(attempts=1, history="no_answer", last_cause=18)
    s = settle_finished(contact, make_campaign(), cause=18, duration=0, base=BASE, now=T0)
    assert s.outcome == "invalid_number"


def test_a_lost_call_is_unanswered_and_forgets_the_cause() -> None:
    contact = make_contact(attempts=1, history="no_answer", last_cause=18)
    s = settle_lost(contact, make_campaign(), base=BASE, now=T0)
    assert s.category is Category.NO_ANSWER
    assert s.next_attempt_at == T0 + timedelta(hours=24)
    assert s.last_cause is None


@pytest.mark.parametrize(
    ("attempts", "history", "outcome"),
    [
        (0, "", None),
        (1, "no_answer", None),
        (2, "no_answer,busy", "unknown"),
    ],
)
def test_a_lost_last_call_ends_as_unknown_not_no_answer(
    attempts: int, history: str, outcome: str | None
) -> None:
    contact = make_contact(attempts=attempts, history=history)
    s = settle_lost(contact, make_campaign(max_attempts=3), base=BASE, now=T0)
    assert (s.outcome, s.category) == (outcome, Category.NO_ANSWER)


def test_a_lost_call_past_the_campaigns_end_still_expires() -> None:
    campaign = make_campaign(end_at=T0 + timedelta(minutes=30))
    s = settle_lost(make_contact(), campaign, base=BASE, now=T0)
    assert s.outcome == "expired"


def test_redial_waits_for_the_window_and_expires_past_the_end() -> None:
    office = {"workdays": ["09:00", "18:00"], "weekends": ["09:00", "18:00"]}
    late = T0.replace(hour=14, minute=30)  # 17:30 Moscow: busy + 15 min is still open
    s = settle_finished(
        make_contact(), make_campaign(window=office), cause=17, duration=0, base=BASE, now=late
    )
    assert s.next_attempt_at == late + timedelta(minutes=15)
    later = T0.replace(hour=14, minute=50)  # 17:50 + 15 min is closed: next morning 09:00 MSK
    s = settle_finished(
        make_contact(), make_campaign(window=office), cause=17, duration=0, base=BASE, now=later
    )
    assert s.next_attempt_at == (T0 + timedelta(days=1)).replace(hour=6)
    ending = make_campaign(window=office, end_at=T0.replace(hour=15))
    s = settle_finished(make_contact(), ending, cause=17, duration=0, base=BASE, now=later)
    assert s.outcome == "expired"


def test_write_settlement_moves_the_contact() -> None:
    contact = make_contact()
    write_settlement(
        contact,
        settle_finished(contact, make_campaign(), cause=17, duration=0, base=BASE, now=T0),
        now=T0,
    )
    assert (contact.status, contact.outcome, contact.attempts) == ("scheduled", None, 1)
    assert (contact.next_attempt_at, contact.waiting_reason) == (
        T0 + timedelta(minutes=15),
        "redial_delay",
    )
    write_settlement(
        contact,
        settle_finished(contact, make_campaign(), cause=16, duration=30, base=BASE, now=T0),
        now=T0,
    )
    assert (contact.status, contact.outcome) == ("done", "listened")
    assert contact.next_attempt_at is None
    assert contact.history == "busy,listened"


def test_a_changed_campaign_is_settled_by_its_new_policy_and_window() -> None:
    campaign, contact = make_campaign(), make_contact()

    def busy(now: datetime) -> Settlement:
        return settle_finished(contact, campaign, cause=17, duration=0, base=BASE, now=now)

    before = busy(T0)
    campaign.redial = {"busy": [60]}
    after = busy(T0)
    campaign.window = {"workdays": ["09:00", "18:00"], "weekends": ["09:00", "18:00"]}
    shut = busy(T0.replace(hour=14, minute=59, second=30))  # 17:59:30 Moscow; + 60 s is closed
    campaign.max_attempts = 1
    capped = busy(T0)
    assert before.next_attempt_at == T0 + timedelta(minutes=15)
    assert after.next_attempt_at == T0 + timedelta(seconds=60)
    assert shut.next_attempt_at == (T0 + timedelta(days=1)).replace(hour=6)
    assert (capped.outcome, capped.next_attempt_at) == ("busy", None)


def test_each_base_policy_keeps_its_own_settings() -> None:
    campaign, contact = make_campaign(), make_contact()

    def thirty_seconds(base: RedialPolicy) -> Category:
        return settle_finished(contact, campaign, cause=16, duration=30, base=base, now=T0).category

    strict = RedialPolicy(min_listen_seconds=60)
    assert [thirty_seconds(b) for b in (BASE, strict, BASE)] == [
        Category.LISTENED,
        Category.HUNG_UP,
        Category.LISTENED,
    ]
