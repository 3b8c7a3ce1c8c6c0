"""The fund's ledger. A reservation is two conditional updates (the fund's remaining money,
the worker's yearly cap) in one transaction, so racing confirmations can never overspend."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.calendar import local
from models.db import insert_ignoring_duplicates
from models.tables import Fund, LedgerEntry, Service, ServiceRequest, WorkerFundUse


@dataclass(frozen=True)
class Quote:
    """What a service costs and who pays. `limit` says why the fund pays less than its
    share: "" (full share), "cap" (the worker's yearly cap), "fund" (the fund is nearly
    empty), "category" (not an eligible category), "none" (no fund configured)."""

    price_cents: int
    fund_cents: int
    limit: str = ""

    @property
    def worker_cents(self) -> int:
        return self.price_cents - self.fund_cents


async def the_fund(session: AsyncSession) -> Fund | None:
    return (await session.exec(select(Fund).order_by(Fund.id))).first()


async def worker_used(session: AsyncSession, fund_id: int, person_id: int, year: int) -> int:
    row = await session.get(WorkerFundUse, (fund_id, person_id, year))
    return row.used_cents if row else 0


async def workers_helped(session: AsyncSession, fund_id: int) -> int:
    """How many workers the fund has paid a share for (any year)."""
    return (await session.exec(select(func.count()).select_from(WorkerFundUse).where(
        WorkerFundUse.fund_id == fund_id, WorkerFundUse.used_cents > 0))).one()


async def quote(session: AsyncSession, person_id: int, service: Service, year: int) -> Quote:
    fund = await the_fund(session)
    if fund is None:
        return Quote(service.price_cents, 0, "none")
    share = fund.share_percent.get(service.category, 0)
    if share <= 0:
        return Quote(service.price_cents, 0, "category")
    wanted = service.price_cents * share // 100
    cap_left = fund.cap_per_worker_year_cents - await worker_used(
        session, fund.id, person_id, year)
    fund_left = fund.total_cents - fund.reserved_cents - fund.committed_cents
    paid = max(0, min(wanted, cap_left, fund_left))
    limit = "" if paid == wanted else ("cap" if cap_left <= fund_left else "fund")
    return Quote(service.price_cents, paid, limit)


async def reserve(session: AsyncSession, request: ServiceRequest, amount: int, year: int,
                  now: datetime) -> bool:
    """Reserve `amount` for the request, or change nothing and return False."""
    if amount <= 0:
        return True
    fund = await the_fund(session)
    async with session.begin_nested() as savepoint:
        money = await session.exec(
            update(Fund)
            .where(Fund.id == fund.id,
                   Fund.total_cents - Fund.reserved_cents - Fund.committed_cents >= amount)
            .values(reserved_cents=Fund.reserved_cents + amount))
        await session.exec(insert_ignoring_duplicates(
            session, WorkerFundUse, fund_id=fund.id, person_id=request.worker_id, year=year,
            used_cents=0))
        cap = await session.exec(
            update(WorkerFundUse)
            .where(WorkerFundUse.fund_id == fund.id,
                   WorkerFundUse.person_id == request.worker_id, WorkerFundUse.year == year,
                   WorkerFundUse.used_cents + amount <= fund.cap_per_worker_year_cents)
            .values(used_cents=WorkerFundUse.used_cents + amount))
        if money.rowcount != 1 or cap.rowcount != 1:
            await savepoint.rollback()
            return False
    session.add(LedgerEntry(fund_id=fund.id, request_id=request.id,
                            person_id=request.worker_id, kind="reserve", amount_cents=amount,
                            at=now))
    return True


async def release(session: AsyncSession, request: ServiceRequest, now: datetime) -> None:
    """Give back a reservation (the request was cancelled or not done)."""
    await _settle(session, request, now, kind="release")


async def commit(session: AsyncSession, request: ServiceRequest, now: datetime) -> None:
    """Turn the reservation into spending (the job was done)."""
    await _settle(session, request, now, kind="commit")


async def _settle(session: AsyncSession, request: ServiceRequest, now: datetime,
                  kind: str) -> None:
    amount = request.fund_cents
    fund = await the_fund(session)
    if amount <= 0 or fund is None:
        return
    year = local(request.starts_at).year
    spent = {"committed_cents": Fund.committed_cents + amount} if kind == "commit" else {}
    await session.exec(update(Fund).where(Fund.id == fund.id)
                       .values(reserved_cents=Fund.reserved_cents - amount, **spent))
    if kind == "release":
        await session.exec(
            update(WorkerFundUse)
            .where(WorkerFundUse.fund_id == fund.id,
                   WorkerFundUse.person_id == request.worker_id, WorkerFundUse.year == year)
            .values(used_cents=WorkerFundUse.used_cents - amount))
    session.add(LedgerEntry(fund_id=fund.id, request_id=request.id,
                            person_id=request.worker_id, kind=kind, amount_cents=amount, at=now))
