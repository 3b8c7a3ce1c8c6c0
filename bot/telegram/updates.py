"""Handling a Telegram update: once, in its chat's order, effect first, replies after.

1. In one transaction: record the update as processed (a unique row; if it is already
   there, this is a replay and nothing else happens) and run the dialogue — so the
   update's effect and the mark that it happened commit together or not at all.
2. After the commit: answer the pressed button, take the keyboard off the message it was
   on (showing what was chosen), and send the replies.
A crash between 1 and 2 loses the replies to that one message, never its effect, and the
person can always write again; a replayed update can never act twice."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
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
    route_update,
)
from bot.telegram.ordering import ChatOrder
from bot.telegram.rendering import chosen_text
from bot.telegram.sender import TelegramSender
from handlers.dialogue import Dialogue
from handlers.messages import DEFAULT_LANGUAGE, LANGUAGES, text
from handlers.types import Reply
from models.db import insert_ignoring_duplicates, transaction
from models.people import CodeRace
from models.tables import ChatIdentity, Conversation, Person, ProcessedUpdate

log = logging.getLogger(__name__)
ATTEMPTS_AFTER_RACE = 3  # a concurrent first contact or enrolment rolled us back: again
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
        bind(update_id=update.update_id, chat=route.chat_id)  # in this update's task
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
        for attempt in range(ATTEMPTS_AFTER_RACE):
            try:
                async with transaction(self.sessions) as session:
                    if not await self._first_time(session, update):
                        log.info("update %s already handled: ignored", update.update_id)
                        return None
                    if isinstance(route, ForDialogue):
                        return await self.dialogue.handle_in(session, route.incoming)
                    language = await _language_of(session, route)
                    return [Reply(text(language, route.key))]
            except (CodeRace, IntegrityError):
                if attempt == ATTEMPTS_AFTER_RACE - 1:
                    raise
                log.info("update %s lost a race: handling it again", update.update_id)
        raise AssertionError("unreachable")

    async def _first_time(self, session: AsyncSession, update: Update) -> bool:
        inserted = await session.exec(insert_ignoring_duplicates(
            session, ProcessedUpdate, channel=CHANNEL, update_id=dedupe_key(update),
            at=self.clock()))
        return inserted.rowcount == 1

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
            metrics.send_result("telegram", None, result)
            if not result.ok:
                log.warning("reply to chat %s not sent: %s", hashed(route.chat_id),
                            result.error)
                return

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
    """Whether the dialogue refused the pressed choice as no longer valid (it then opens its
    answer with the catalogue's `choice.stale` sentence)."""
    first = replies[0].text if replies else ""
    return any(first.startswith(text(language, "choice.stale")) for language in LANGUAGES)


async def _language_of(session: AsyncSession, route: Explain) -> str:
    """The language of the person writing: their profile's, else the one they picked
    while enrolling, else their Telegram app's (English or Italian), else Italian."""
    if route.user_id is not None:
        identity = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == CHANNEL,
            ChatIdentity.external_id == str(route.user_id)))).first()
        if identity is not None and identity.person_id is not None:
            person = await session.get(Person, identity.person_id)
            if person is not None:
                return person.language
        if identity is not None:
            conversation = (await session.exec(select(Conversation).where(
                Conversation.identity_id == identity.id))).first()
            if conversation is not None and conversation.data.get("language") in LANGUAGES:
                return conversation.data["language"]
    if route.language_hint:
        return "en" if route.language_hint.startswith("en") else "it"
    return DEFAULT_LANGUAGE


def _resolve(future: asyncio.Future | None, error: BaseException | None = None) -> None:
    if future is None or future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        future.cancel()
    elif error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
