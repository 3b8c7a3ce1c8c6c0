"""The outbox sender for WhatsApp.

Inside 24 hours of the person's last message (ChatIdentity.last_inbound_at) a notice goes
as free text. Outside, WhatsApp accepts only an approved template: the one configured for
the notice's kind is sent with the notice's text as its variable {{1}}; with none, the
sender answers `hold` and the dispatcher tries the person's other chat, else keeps the
notice until they write again."""

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from twilio.rest import Client

from bot.files import FileLinks, file_link, with_file_link
from bot.whatsapp import render
from bot.whatsapp.client import close_client, make_client
from bot.whatsapp.errors import classify
from bot.whatsapp.settings import WhatsAppSettings
from handlers.sending import SendResult
from handlers.types import Reply
from models.base import NoticeStatus, utcnow
from models.tables import ChatIdentity, Notice
from models.whatsapp import WINDOW_HOLD
from scheduler.ratelimit import Limits

OPTED_OUT = "whatsapp_opted_out"
NOTICE_PARAMETER = "notice"  # in the status-callback URL: the notice a message is
LOOKUP_LIMIT = 20  # recent messages to one number, looked through for an unknown send
LOOKUP_PROBE = 60  # characters of the notice's text looked for in a message's body
LOOKUP_SLACK = timedelta(minutes=1)
GONE_WRONG = {"failed", "undelivered", "canceled"}
WINDOW = timedelta(hours=24)
# Twilio measures the window from when it received the person's message, a moment before
# we stored it, and our request takes a moment to reach it: keep clear of the edge.
WINDOW_MARGIN = timedelta(minutes=5)


SANDBOX = "whatsapp:+14155238886"
# Twilio queues a WhatsApp sender's messages beyond 80 a second; the sandbox allows about
# one request every few seconds. One message a second to a person keeps notices in order
# and clear of WhatsApp's per-recipient burst limit.
LIMITS = Limits(per_second=80, per_chat_seconds=1.0)
SANDBOX_LIMITS = Limits(per_second=1, per_chat_seconds=3.0)


def whatsapp_address(number: str) -> str:
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def in_window(identity: ChatIdentity, now: datetime) -> bool:
    last = identity.last_inbound_at
    return last is not None and now - last < WINDOW - WINDOW_MARGIN


class WhatsAppSender:
    channel = "whatsapp"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str,
                 templates: WhatsAppSettings, status_callback: str | None = None,
                 api_base_url: str | None = None, clock: Callable[[], datetime] = utcnow,
                 links: FileLinks | None = None):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.links = links  # signed links for files (the digest's chart, CSVs)
        self.from_address = whatsapp_address(from_number)
        self.limits = SANDBOX_LIMITS if self.from_address == SANDBOX else LIMITS
        self.templates, self.status_callback = templates, status_callback
        self.api_base_url, self.clock = api_base_url, clock
        self._client: Client | None = None

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
            requests = [{"body": part} for part in render.messages([reply])]
        else:
            content_sid = self.templates.content_sid(notice.kind) if notice else None
            if content_sid is None:
                return SendResult(ok=False, hold=True, error=WINDOW_HOLD)
            link = file_link(reply, self.links, self.clock())  # kept whole, the text is cut
            variables = {"1": render.template_variable(reply, tail=link)}
            requests = [{"content_sid": content_sid,
                         "content_variables": json.dumps(variables, ensure_ascii=False)}]
        message_sid = None
        for fields in requests:
            try:
                message = await self.client.messages.create_async(
                    to=whatsapp_address(identity.external_id), from_=self.from_address,
                    status_callback=self.callback_for(notice), **fields)
            except Exception as error:
                return classify(error)
            message_sid = message.sid
        # a notice split in parts is followed by its last part's status
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
