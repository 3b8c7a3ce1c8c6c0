"""Column types and constants shared by every table."""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC (SQLite has no time zones) and always hands back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def utc_column(**kwargs) -> Column:
    return Column(UTCDateTime(), **kwargs)


def json_column(**kwargs) -> Column:
    return Column(JSON(), **kwargs)


class Role(StrEnum):
    WORKER = "worker"
    OPERATOR = "operator"
    COORDINATOR = "coordinator"
    CONTACT = "contact"  # a partner's project contact ("referente"): the web console only


class OrgRole(StrEnum):
    EMPLOYER = "employer"
    PROVIDER = "provider"
    COORDINATOR = "coordinator"


class Category(StrEnum):
    ERRAND = "errand"
    CHILDCARE = "childcare"
    ELDERCARE = "eldercare"


class Channel(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"


class RequestStatus(StrEnum):
    """A request's lifecycle. `pending`: routed, waiting for an operator of the cooperative;
    `unserved`: nobody could take it, the coordinator was told; `assigned`: an operator took it."""

    PENDING = "pending"
    UNSERVED = "unserved"
    ASSIGNED = "assigned"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @classmethod
    def open(cls) -> tuple["RequestStatus", ...]:
        return (cls.PENDING, cls.UNSERVED, cls.ASSIGNED)


class NoticeStatus(StrEnum):
    PENDING = "pending"
    HELD = "held"  # no recipient yet (e.g. no coordinator enrolled): waits, is never dropped
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"  # not sent: what it offered no longer stands (a cancelled job)
