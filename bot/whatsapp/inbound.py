"""Inbound WhatsApp messages: Twilio's signed form → the dialogue → TwiML.

Each message is handled in one transaction that also records its MessageSid, so a message
Twilio delivers twice (it retries) has one effect. The answer goes back inline as TwiML,
one <Message> per part, well inside Twilio's 15-second budget. The channel tells the
dialogue what kind of message it is — opting out (STOP / ANNULLA ISCRIZIONE), back in
(START), no text (photos, voice notes, locations) — and the dialogue answers."""

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
from handlers.inbound import Chat, Handled, handle_once
from handlers.matching import fold
from handlers.types import Incoming, Kind, Reply
from handlers.untrusted import as_number, clean_id
from models.people import InvalidPhone, normalise_phone

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


def incoming(message: InboundMessage) -> Incoming:
    """The message for the dialogue, with its kind: opting out (Twilio's OptOutType, or
    STOP / ANNULLA ISCRIZIONE) and back in (START), something not text (a photo, a voice
    note, a location), or a message. What to do with each is the dialogue's."""
    words = fold(message.text)
    if message.opt_out_type == "STOP" or words in STOP_WORDS:
        kind = Kind.OPT_OUT
    elif message.opt_out_type == "START" or words in START_WORDS:
        kind = Kind.OPT_IN
    elif message.text_only_refused:
        kind = Kind.NOT_TEXT
    else:
        kind = Kind.MESSAGE
    return Incoming(CHANNEL, message.phone, text=message.text, payload=message.payload,
                    display_name=message.profile_name, kind=kind)


async def handle(sessions: async_sessionmaker[AsyncSession], dialogue: Dialogue,
                 message: InboundMessage, now: Callable[[], datetime],
                 after: After | None = None) -> Handled | None:
    """Handle a message once, its replies handed over by the caller (TwiML, or the turn
    runner's stored row): a MessageSid seen before gets the replies its turn gave, since
    Twilio only asks again when it did not get them. `after` runs in the same transaction
    with the replies (the turn runner stores them there)."""

    async def work(session: AsyncSession) -> list[Reply]:
        replies = await dialogue.handle_in(session, incoming(message))
        if after is not None:
            await after(session, replies)
        return replies

    return await handle_once(sessions, Chat(CHANNEL, message.phone), message.sid, work, now,
                             handed_over=True)


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
        handled = await handle(runtime.sessions, runtime.dialogue, message, runtime.clock)
        now = runtime.clock()
        replies = handled.replies if handled else []
        return twiml([with_file_link(r, runtime.file_links, now) for r in replies])

    return webhook
