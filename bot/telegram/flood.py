"""Telegram's flood control for this bot. After a 429 ("retry after N seconds") nothing
goes out — notices or replies — until the wait is over: Telegram counts the whole bot.

The steady limits (30 messages a second overall, one a second per chat) are kept where
the notices are paced: the outbox dispatcher, from the sender's declared `limits`."""

import time
from collections.abc import Callable


class FloodGate:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._closed_until = 0.0

    def close_for(self, seconds: float) -> None:
        self._closed_until = max(self._closed_until, self.clock() + seconds)

    def remaining(self) -> float:
        """Seconds until sending may resume (0 when it may now)."""
        return max(0.0, self._closed_until - self.clock())
