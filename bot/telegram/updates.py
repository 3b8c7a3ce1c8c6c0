"""Handling a Telegram update: once, in its chat's order, effect first, replies after.

1. In one transaction: record the update as processed (a unique row; if it is already
   there, this is a replay and nothing else happens) and run the dialogue — so the
   update's effect and the mark that it happened commit together or not at all
   (handlers.inbound: a turn that fails unexpectedly is recorded and answered with an
   apology, so a redelivery does not fail again).
2. After the commit: answer the pressed button, take the keyboard off the message it was
   on (showing what was chosen), and send the replies.
A crash between 1 and 2 loses the replies to that one message, never its effect, and the
person can always write again; a replayed update can never act twice."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update

from bot.telegram.adapter import (
    CHANNEL,
    Explain,
    ForDialogue,
    PressedButton,
    Route,
    dedupe_key,
    route_update,
)
from bot.telegram.ordering import ChatOrder
from bot.telegram.rendering import chosen_text
from bot.telegram.sender import TelegramSender
from handlers.dialogue import Dialogue
from handlers.inbound import APOLOGY, Chat, handle_once
from handlers.language import language_for
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

    def submit(self, update: Update, committed: asyncio.Future | None = None) -> None:
        """Queue `update` behind the earlier updates of its chat. `committed`, when given,
        is resolved once the update's effect is in the database (or has failed to be),
        before the replies are sent: the webhook answers Telegram at that point."""
        route = route_update(update)
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
        try:
            replies = await self._apply(update, route)
        except BaseException as error:
            _resolve(committed, error)
            raise
        _resolve(committed)
        if replies is not None:
            await self._deliver(route, replies)

    async def _apply(self, update: Update, route: Route) -> list[Reply] | None:
        """The update's effect, recorded with its id; None for a replay."""
        if isinstance(route, ForDialogue):
            incoming = route.incoming
            chat = Chat(CHANNEL, incoming.external_id, incoming.language_hint)

            async def work(session: AsyncSession) -> list[Reply]:
                return await self.dialogue.handle_in(session, incoming)
        else:
            # the person's own chat with the bot (in a group, the chat is the group's)
            user = str(route.user_id) if route.user_id is not None else None
            chat = Chat(CHANNEL, user, route.language_hint)

            async def work(session: AsyncSession) -> list[Reply]:
                language = await language_for(session, CHANNEL, user, route.language_hint)
                return [Reply(text(language, route.key))]
        return await handle_once(self.sessions, chat, dedupe_key(update), work, self.clock)

    async def _deliver(self, route: Route, replies: list[Reply]) -> None:
        if isinstance(route, Explain) and route.query_id is not None:
            await self._answer_press(route.chat_id, route.query_id,
                                     replies[0].text[:MAX_TOAST_LENGTH])
            return
        if isinstance(route, ForDialogue) and route.pressed is not None:
            await self._answer_press(route.chat_id, route.pressed.query_id)
            await self._close_keyboard(route.chat_id, route.pressed,
                                       accepted=not is_stale_answer(replies))
        for reply in replies:
            result = await self.sender.send_reply(route.chat_id, reply, notice=False)
            if not result.ok:
                log.warning("reply to chat %s not sent: %s", route.chat_id, result.error)
                return

    async def _answer_press(self, chat_id: int, query_id: str, toast: str | None = None):
        """Stop the button's spinner (and show `toast`, if any)."""
        answer = partial(self.sender.bot.answer_callback_query, query_id, text=toast)
        result = await self.sender.call(chat_id, answer, notice=False)
        if not result.ok:
            log.info("callback query of chat %s not answered: %s", chat_id, result.error)

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
            log.info("message %s of chat %s not edited: %s", pressed.message_id, chat_id,
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
