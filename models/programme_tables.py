"""Tables of the programme's own management: the audit of changes made by staff (the
catalogue, the fund, enrolment codes, people) and the announcements of the territory's
conciliation initiatives (the programme's action 5)."""

from datetime import date, datetime
from typing import Any

from sqlmodel import Field, SQLModel

from models.base import json_column, utc_column, utcnow


class ChangeEvent(SQLModel, table=True):
    """One change made by a member of staff: who, when, what, and the values before and
    after (None for a creation's before, or where the change has no 'after')."""

    __tablename__ = "change_event"

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    subject: str = Field(max_length=30, index=True)  # service, offering, organisation, fund…
    subject_key: str = Field(max_length=120)  # the code or id of what changed
    action: str = Field(max_length=30)  # create, update, pause, revoke, deactivate…
    before: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    after: dict[str, Any] | None = Field(default=None, sa_column=json_column())
    at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False,
                                                                          index=True))


class Announcement(SQLModel, table=True):
    """A conciliation initiative of the territory told to the workers who opted in.
    `employer_ids` / `municipality_ids` narrow the audience; both empty = everyone."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=120)
    body: str = Field(max_length=700)
    link: str | None = Field(default=None, max_length=300)
    day: date | None = None  # the initiative's date, when it has one
    employer_ids: list[int] = Field(default_factory=list, sa_column=json_column(nullable=False))
    municipality_ids: list[int] = Field(
        default_factory=list, sa_column=json_column(nullable=False))
    author_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(index=True))


class AnnouncementRecipient(SQLModel, table=True):
    """Who an announcement was queued for, and the notice that carries it."""

    __tablename__ = "announcement_recipient"

    announcement_id: int = Field(foreign_key="announcement.id", primary_key=True)
    person_id: int = Field(foreign_key="person.id", primary_key=True)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
