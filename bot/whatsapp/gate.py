"""One writer at a time inside this process, the webhooks' first (SQLite only).

SQLite has a single write lock and every transaction here takes it (BEGIN IMMEDIATE); a
writer that finds it taken sleeps in SQLite's busy handler and tries again. When the
webhook's short insert and the turns that follow it queue on that lock, a burst of
messages is acknowledged only as fast as the turns let go of it. Queuing them here
instead, in this process's event loop, hands the lock over without sleeping and lets a
waiting webhook go before a waiting turn. (Another process writing the same SQLite file
still meets the busy handler; production runs PostgreSQL, where the gate lets everything
through: rows, not the database, are locked there.)"""

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class WriteGate:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.busy = False
        self.waiting: dict[bool, deque[asyncio.Future]] = {True: deque(), False: deque()}

    @contextlib.asynccontextmanager
    async def writing(self, urgent: bool) -> AsyncIterator[None]:
        """Hold the gate for one transaction; `urgent` waiters (webhooks) go first."""
        if not self.enabled:
            yield
            return
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self.busy and not self.waiting[True] and (urgent or not self.waiting[False]):
            self.busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting[urgent].append(turn)
        try:
            await turn  # resolved by _release: the gate is ours
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # it was handed to us as we were cancelled
            else:
                self.waiting[urgent].remove(turn)
            raise

    def _release(self) -> None:
        for urgent in (True, False):
            while self.waiting[urgent]:
                turn = self.waiting[urgent].popleft()
                if not turn.done():
                    turn.set_result(None)  # busy stays True: handed over
                    return
        self.busy = False
