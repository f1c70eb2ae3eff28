"""The one place a contact's status is written (docs/design.md §5): waiting → dialing → waiting or
done.

Every other module asks here: the pacer claims and gives back, the dial job and the sweeper
finish, reschedule or put back, an event writes its settlement, and cancelling or ending a
campaign closes its waiting contacts. Keeping the writes together keeps the invariants in one
reader's view: only a `dialing` contact is settled by a call, and a contact of a cancelled or
completed campaign ends as such instead of waiting again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Update, update

from campaigns.outcomes import Settlement
from campaigns.states import CampaignStatus, ContactStatus, Outcome, WaitingReason
from campaigns.tables import Campaign, Contact

__all__ = [
    "WAITING",
    "back_to_waiting",
    "claim_waiting",
    "close_waiting",
    "finish",
    "reschedule",
    "unclaim",
    "write_settlement",
]

WAITING = (ContactStatus.PENDING, ContactStatus.SCHEDULED)
"""Contacts not being dialed and not done: the pacer's candidates, which ending a campaign
closes."""


def finish(contact: Contact, outcome: Outcome) -> None:
    contact.status = ContactStatus.DONE
    contact.outcome = outcome
    contact.next_attempt_at = None


def back_to_waiting(contact: Contact, campaign: Campaign) -> None:
    """The contact was not called: it waits again, unless its campaign is over."""
    if contact.status != ContactStatus.DIALING:
        return
    if not _closed(contact, campaign):
        contact.status = ContactStatus.PENDING
        contact.next_attempt_at = None


def reschedule(
    contact: Contact, campaign: Campaign, at: datetime | None, reason: WaitingReason
) -> None:
    """The contact waits until `at` for `reason` (campaigns.waiting); expired when None."""
    if contact.status != ContactStatus.DIALING or _closed(contact, campaign):
        return
    if at is None:
        finish(contact, Outcome.EXPIRED)
        return
    contact.status = ContactStatus.SCHEDULED
    contact.next_attempt_at = at
    contact.waiting_reason = reason


def _closed(contact: Contact, campaign: Campaign) -> bool:
    """Settles a contact of a cancelled or completed campaign as such; True if it did."""
    if campaign.status == CampaignStatus.CANCELLED:
        finish(contact, Outcome.CANCELLED)
        return True
    if campaign.status == CampaignStatus.COMPLETED:
        finish(contact, Outcome.EXPIRED)
        return True
    return False


def write_settlement(contact: Contact, settlement: Settlement, *, now: datetime) -> None:
    """A finished or lost call's settlement (campaigns.outcomes): redialed later, or done."""
    contact.attempts = settlement.attempts
    contact.network_attempts = settlement.network_attempts
    contact.history = settlement.history
    contact.last_cause = settlement.last_cause
    contact.last_call_at = now
    if settlement.outcome is None:
        contact.status = ContactStatus.SCHEDULED
        contact.next_attempt_at = settlement.next_attempt_at
        contact.waiting_reason = WaitingReason.REDIAL_DELAY
    else:
        contact.status = ContactStatus.DONE
        contact.outcome = settlement.outcome
        contact.next_attempt_at = None


def claim_waiting(contact_ids: Sequence[int], due: ColumnElement[bool]) -> Update:
    """Those of `contact_ids` still waiting and `due` → dialing, returning their ids: a
    compare-and-set, so a contact claimed or cancelled meanwhile is skipped."""
    return (
        update(Contact)
        .where(Contact.id.in_(list(contact_ids)), Contact.status.in_(WAITING), due)
        .values(status=ContactStatus.DIALING)
        .returning(Contact.id)
    )


def unclaim(contact_ids: Sequence[int], status: str) -> Update:
    """Claimed contacts that were not dialed after all → back to the waiting `status` they were
    claimed from."""
    return (
        update(Contact)
        .where(Contact.id.in_(list(contact_ids)), Contact.status == ContactStatus.DIALING)
        .values(status=status)
    )


def close_waiting(campaigns: ColumnElement[bool], outcome: Outcome) -> Update:
    """The waiting contacts of the campaigns `campaigns` selects (a condition on
    `Contact.campaign_id`) → done with `outcome`."""
    return (
        update(Contact)
        .where(campaigns, Contact.status.in_(WAITING))
        .values(status=ContactStatus.DONE, outcome=outcome, next_attempt_at=None)
    )
