"""Every channel's way in for one update: its key recorded and its work done in one
transaction, done again after a lost race, and never a crash.

A concurrent message can win a race (the same enrolment code, the same first contact):
the transaction rolls back, so doing the work again sees the winner's effect. Anything
unexpected is logged with the update's key; the key is then recorded on its own, so a
redelivery does not fail again (and block the chat behind it), and the person gets an
apology in their language. Only a database that cannot be used just now lets the error
through, so that the platform delivers the update again later."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers.language import from_hint, language_for
from handlers.messages import text
from handlers.types import Reply
from models.db import is_transient, transaction
from models.inbound import record_update
from models.people import CodeRace

log = logging.getLogger(__name__)
ATTEMPTS = 3
APOLOGY = "error.apology"

Work = Callable[[AsyncSession], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Chat:
    """Whom an update comes from: enough to answer them in their language."""

    channel: str
    external_id: str | None
    language_hint: str | None = None


async def handle_once(sessions: async_sessionmaker[AsyncSession], chat: Chat,
                      key: str | None, work: Work,
                      clock: Callable[[], datetime]) -> list[Reply] | None:
    """The replies `work` gives in the transaction that records `key` (None: nothing to
    record, e.g. a console line); None when `key` was recorded before (a redelivery)."""
    failure: Exception | None = None
    for attempt in range(ATTEMPTS):
        try:
            async with transaction(sessions) as session:
                if key is not None and not await record_update(session, chat.channel, key,
                                                               clock()):
                    log.info("%s update %s handled before: ignored", chat.channel, key)
                    return None
                return await work(session)
        except (CodeRace, IntegrityError) as error:
            failure = error
            if attempt < ATTEMPTS - 1:
                log.info("%s update %s lost a race: handling it again", chat.channel, key)
        except Exception as error:
            if is_transient(error):
                raise
            failure = error
            break
    log.error("%s update %s of chat %s failed: answered with an apology", chat.channel, key,
              chat.external_id, exc_info=failure)
    return await apologise(sessions, chat, key, clock)


async def apologise(sessions: async_sessionmaker[AsyncSession], chat: Chat,
                    key: str | None, clock: Callable[[], datetime]) -> list[Reply] | None:
    """Record `key` alone and say sorry; None if a concurrent delivery recorded it first."""
    async with transaction(sessions) as session:
        if key is not None and not await record_update(session, chat.channel, key, clock()):
            return None
    try:
        async with transaction(sessions) as session:
            language = await language_for(session, chat.channel, chat.external_id,
                                          chat.language_hint)
    except Exception:  # the apology goes out all the same, in the app's language
        log.exception("no language for %s chat %s", chat.channel, chat.external_id)
        language = from_hint(chat.language_hint)
    return [Reply(text(language, APOLOGY))]
