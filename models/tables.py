"""Every table of the store. Rows are plain records; state changes live in the operation
modules beside this one (enrolment, routing, fund, requests, outbox)."""

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import json_column, utc_column, utcnow


class Organisation(SQLModel, table=True):
    """An alliance member: employer of workers, provider of services, or the coordinator."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=60)
    name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=json_column(nullable=False))
    ateco: str | None = Field(default=None, max_length=10)
    escalation_minutes: int = Field(default=60)


class Municipality(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=80)


class Person(SQLModel, table=True):
    """A worker, an operator or a coordinator, whatever channels they write from."""

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(index=True, max_length=20)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    first_name: str | None = Field(default=None, max_length=60)
    gender: str | None = Field(default=None, max_length=10)  # f, m, other, or None (not said)
    language: str = Field(default="it", max_length=5)
    consent_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_municipality_id: int | None = Field(default=None, foreign_key="municipality.id")
    last_address: str | None = Field(default=None, max_length=200)
    active: bool = Field(default=True)
    erased_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    # «📣 Novità e iniziative»: announcements only to those who said yes (default no)
    news_opt_in: bool = Field(default=False)
    news_asked_at: datetime | None = Field(default=None, sa_column=utc_column())
    news_changed_at: datetime | None = Field(default=None, sa_column=utc_column())


class ChatIdentity(SQLModel, table=True):
    """One chat on one channel: a Telegram chat id, a WhatsApp number (E.164), a console phone."""

    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    external_id: str = Field(max_length=64)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    last_inbound_at: datetime | None = Field(default=None, sa_column=utc_column())
    unreachable_at: datetime | None = Field(default=None, sa_column=utc_column())
    opted_out_at: datetime | None = Field(default=None, sa_column=utc_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class EnrolmentCode(SQLModel, table=True):
    """A single-use, expiring code that makes a chat into a person of an organisation."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=16)
    organisation_id: int = Field(foreign_key="organisation.id")
    role: str = Field(max_length=20)
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=utc_column())
    used_by_person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    issued_by_id: int | None = Field(default=None, foreign_key="person.id")
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column())
    revoked_by_id: int | None = Field(default=None, foreign_key="person.id")


class Service(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=60)
    category: str = Field(index=True, max_length=20)
    name_it: str = Field(max_length=120)
    name_en: str = Field(max_length=120)
    description_it: str = Field(default="", max_length=300)
    description_en: str = Field(default="", max_length=300)
    duration_minutes: int
    price_cents: int
    active: bool = Field(default=True)

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_it


class Offering(SQLModel, table=True):
    """Which cooperative offers which service, on which weekdays, hours and daily capacity."""

    __table_args__ = (UniqueConstraint("provider_id", "service_id"),)

    id: int | None = Field(default=None, primary_key=True)
    provider_id: int = Field(foreign_key="organisation.id", index=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    weekdays: list[int] = Field(sa_column=json_column(nullable=False))  # ISO: 1 = Monday
    opens: time
    closes: time
    daily_capacity: int
    active: bool = Field(default=True)


class OfferingMunicipality(SQLModel, table=True):
    offering_id: int = Field(foreign_key="offering.id", primary_key=True)
    municipality_id: int = Field(foreign_key="municipality.id", primary_key=True)


class CapacityUse(SQLModel, table=True):
    """How many jobs an offering has taken on a day; incremented only while below capacity."""

    offering_id: int = Field(foreign_key="offering.id", primary_key=True)
    day: date = Field(primary_key=True)
    used: int = Field(default=0)


class ServiceRequest(SQLModel, table=True):
    """A worker's request for one service at one time and place."""

    __tablename__ = "service_request"
    __table_args__ = (  # the digest's and the figures' queries (migration 0004)
        Index("ix_service_request_received", "created_at", "service_id", "status",
              "municipality_id", "provider_id", "worker_id"),
        Index("ix_service_request_done", "done_at", "status", "service_id", "provider_id",
              "worker_id", "actual_minutes", "duration_minutes"),
        Index("ix_service_request_status_starts_at", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    worker_id: int = Field(foreign_key="person.id", index=True)
    service_id: int = Field(foreign_key="service.id", index=True)
    municipality_id: int = Field(foreign_key="municipality.id", index=True)
    starts_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    duration_minutes: int
    address: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=500)
    status: str = Field(index=True, max_length=20)
    provider_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    offering_id: int | None = Field(default=None, foreign_key="offering.id")
    operator_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    price_cents: int
    fund_cents: int = Field(default=0)
    offer_round: int = Field(default=0)  # how many times offers went out (escalations, moves)
    offered_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))
    tried_provider_ids: list[int] = Field(
        default_factory=list, sa_column=json_column(nullable=False))
    actual_minutes: int | None = None
    done_at: datetime | None = Field(default=None, sa_column=utc_column())
    complaint: str | None = Field(default=None, max_length=1000)
    complaint_at: datetime | None = Field(default=None, sa_column=utc_column())
    # the coordinator marked the complaint handled, with a note the worker is told (0006)
    complaint_handled_at: datetime | None = Field(default=None, sa_column=utc_column())
    complaint_handled_by: int | None = Field(default=None, foreign_key="person.id")
    complaint_note: str | None = Field(default=None, max_length=1000)
    erased_at: datetime | None = Field(default=None, sa_column=utc_column())  # retention
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Offer(SQLModel, table=True):
    """A job offered to one operator in one round. `open` until they answer or the round
    ends (`accepted`, `declined`, `closed` when a colleague took it or it moved on)."""

    __table_args__ = (UniqueConstraint("request_id", "operator_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    operator_id: int = Field(foreign_key="person.id", index=True)
    round: int
    kind: str = Field(default="new", max_length=20)  # new | move (confirm a moved slot)
    status: str = Field(default="open", index=True, max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    answered_at: datetime | None = Field(default=None, sa_column=utc_column())


class RelayMessage(SQLModel, table=True):
    """A message between the worker and the operator of a job, passed on by the bot so
    neither sees the other's number or account."""

    __tablename__ = "relay_message"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    sender_id: int = Field(foreign_key="person.id")
    recipient_id: int = Field(foreign_key="person.id")
    text: str | None = Field(default=None, max_length=1000)  # None once erased (retention)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class RequestEvent(SQLModel, table=True):
    """One transition of a request: who, when, from which status to which, and why."""

    __tablename__ = "request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Fund(SQLModel, table=True):
    """The 40,000 euro fund. Running totals make the reservation one conditional update."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=60)
    name: str = Field(max_length=200)
    total_cents: int
    reserved_cents: int = Field(default=0)
    committed_cents: int = Field(default=0)
    cap_per_worker_year_cents: int
    share_percent: dict[str, int] = Field(sa_column=json_column(nullable=False))


class WorkerFundUse(SQLModel, table=True):
    """What the fund has reserved or paid for one worker in one calendar year."""

    __tablename__ = "worker_fund_use"

    fund_id: int = Field(foreign_key="fund.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    year: int = Field(primary_key=True)
    used_cents: int = Field(default=0)


class LedgerEntry(SQLModel, table=True):
    """Every movement of the fund: reserve, release, commit (amounts in cents)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_movements", "at", "fund_id", "kind", "amount_cents"),)

    id: int | None = Field(default=None, primary_key=True)
    fund_id: int = Field(foreign_key="fund.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="service_request.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(max_length=10)
    amount_cents: int
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class Conversation(SQLModel, table=True):
    """Where one chat identity is in the dialogue; the draft of what it is asking for."""

    id: int | None = Field(default=None, primary_key=True)
    identity_id: int = Field(foreign_key="chatidentity.id", unique=True)
    step: str = Field(max_length=40)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    back: list[str] = Field(default_factory=list, sa_column=json_column(nullable=False))
    seq: int = Field(default=0)
    choices: list[dict[str, str]] = Field(
        default_factory=list, sa_column=json_column(nullable=False)
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class ChoiceToken(SQLModel, table=True):
    """A short opaque token standing for a pressed choice (Telegram allows 64 bytes).

    Step tokens are valid only while their conversation is at the same `seq`;
    notice tokens belong to a person and stay valid until the action they name is moot."""

    __tablename__ = "choice_token"

    token: str = Field(primary_key=True, max_length=16)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    seq: int | None = None
    value: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class ProcessedUpdate(SQLModel, table=True):
    """An inbound update id (Telegram update_id, Twilio MessageSid, a console line) already
    handled, with the replies its turn gave, queued in the same transaction: delivered at
    once by the channel (which sets `delivered_at`), or later by the dispatcher, or to the
    redelivered update (handlers.inbound)."""

    __tablename__ = "processed_update"

    channel: str = Field(primary_key=True, max_length=20)
    update_id: str = Field(primary_key=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    chat: str | None = Field(default=None, max_length=64)  # the chat's external id
    replies: list[dict[str, Any]] | None = Field(default=None, sa_column=json_column())
    delivered_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))
    claimed_until: datetime | None = Field(default=None, sa_column=utc_column())


class Notice(SQLModel, table=True):
    """The outbox: a message for someone other than the sender, queued in the transaction
    that caused it and sent later by the dispatcher. Rendered in the recipient's language
    at sending time from `kind` and `params`."""

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=120)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    audience: str | None = Field(default=None, max_length=20)  # role, while person is unknown
    kind: str = Field(max_length=40)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(nullable=False))
    choices: list[dict[str, str]] = Field(
        default_factory=list, sa_column=json_column(nullable=False)
    )
    status: str = Field(index=True, max_length=20)
    channel: str | None = Field(default=None, max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=utc_column(nullable=False, index=True)
    )
    claimed_until: datetime | None = Field(default=None, sa_column=utc_column())
    last_error: str | None = Field(default=None, max_length=500)
    rendered_text: str | None = None
    held_reason: str | None = Field(default=None, max_length=40)  # e.g. "inactive"
    provider_message_id: str | None = Field(default=None, max_length=64, index=True)
    delivery_status: str | None = Field(default=None, max_length=20)  # queued … read/failed
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    shown_at: datetime | None = Field(default=None, sa_column=utc_column())
    # handed to a channel, outcome not yet recorded (see models.outbox.mark_in_flight)
    in_flight_at: datetime | None = Field(default=None, sa_column=utc_column())
    in_flight_chat_id: int | None = None  # the ChatIdentity it was handed to
    unknown_outcomes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LinkCode(SQLModel, table=True):
    """A one-time code shown on one channel and typed on another, to make both chats one
    person (so notices reach them wherever they last wrote)."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=16)
    person_id: int = Field(foreign_key="person.id", index=True)
    expires_at: datetime = Field(sa_column=utc_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=utc_column())
    used_by_identity_id: int | None = Field(default=None, foreign_key="chatidentity.id")


class Survey(SQLModel, table=True):
    """The satisfaction survey of a done job: sent after it, reminded once, closed after a
    week. Scores of 1 or 2 alert the coordinator and the cooperative."""

    __table_args__ = (Index("ix_survey_sent", "sent_at", "answered_at", "score"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="service_request.id", unique=True)
    worker_id: int = Field(foreign_key="person.id", index=True)
    provider_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    due_at: datetime = Field(sa_column=utc_column(nullable=False, index=True))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column())
    answered_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))
    closed_at: datetime | None = Field(default=None, sa_column=utc_column())
    score: int | None = None
    comment: str | None = Field(default=None, max_length=1000)
    # the worker agreed the comment may be quoted (without their name) in reports (0006)
    comment_shareable: bool | None = None


class Attachment(SQLModel, table=True):
    """A file a notice carries (the digest's chart, an indicators CSV, a person's own data):
    sent as a photo or document on Telegram, and as a signed, expiring link elsewhere."""

    id: int | None = Field(default=None, primary_key=True)
    filename: str = Field(max_length=120)
    content_type: str = Field(max_length=80)
    data: bytes
    owner_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))


class ClockMark(SQLModel, table=True):
    """What a clock job last did (e.g. the last day whose digest was queued), so a restart
    or a day of downtime neither skips nor repeats it."""

    __tablename__ = "clock_mark"

    name: str = Field(primary_key=True, max_length=40)
    value: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))

from models import panel  # noqa: E402, F401  (the web console's tables)
from models.programme_tables import (  # noqa: E402, F401  the console's audit, announcements
    Announcement,
    AnnouncementRecipient,
    ChangeEvent,
)
from models.whatsapp_inbox import WhatsAppInbound  # noqa: E402,F401  (issue 10)
