"""The one way in: every channel's update is handled here, once, with its replies queued in
the transaction that records it.

`handle_once` runs the turn, then records the update's key (a Telegram update id, a Twilio
MessageSid, a console line id) together with the replies the turn gave, in the same
transaction: the effect, the mark that it happened and what to answer commit together or
not at all. The channel then delivers the replies at once and marks them delivered
(`mark_delivered`); replies whose delivery never completed (the process stopped) are sent
by the dispatcher (scheduler/replies.py), and a redelivered update gets them instead of a
second effect or silence.

A concurrent message can win a race (the same enrolment code, the same first contact):
the transaction rolls back, so doing the work again sees the winner's effect. Anything
unexpected is logged with the update's key; the key is then recorded with an apology in
the person's language, so a redelivery does not fail again (and block the chat behind
it). Only a database that cannot be used just now lets the error through, so that the
platform delivers the update again later."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.kept_files import kept_file
from handlers.language import from_hint, language_for
from handlers.messages import text
from handlers.types import Reply, reply_as_json, reply_from_json
from models import inbound as store
from models.chat_state import ConversationMoved
from models.db import GroupCommit, is_transient, transaction
from models.one_hop import run_transaction
from models.people import CodeRace

log = logging.getLogger(__name__)
ATTEMPTS = 3  # a race lost on a unique row (an enrolment code, a first contact)
# A turn that read its chat just before a concurrent turn of the same chat committed is
# done again; every retry follows someone's commit, so a burst of N deliveries of one
# chat needs at most N attempts
MOVED_ATTEMPTS = 10
APOLOGY = "error.apology"

Work = Callable[[AsyncSession], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Chat:
    """Whom an update comes from: enough to answer them in their language."""

    channel: str
    external_id: str | None
    language_hint: str | None = None


@dataclass(frozen=True)
class Handled:
    """The replies to deliver for an update. `again`: the update came before and these are
    the replies its turn gave then (never delivered, or handed back to a platform that
    asks again because it did not get them)."""

    replies: list[Reply]
    again: bool = False


class _Redelivery(Exception):
    """The update's key was recorded before: the work just done is rolled back."""


async def handle_once(sessions: async_sessionmaker[AsyncSession], chat: Chat, key: str,
                      work: Work, clock: Callable[[], datetime], *,
                      handed_over: bool = False) -> Handled | None:
    """Run `work` and record `key` with its replies in one transaction. None: the update
    came before and its replies were delivered (nothing to do). `handed_over`: the caller
    delivers the replies by returning them (an HTTP response, the console), so they are
    recorded as delivered, and a redelivery — the platform did not get them — gets them
    again."""
    failure: Exception | None = None
    races = 0

    async def turn(session: AsyncSession) -> list[Reply]:
        replies = await work(session)
        if not await store.record_update(
                session, chat.channel, key, clock(), chat=chat.external_id,
                replies=[reply_as_json(r) for r in replies], delivered=handed_over):
            raise _Redelivery
        return replies

    for _ in range(MOVED_ATTEMPTS):
        try:
            return Handled(await run_transaction(sessions, turn))
        except _Redelivery:
            log.info("%s update %s handled before: its replies, not a second turn",
                     chat.channel, key)
            return await _replies_of(sessions, chat, key, handed_over, clock())
        except ConversationMoved as error:
            failure = error
            log.info("%s update %s read its chat before a concurrent turn: again",
                     chat.channel, key)
        except (CodeRace, IntegrityError) as error:
            failure, races = error, races + 1
            if races == ATTEMPTS:
                break
            log.info("%s update %s lost a race: handling it again", chat.channel, key)
        except Exception as error:
            if is_transient(error):
                raise
            failure = error
            break
    log.error("%s update %s failed: answered with an apology", chat.channel, key,
              exc_info=failure)  # the chat itself is in the log context, hashed
    return await _apologise(sessions, chat, key, clock, handed_over)


class Deliveries:
    """A channel's record of the replies it handed over, so that nobody sends them again:
    the marks of updates delivered together share one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], datetime]):
        self.sessions, self.clock = sessions, clock
        self.marks = GroupCommit(self._write)

    async def delivered(self, channel: str, key: str) -> None:
        await self.marks.add((channel, key))

    async def _write(self, batch: list[tuple[str, str]]) -> None:
        await run_transaction(self.sessions, lambda session: store.mark_delivered(
            session, batch, self.clock()))


async def release_replies(sessions: async_sessionmaker[AsyncSession], channel: str,
                          key: str) -> None:
    """The channel could not hand the replies of `key` over just now: the dispatcher (or
    the update, delivered again) takes them."""
    async with transaction(sessions) as session:
        await store.release_replies(session, channel, key)


async def stored_replies(session: AsyncSession, stored: list[dict]) -> list[Reply]:
    """Replies as `handle_once` recorded them, their files loaded."""
    replies = []
    for data in stored:
        file = await kept_file(session, data["file"]) if data.get("file") is not None \
            else None
        replies.append(reply_from_json(data, file))
    return replies


async def _replies_of(sessions: async_sessionmaker[AsyncSession], chat: Chat, key: str,
                      handed_over: bool, now: datetime) -> Handled | None:
    """The replies recorded for `key`, to deliver again: a platform that asks again for an
    answer it is handed did not get it; other replies only if nobody delivered them or
    is delivering them now."""
    async with transaction(sessions) as session:
        if not handed_over and not await store.claim_replies(session, chat.channel, key, now):
            return None
        row = await store.recorded(session, chat.channel, key)
        if row is None or not row.replies:
            return None
        return Handled(await stored_replies(session, row.replies), again=True)


async def _apologise(sessions: async_sessionmaker[AsyncSession], chat: Chat, key: str,
                     clock: Callable[[], datetime], handed_over: bool) -> Handled | None:
    """Record `key` with an apology; a concurrent delivery may have recorded it first."""
    try:
        async with transaction(sessions) as session:
            language = await language_for(session, chat.channel, chat.external_id,
                                          chat.language_hint)
    except Exception:  # the apology goes out all the same, in the app's language
        log.exception("no language for %s chat %s", chat.channel, chat.external_id)
        language = from_hint(chat.language_hint)
    apology = [Reply(text(language, APOLOGY))]
    async with transaction(sessions) as session:
        if await store.record_update(session, chat.channel, key, clock(),
                                     chat=chat.external_id, delivered=handed_over,
                                     replies=[reply_as_json(r) for r in apology]):
            return Handled(apology)
    return await _replies_of(sessions, chat, key, handed_over, clock())
