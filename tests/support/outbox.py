"""The outbox read back, for tests of what was queued and sent."""

from models.db import transaction
from models.tables import Notice


async def load_notice(runtime, notice_id: int) -> Notice:
    """The notice's row as it is now."""
    async with transaction(runtime.sessions) as session:
        return await session.get(Notice, notice_id)
