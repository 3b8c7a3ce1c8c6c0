"""Each chat's updates one after another, in the order they arrived; different chats side
by side. The order is fixed when a job is submitted (a plain function call, no await), so
it does not depend on how the event loop later schedules the tasks."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from functools import partial

from bot.logs import hashed

log = logging.getLogger(__name__)


class ChatOrder:
    def __init__(self, parallel: int = 32):
        """At most `parallel` jobs (of different chats) run at the same time."""
        self._slots = asyncio.Semaphore(parallel)
        self._last_of_chat: dict[Hashable, asyncio.Task] = {}
        self._running: set[asyncio.Task] = set()

    def submit(self, chat: Hashable, job: Callable[[], Awaitable[None]]) -> asyncio.Task:
        """Run `job()` after every job submitted earlier for `chat` has finished (however
        it finished: a failed update must not block the chat)."""
        previous = self._last_of_chat.get(chat)
        task = asyncio.create_task(self._after(previous, job))
        self._last_of_chat[chat] = task
        self._running.add(task)
        task.add_done_callback(partial(self._finished, chat))
        return task

    async def drain(self) -> None:
        """Wait until every submitted job has finished."""
        while self._running:
            await asyncio.wait(set(self._running))

    def pending(self) -> int:
        return len(self._running)

    async def _after(self, previous: asyncio.Task | None, job) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        async with self._slots:
            await job()

    def _finished(self, chat: Hashable, task: asyncio.Task) -> None:
        self._running.discard(task)
        if self._last_of_chat.get(chat) is task:
            del self._last_of_chat[chat]  # the chat is idle: forget it
        if not task.cancelled() and task.exception() is not None:
            log.error("handling an update of chat %s failed", hashed(chat),
                      exc_info=task.exception())
