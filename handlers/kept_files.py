"""A file kept in the store (models/attachments.py), as a reply carries it."""

from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.types import File
from models import attachments


async def kept_file(session: AsyncSession, attachment_id: int) -> File | None:
    """The file `attachment_id` for a reply; None when it is no longer kept."""
    stored = await attachments.kept(session, attachment_id)
    if stored is None:
        return None
    return File(stored.filename, stored.content_type, stored.data, stored.id)
