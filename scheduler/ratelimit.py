"""A platform's sending limits: at most `per_second` messages in any one-second window
overall, and at most one message per `per_chat_seconds` to any one chat.

A sliding window, not reserved slots: a message held back by its chat's limit does not
hold up messages to other chats. Check-and-record happens without an await in between, so
concurrent senders in one event loop never overshoot. The clock and the sleep are
injectable, so tests and benchmarks can run on simulated time."""

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable

from handlers.sending import Limits

PRUNE_ABOVE = 10_000
SPARE = 0.001  # a millisecond to spare on every limit, for clock jitter and rounding
WINDOW = 1.0 + SPARE
MIN_SLEEP = 0.001  # never spin on a wait rounded to nothing


class SlidingWindowLimiter:
    def __init__(self, limits: Limits, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.limits, self.clock, self.sleep = limits, clock, sleep
        self._window: deque[float] = deque()
        self._last_in_chat: dict[Hashable, float] = {}
        self._paused_until = 0.0

    def wait_for(self, chat: Hashable) -> float:
        """Seconds until a message to `chat` may go (0 when it may go now)."""
        now = self.clock()
        while self._window and self._window[0] + WINDOW <= now:  # same sum as the wait below
            self._window.popleft()
        waits = [self._paused_until - now]
        if len(self._window) >= int(self.limits.per_second):
            waits.append(self._window[0] + WINDOW - now)
        last = self._last_in_chat.get(chat)
        if last is not None:
            waits.append(last + self.limits.per_chat_seconds + SPARE - now)
        return max(0.0, *waits)

    async def acquire(self, chat: Hashable, deadline: float = math.inf) -> float:
        """Wait until a message to `chat` may go and count it as sent; returns 0. When the
        wait would end after `deadline` (on this limiter's clock), returns at once the wait
        still needed instead, and counts nothing."""
        while (wait := self.wait_for(chat)) > 0:
            if self.clock() + wait > deadline:
                return wait
            await self.sleep(max(wait, MIN_SLEEP))
        now = self.clock()
        self._window.append(now)
        self._last_in_chat[chat] = now
        if len(self._last_in_chat) > PRUNE_ABOVE:
            horizon = now - self.limits.per_chat_seconds
            self._last_in_chat = {c: t for c, t in self._last_in_chat.items() if t > horizon}
        return 0.0

    def pause(self, seconds: float) -> None:
        """The platform asked us to hold off (e.g. Telegram's RetryAfter)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)
