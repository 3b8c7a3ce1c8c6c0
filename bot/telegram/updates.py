"""Handling a Telegram update: once, in its chat's order, effect first, replies after.

1. In one transaction (handlers.inbound, the one way in): run the dialogue and record the
   update as processed with the replies its turn gave — effect, mark and replies commit
   together or not at all (a turn that fails unexpectedly is recorded with an apology,
   so a redelivery does not fail again).
2. After the commit: answer the pressed button, take the keyboard off the message it was
   on (showing what was chosen), send the replies, and mark them delivered.
A crash between 1 and 2 loses nothing: the dispatcher sends replies left undelivered
(scheduler/replies.py), and a replayed update gets them instead of a second effect."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot import metrics
from bot.logs import bind, hashed
from bot.telegram.adapter import (
    CHANNEL,
    Explain,
    ForDialogue,
    PressedButton,
    Route,
    dedupe_key,
    explained,
    route_update,
)
from bot.telegram.ordering import ChatOrder
from bot.telegram.rendering import chosen_text
from bot.telegram.sender import TelegramSender
from handlers.dialogue import Dialogue
from handlers.inbound import (
    APOLOGY,
    Chat,
    Deliveries,
    Handled,
    handle_once,
    release_replies,
)
from handlers.messages import LANGUAGES, text
from handlers.types import Reply

log = logging.getLogger(__name__)
MAX_TOAST_LENGTH = 200  # what answerCallbackQuery can show


class UpdateProcessor:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialogue: Dialogue,
                 sender: TelegramSender, clock: Callable[[], datetime],
                 order: ChatOrder | None = None):
        self.sessions, self.dialogue, self.sender, self.clock = sessions, dialogue, sender, clock
        self.order = order or ChatOrder()
        self.deliveries = Deliveries(sessions, clock)

    def submit(self, update: Update, committed: asyncio.Future | None = None) -> None:
        """Queue `update` behind the earlier updates of its chat. `committed`, when given,
        is resolved once the update's effect is in the database (or has failed to be),
        before the replies are sent: the webhook answers Telegram at that point."""
        try:
            route = route_update(update)
        except (TypeError, ValueError, AttributeError, KeyError) as problem:
            # Telegram never sends such a thing (a string where a number goes, a list for
            # a text): nothing in it can be read, so nothing is done, and it is not retried
            log.warning("update %s is malformed, ignored: %r", update.update_id, problem)
            route = None
        if route is None:
            _resolve(committed)
            return
        self.order.submit(route.chat_id, lambda: self._handle(update, route, committed))

    async def process(self, update: Update) -> None:
        """Submit `update` and wait until it is fully handled, replies included."""
        self.submit(update)
        await self.order.drain()

    async def _handle(self, update: Update, route: Route,
                      committed: asyncio.Future | None) -> None:
        bind(update_id=update.update_id, chat=route.chat_id)  # in this update's task
        try:
            key = dedupe_key(update)
            handled = await self._apply(key, route)
        except BaseException as error:
            _resolve(committed, error)
            raise
        _resolve(committed)
        if handled is None:
            return
        if await self._deliver(route, handled.replies):
            await self.deliveries.delivered(CHANNEL, key)
        else:
            await release_replies(self.sessions, CHANNEL, key)

    async def _apply(self, key: str, route: Route) -> Handled | None:
        """The update's effect, recorded under `key` with its replies (handlers.inbound);
        for a replay, the replies it never got, or None."""
        incoming = route.incoming if isinstance(route, ForDialogue) else explained(route)
        chat = Chat(CHANNEL, incoming.external_id, incoming.language_hint)
        return await handle_once(self.sessions, chat, key,
                                 lambda session: self.dialogue.handle_in(session, incoming),
                                 self.clock)

    async def _deliver(self, route: Route, replies: list[Reply]) -> bool:
        """Hand the replies to Telegram; False if one could not be just now (the dispatcher
        tries again later). A chat Telegram refuses for good (the bot blocked) counts as
        done: nobody can deliver to it."""
        if isinstance(route, Explain) and route.query_id is not None:
            await self._answer_press(route.chat_id, route.query_id,
                                     replies[0].text[:MAX_TOAST_LENGTH])
            return True
        if isinstance(route, ForDialogue) and route.pressed is not None:
            await self._answer_press(route.chat_id, route.pressed.query_id)
            await self._close_keyboard(route.chat_id, route.pressed,
                                       accepted=not is_stale_answer(replies))
        for reply in replies:
            result = await self.sender.send_reply(route.chat_id, reply, notice=False)
            metrics.send_result("telegram", None, result)
            if not result.ok:
                log.warning("reply to chat %s not sent: %s", hashed(route.chat_id),
                            result.error)
                return result.permanent or result.unreachable
        return True

    async def _answer_press(self, chat_id: int, query_id: str, toast: str | None = None):
        """Stop the button's spinner (and show `toast`, if any)."""
        answer = partial(self.sender.bot.answer_callback_query, query_id, text=toast)
        result = await self.sender.call(chat_id, answer, notice=False)
        if not result.ok:
            log.info("callback query of chat %s not answered: %s", hashed(chat_id),
                     result.error)

    async def _close_keyboard(self, chat_id: int, pressed: PressedButton, *,
                              accepted: bool) -> None:
        """Take the keyboard off the message it was pressed on, so it cannot be pressed
        twice; when the choice was taken, show it under the message."""
        bot, where = self.sender.bot, {"chat_id": chat_id, "message_id": pressed.message_id}
        if accepted and pressed.message_text and pressed.label:
            edit = partial(bot.edit_message_text,
                           chosen_text(pressed.message_text, pressed.label), **where)
        else:
            edit = partial(bot.edit_message_reply_markup, **where)
        result = await self.sender.call(chat_id, edit, notice=False)
        if not result.ok:  # e.g. too old to edit, or already edited: harmless
            log.info("message %s of chat %s not edited: %s", pressed.message_id, hashed(chat_id),
                     result.error)


def is_stale_answer(replies: list[Reply]) -> bool:
    """Whether the pressed choice was not taken: refused as no longer valid (the answer
    opens with the catalogue's `choice.stale` sentence) or not handled at all (the
    apology)."""
    first = replies[0].text if replies else ""
    return any(first.startswith(text(language, key)) for language in LANGUAGES
               for key in ("choice.stale", APOLOGY))


def _resolve(future: asyncio.Future | None, error: BaseException | None = None) -> None:
    if future is None or future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
