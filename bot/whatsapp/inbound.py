"""Inbound WhatsApp messages: Twilio's signed form → the dialogue → TwiML.

Each message is handled in one transaction that also records its MessageSid, so a message
Twilio delivers twice (it retries) has one effect. The answer goes back inline as TwiML,
one <Message> per part, well inside Twilio's 15-second budget. The channel itself handles
what the dialogue does not: opting out (STOP / ANNULLA ISCRIZIONE) and back in (START),
and messages with no text (photos, voice notes, locations)."""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.files import with_file_link
from bot.whatsapp import render
from bot.whatsapp.form import BadSid, message_sid
from bot.whatsapp.signature import Refused, signed_form
from handlers.dialogue import Dialogue
from handlers.inbound import Chat, handle_once
from handlers.language import language_for
from handlers.matching import fold
from handlers.messages import text as catalogue_text
from handlers.types import Incoming, Reply
from handlers.untrusted import as_number, clean_id
from models.people import (
    InvalidPhone,
    identity_for,
    normalise_phone,
    note_inbound,
    opt_in,
    opt_out,
)

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"
STOP_WORDS = {"stop", "stopall", "unsubscribe", "annulla iscrizione", "annulla l iscrizione",
              "cancella iscrizione"}
START_WORDS = {"start", "unstop"}
TEXT_TYPES = {"text", "button", "interactive"}  # Twilio's MessageType for readable messages


After = Callable[[AsyncSession, list[Reply]], Awaitable[None]]


class BadPayload(ValueError):
    """A signed request that is not an inbound message we can read."""


@dataclass(frozen=True)
class InboundMessage:
    sid: str
    phone: str  # E.164
    text: str
    profile_name: str | None = None
    text_only_refused: bool = False  # a photo, a voice note, a location…
    opt_out_type: str | None = None  # Twilio's Advanced Opt-Out: STOP, START, HELP
    payload: str | None = None  # a quick-reply button's payload: one of our choice tokens


def tapped(form: Mapping[str, str]) -> str | None:
    """The id of what was tapped: a quick-reply button's `ButtonPayload`, or a list
    item's id, which Twilio gives as `ListId` (and on some senders as `ButtonPayload`).
    Both are our choice tokens; with neither, the title in `Body`/`ButtonText`/`ListTitle`
    is matched like typed words."""
    return form.get("ButtonPayload") or form.get("ListId") or None


def parse(form: Mapping[str, str]) -> InboundMessage:
    """The message in Twilio's form (From and To are `whatsapp:+39…`)."""
    try:
        sid = message_sid(form)
    except BadSid as problem:
        raise BadPayload(str(problem)) from problem
    sender = form.get("From") or ""
    if not sender.startswith("whatsapp:"):
        raise BadPayload("not a WhatsApp message (From has no whatsapp: prefix)")
    try:
        phone = normalise_phone(sender)
    except InvalidPhone as error:
        raise BadPayload("From is not a phone number") from error
    media = as_number((form.get("NumMedia") or "0").strip()) or 0
    kind = (form.get("MessageType") or "").lower()
    not_text = (media > 0 or "Latitude" in form
                or (kind != "" and kind not in TEXT_TYPES))
    body = form.get("Body") or form.get("ButtonText") or form.get("ListTitle") or ""
    payload = (clean_id(tapped(form)) or "")[:64] or None
    return InboundMessage(sid=sid, phone=phone, text=body, payload=payload,
                          profile_name=clean_id(form.get("ProfileName")) or None,
                          text_only_refused=not_text,
                          opt_out_type=(form.get("OptOutType") or "").upper() or None)


async def answer(session: AsyncSession, dialogue: Dialogue, message: InboundMessage,
                 now: datetime) -> list[Reply]:
    """The replies to one message, inside the caller's transaction."""
    words = fold(message.text)
    if message.opt_out_type == "STOP" or words in STOP_WORDS:
        identity = await identity_for(session, CHANNEL, message.phone)
        await opt_out(session, identity, now)
        return [Reply(catalogue_text(await language_for(session, CHANNEL, message.phone),
                                     "channel.opted_out"))]
    if message.opt_out_type == "START" or words in START_WORDS:
        identity = await identity_for(session, CHANNEL, message.phone)
        if await opt_in(session, identity):
            # only the confirmation: a request being written stays where it was
            await note_inbound(session, identity, now)
            return [Reply(catalogue_text(await language_for(session, CHANNEL, message.phone),
                                         "channel.opted_in"))]
    if message.text_only_refused:
        identity = await identity_for(session, CHANNEL, message.phone)
        await note_inbound(session, identity, now)
        return [Reply(catalogue_text(await language_for(session, CHANNEL, message.phone),
                                     "channel.text_only"))]
    if message.payload:  # a pressed quick-reply button: the same path as Telegram's buttons
        return await dialogue.handle_in(session, Incoming(
            CHANNEL, message.phone, payload=message.payload,
            display_name=message.profile_name))
    return await dialogue.handle_in(session, Incoming(
        CHANNEL, message.phone, text=message.text, display_name=message.profile_name))


async def handle(sessions: async_sessionmaker[AsyncSession], dialogue: Dialogue,
                 message: InboundMessage, now: Callable[[], datetime],
                 after: After | None = None) -> list[Reply] | None:
    """Handle a message once: None if its MessageSid was handled before. `after` runs in
    the same transaction with the replies (the turn runner stores them there)."""

    async def work(session: AsyncSession) -> list[Reply]:
        replies = await answer(session, dialogue, message, now())
        if after is not None:
            await after(session, replies)
        return replies

    return await handle_once(sessions, Chat(CHANNEL, message.phone), message.sid, work, now)


def twiml(replies: list[Reply]) -> Response:
    response = MessagingResponse()
    for part in render.messages(replies):
        response.message(part)
    return Response(str(response), media_type="application/xml")


def endpoint(runtime, validator: RequestValidator, runner=None) -> Callable:
    """POST /whatsapp/webhook for this runtime. With a `runner` (turns.TurnRunner) the
    message is stored and acknowledged at once, its turn runs right after; without, the
    turn runs here and its replies go back as TwiML."""

    async def webhook(request: Request) -> Response:
        if runner is None:
            return await answer_webhook(request)
        with runner.arriving():  # turns of this process wait while webhooks come in
            return await answer_webhook(request)

    async def answer_webhook(request: Request) -> Response:
        try:
            form = await signed_form(request, validator, runtime.settings.public_base_url)
        except Refused:
            return PlainTextResponse("forbidden", status_code=403)
        try:
            message = parse(form)
        except BadPayload as problem:
            log.warning("signed but unreadable webhook: %s", problem)
            return PlainTextResponse(str(problem), status_code=400)
        if runner is not None:
            await runner.receive(message)
            return twiml([])
        replies = await handle(runtime.sessions, runtime.dialogue, message, runtime.clock)
        now = runtime.clock()
        return twiml([with_file_link(r, runtime.file_links, now) for r in replies or []])

    return webhook
