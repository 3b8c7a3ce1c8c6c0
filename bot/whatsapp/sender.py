"""The outbox sender for WhatsApp.

Inside 24 hours of the person's last message (ChatIdentity.last_inbound_at) a notice goes
as free text, its choices as tappable buttons or a list (interactive.py, filled into the
templates of templates.py) when those templates are ready, else numbered. Outside,
WhatsApp accepts only an approved template: the one configured for the notice's kind is
sent with the notice's text as its variable {{1}}; with none, the sender answers `hold`
and the dispatcher tries the person's other chat, else keeps the notice until they write
again. Interactive templates are never used outside the window."""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from twilio.rest import Client

from bot.files import FileLinks, file_link, with_file_link
from bot.whatsapp import interactive, render
from bot.whatsapp.client import close_client, make_client
from bot.whatsapp.errors import classify
from bot.whatsapp.settings import WhatsAppSettings
from bot.whatsapp.templates import TemplateSet
from bot.whatsapp.window import WINDOW_HOLD, in_window
from handlers.sending import Limits, SendResult
from handlers.types import Reply
from models.base import NoticeStatus, utcnow
from models.db import transaction
from models.inbound import chat_language
from models.tables import ChatIdentity, Notice

log = logging.getLogger(__name__)
OPTED_OUT = "whatsapp_opted_out"
NOTICE_PARAMETER = "notice"  # in the status-callback URL: the notice a message is
LOOKUP_LIMIT = 20  # recent messages to one number, looked through for an unknown send
LOOKUP_PROBE = 60  # characters of the notice's text looked for in a message's body
LOOKUP_SLACK = timedelta(minutes=1)
GONE_WRONG = {"failed", "undelivered", "canceled"}


SANDBOX = "whatsapp:+14155238886"
# Twilio queues a WhatsApp sender's messages beyond 80 a second; the sandbox allows about
# one request every few seconds. One message a second to a person keeps notices in order
# and clear of WhatsApp's per-recipient burst limit.
LIMITS = Limits(per_second=80, per_chat_seconds=1.0)
SANDBOX_LIMITS = Limits(per_second=1, per_chat_seconds=3.0)


def whatsapp_address(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


@dataclass(frozen=True)
class Part:
    """One message to create; `fallback`: what to send instead if Twilio refuses it (an
    interactive message refused for its content goes as numbered text)."""

    fields: dict
    fallback: list[dict] | None = None


class WhatsAppSender:
    channel = "whatsapp"
    numbered_choices = True  # notices show their choices as numbers (dialogue.show_notice)

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str,
                 templates: WhatsAppSettings, status_callback: str | None = None,
                 api_base_url: str | None = None, clock: Callable[[], datetime] = utcnow,
                 links: FileLinks | None = None, sessions=None):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.links = links  # signed links for files (the digest's chart, CSVs)
        self.from_address = whatsapp_address(from_number)
        self.limits = SANDBOX_LIMITS if self.from_address == SANDBOX else LIMITS
        self.templates, self.status_callback = templates, status_callback
        self.api_base_url, self.clock = api_base_url, clock
        self._client: Client | None = None
        self.sessions = sessions  # for the language of a list's button, and the templates
        self.interactive = TemplateSet(lambda: self.client, sessions)
        self.preparing = None  # the start-up task finding the templates (channel.py)
        self.runner = None  # the turn runner answering stored messages (rest mode)

    @property
    def client(self) -> Client:
        if self._client is None:  # made lazily: aiohttp wants the running loop
            self._client = make_client(self.account_sid, self.auth_token, self.api_base_url)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await close_client(self._client)
            self._client = None

    async def send(self, identity: ChatIdentity, reply: Reply,
                   notice: Notice | None = None) -> SendResult:
        if identity.opted_out_at is not None:  # the dispatcher skips these; never send
            return SendResult(ok=False, hold=True, error=OPTED_OUT)
        if in_window(identity, self.clock()):
            reply = with_file_link(reply, self.links, self.clock())
            parts = await self._in_session(identity.external_id, reply)
        else:
            content_sid = self.templates.content_sid(notice.kind) if notice else None
            if content_sid is None:
                return SendResult(ok=False, hold=True, error=WINDOW_HOLD)
            link = file_link(reply, self.links, self.clock())  # kept whole, the text is cut
            variables = {"1": render.template_variable(reply, tail=link)}
            parts = [Part({"content_sid": content_sid,
                           "content_variables": json.dumps(variables, ensure_ascii=False)})]
        return await self._deliver(identity.external_id, parts, notice)

    async def answer(self, external_id: str, reply: Reply,
                     language: str | None = None) -> SendResult:
        """A reply to the person's own message (its window has just opened): buttons or a
        list when the reply fits one, and sent even to a number that has just opted out
        (the reply is the confirmation). `language`: the chat's, if the caller knows it."""
        return await self._deliver(external_id,
                                   await self._in_session(external_id, reply, language))

    async def _deliver(self, external_id: str, parts: list[Part],
                       notice: Notice | None = None) -> SendResult:
        message_sid = None
        for part in parts:
            try:
                message_sid = await self._create(external_id, part.fields, notice)
            except Exception as error:
                result = classify(error)
                if not part.fallback or not result.permanent or result.unreachable \
                        or result.hold:
                    return result
                log.warning("interactive message refused (%s): sent as numbered text",
                            result.error)
                try:
                    for fields in part.fallback:
                        message_sid = await self._create(external_id, fields, notice)
                except Exception as again:
                    return classify(again)
        # a message split in parts is followed by its last part's status
        return SendResult(ok=True, status=NoticeStatus.SENT, provider_message_id=message_sid)

    def callback_for(self, notice: Notice | None) -> str | None:
        """The status-callback URL, naming the notice: Twilio's news of the message then
        tells which notice went out even when the process died before recording it."""
        if self.status_callback is None or notice is None or notice.id is None:
            return self.status_callback
        return f"{self.status_callback}?{NOTICE_PARAMETER}={notice.id}"

    async def find_sent(self, identity: ChatIdentity, reply: Reply,
                        since: datetime) -> list[SendResult]:
        """The messages this notice may have become, oldest first: Twilio's messages to
        this number created since `since` (less a minute for clocks apart) whose text
        starts as the notice's does (a template carries the text as its variable). The
        dispatcher leaves out those another notice already has. Raises when Twilio cannot
        be asked."""
        probe = " ".join(reply.text.split())[:LOOKUP_PROBE]
        messages = await self.client.messages.list_async(
            to=whatsapp_address(identity.external_id), from_=self.from_address,
            limit=LOOKUP_LIMIT)
        found = []
        for message in reversed(messages):  # Twilio lists the newest first
            created = message.date_created
            if created is not None and created < since - LOOKUP_SLACK:
                continue
            if str(message.status) in GONE_WRONG:
                continue
            if probe and probe in " ".join((message.body or "").split()):
                found.append(SendResult(ok=True, status=NoticeStatus.SENT,
                                        provider_message_id=message.sid))
        return found

    async def _create(self, external_id: str, fields: dict,
                      notice: Notice | None = None) -> str:
        message = await self.client.messages.create_async(
            to=whatsapp_address(external_id), from_=self.from_address,
            status_callback=self.callback_for(notice), **fields)
        return message.sid

    async def _in_session(self, external_id: str, reply: Reply,
                          language: str | None = None) -> list[Part]:
        """Free text; a reply with choices as buttons or a list when it fits one and the
        templates are ready, with its numbered text as the fallback."""
        shape = interactive.shape_of(reply)
        numbered = [{"body": part} for part in render.messages([reply])]
        if shape.kind == "text" or not await self.interactive.prepare():
            return [Part(fields) for fields in numbered]
        content_sid = self.interactive.sid_for(shape)
        if content_sid is None:
            return [Part(fields) for fields in numbered]
        if shape.kind == "list" and language is None:
            language = await self._language(external_id)
        variables = interactive.content_variables(shape, language or "it")
        tail = Reply(shape.body, reply.choices, reply.hint, notice=reply.notice)
        return [*(Part({"body": text}) for text in shape.lead),
                Part({"content_sid": content_sid,
                      "content_variables": json.dumps(variables, ensure_ascii=False)},
                     fallback=[{"body": part} for part in render.messages([tail])])]

    async def _language(self, external_id: str) -> str:
        if self.sessions is None:
            return "it"
        async with transaction(self.sessions) as session:
            return await chat_language(session, self.channel, external_id) or "it"
