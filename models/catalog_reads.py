"""What the catalogue offers, as the dialogue reads it while a worker books: the
categories with something on offer, a category's services, the municipalities."""

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Municipality, Offering, Service


async def offered_categories(session: AsyncSession) -> set[str]:
    """The categories of the active services some active offering provides."""
    return set((await session.exec(
        select(Service.category).join(Offering, Offering.service_id == Service.id)
        .where(Service.active.is_(True), Offering.active.is_(True)).distinct())).all())


async def active_services(session: AsyncSession, category: str | None) -> list[Service]:
    """A category's active services, in the catalogue's order."""
    return list((await session.exec(
        select(Service).where(Service.category == category, Service.active.is_(True))
        .order_by(Service.id))).all())


async def municipalities(session: AsyncSession) -> list[Municipality]:
    """Every municipality of the programme (to match a typed name against)."""
    return list((await session.exec(select(Municipality).order_by(Municipality.id))).all())
