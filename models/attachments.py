"""Files kept in the store (the digest's chart, an indicators CSV, a person's own data), so
a notice can carry them and other channels can link to them. One way to keep one."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from models.tables import Attachment


async def store_attachment(session: AsyncSession, filename: str, content_type: str,
                           data: bytes, now: datetime, *,
                           owner_id: int | None = None) -> Attachment:
    """Keep a file (flushed, so it has its id); `owner_id` is the person it belongs to, if
    it is theirs alone (erased with them)."""
    attachment = Attachment(filename=filename, content_type=content_type, data=data,
                            owner_id=owner_id, created_at=now)
    session.add(attachment)
    await session.flush()
    return attachment


async def kept(session: AsyncSession, attachment_id: int) -> Attachment | None:
    """A file kept in the store, by its id (None when it is gone: retention, erasure)."""
    return await session.get(Attachment, attachment_id)
