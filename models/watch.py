"""What the store says about the product's health, for /metrics and /health/ready: the
outbox's backlog, the notices by status, when each clock job last succeeded, the fund's
remaining money, when each channel last delivered. Read-only, a handful of aggregate
queries; the same answer from every process, since it comes from the one store."""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import NoticeStatus
from models.tables import ClockMark, Fund, Notice

RAN = "ran:"  # ClockMark names "ran:<job>": when the clock job last succeeded
DELIVERED = (NoticeStatus.SENT, NoticeStatus.DELIVERED)


@dataclass
class StoreState:
    due: int = 0  # pending notices whose time has come
    oldest_due_seconds: float = 0.0  # how long the oldest of them has waited
    notices: dict[tuple[str, str, str], int] = field(default_factory=dict)  # status, channel, kind
    jobs: dict[str, datetime] = field(default_factory=dict)  # last success per clock job
    fund_remaining: dict[str, int] = field(default_factory=dict)  # cents, per fund code
    last_sent: dict[str, datetime] = field(default_factory=dict)  # per channel
    digest_day: date | None = None  # the last day whose digest was queued
    last_backup: datetime | None = None  # the nightly backup's last copy (BACKUP_DIR)


async def store_state(session: AsyncSession, now: datetime) -> StoreState:
    state = StoreState()
    due = Notice.status == NoticeStatus.PENDING, Notice.next_attempt_at <= now
    count, oldest = (await session.exec(
        select(func.count(), func.min(Notice.next_attempt_at)).where(*due))).one()
    state.due = count
    state.oldest_due_seconds = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    by_kind = select(Notice.status, Notice.channel, Notice.kind, func.count()).group_by(
        Notice.status, Notice.channel, Notice.kind)
    for status, channel, kind, number in (await session.exec(by_kind)).all():
        state.notices[(status, channel or "", kind)] = number
    for mark in (await session.exec(select(ClockMark))).all():
        if mark.name.startswith(RAN):
            state.jobs[mark.name[len(RAN):]] = mark.updated_at
        elif mark.name == "digest" and mark.value:
            state.digest_day = date.fromisoformat(mark.value)
        elif mark.name == "backup":
            state.last_backup = mark.updated_at
    for fund in (await session.exec(select(Fund))).all():
        state.fund_remaining[fund.code] = (fund.total_cents - fund.reserved_cents
                                           - fund.committed_cents)
    sent = (select(Notice.channel, func.max(Notice.sent_at))
            .where(Notice.status.in_([str(s) for s in DELIVERED]), Notice.channel.is_not(None))
            .group_by(Notice.channel))
    for channel, at in (await session.exec(sent)).all():
        if at is not None:
            state.last_sent[channel] = at
    return state


async def record_job_success(session: AsyncSession, job_id: str, now: datetime) -> None:
    """Remember that the clock job `job_id` succeeded at `now`."""
    name = f"{RAN}{job_id}"[:40]
    mark = await session.get(ClockMark, name) or ClockMark(name=name, value="ok")
    mark.updated_at = now
    session.add(mark)
