"""Driving the WhatsApp channel in tests: a runtime with Twilio settings and the channel
installed, the ASGI app over httpx, and a phone that posts form requests signed with the
twilio library's RequestValidator, the way Twilio does, and reads the TwiML back."""

import itertools
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select
from twilio.request_validator import RequestValidator

from bot.settings import Settings
from bot.web import create_app
from bot.whatsapp.channel import install
from bot.whatsapp.settings import WhatsAppSettings
from models.db import transaction
from models.tables import ChatIdentity, Notice, ProcessedUpdate

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
FROM = "whatsapp:+14155238886"
PUBLIC = "https://intempo.example.org"
WEBHOOK = "/whatsapp/webhook"
STATUS = "/whatsapp/status"
TEMPLATE_SID = "HX" + "ab" * 16
_sids = itertools.count(1)


def new_message_sid() -> str:
    return f"SM{next(_sids):032x}"


def wire_whatsapp(runtime, *, api_base_url: str | None = None,
                  templates: WhatsAppSettings | None = None, public: str | None = PUBLIC,
                  reply_mode: str = "twiml"):
    """Give the runtime Twilio settings, install the channel, return the web app. These
    tests read the replies in the webhook's TwiML unless `reply_mode="rest"` (the
    product's default: see TappingPhone)."""
    runtime.settings = Settings(
        database_url=runtime.settings.database_url, twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN, twilio_whatsapp_from=FROM, public_base_url=public,
        twilio_api_base_url=api_base_url, whatsapp_reply_mode=reply_mode, _env_file=None)
    install(runtime, templates or WhatsAppSettings(_env_file=None))
    return create_app(runtime)


def client_for(app) -> httpx.AsyncClient:
    """Requests reach the app as they reach it behind the proxy: on an internal address."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://10.0.0.7:8000")


def signature(path: str, params: dict, *, token: str = AUTH_TOKEN,
              public: str = PUBLIC) -> str:
    return RequestValidator(token).compute_signature(public + path, params)


async def post_signed(client: httpx.AsyncClient, path: str, params: dict,
                      **signing) -> httpx.Response:
    headers = {"X-Twilio-Signature": signature(path, params, **signing)}
    return await client.post(path, data=params, headers=headers)


def inbound_form(phone: str, body: str, sid: str | None = None, **extra) -> dict:
    """The form Twilio posts for an inbound WhatsApp message."""
    form = {"SmsMessageSid": sid or new_message_sid(), "NumMedia": "0",
            "ProfileName": "Giulia", "MessageType": "text", "SmsSid": "", "WaId": phone[1:],
            "SmsStatus": "received", "Body": body, "To": FROM, "NumSegments": "1",
            "ReferralNumMedia": "0", "MessageSid": "", "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone}", "ApiVersion": "2010-04-01"}
    form["MessageSid"] = form["SmsSid"] = form["SmsMessageSid"]
    form.update(extra)
    return form



def callback(status: str, sid: str, error_code: str | None = None, *,
             to: str = "+393331234567") -> dict:
    """The form Twilio posts to a message's StatusCallback (message `sid`, sent to `to`)."""
    form = {"SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "MessageSid": sid,
            "To": f"whatsapp:{to}", "From": FROM, "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01", "ChannelToAddress": to[:-4] + "XXXX",
            "ChannelPrefix": "whatsapp", "ChannelInstallSid": "XE" + "0" * 32}
    if error_code:
        form["ErrorCode"] = error_code
    return form


def messages_of(response: httpx.Response) -> list[str]:
    """The bodies of the TwiML <Message> elements, in order."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.text)
    assert root.tag == "Response"
    return [element.text or "" for element in root.findall("Message")]


@dataclass
class Phone:
    """A WhatsApp user writing to the bot through signed webhooks."""

    client: httpx.AsyncClient
    number: str
    last: list[str] | None = None

    async def say(self, body: str, **extra) -> str:
        response = await post_signed(self.client, WEBHOOK,
                                     inbound_form(self.number, body, **extra))
        self.last = messages_of(response)
        return "\n\n".join(self.last)


async def count_rows(runtime) -> dict[str, int]:
    """How many identities, processed updates and notices the store holds."""
    async with transaction(runtime.sessions) as session:
        return {table.__name__: len((await session.exec(select(table))).all())
                for table in (ChatIdentity, ProcessedUpdate, Notice)}


async def identity(runtime, number: str, channel: str = "whatsapp") -> ChatIdentity | None:
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == number))).first()


@dataclass
class Shown:
    """One message the bot sent through the REST API, as the phone shows it: its text and
    the buttons or list items to tap (title → id), or none."""

    text: str
    taps: dict[str, str]
    kind: str  # text, buttons, list


def shown(fake, request) -> Shown:
    """What a recorded Messages request shows, filling its template like Twilio does."""
    import json
    import re

    if request.one("Body") is not None:
        return Shown(request.one("Body"), {}, "text")
    variables = json.loads(request.one("ContentVariables"))
    types = fake.templates[request.one("ContentSid")]["types"]

    def fill(value: str) -> str:
        return re.sub(r"\{\{(\d+)\}\}", lambda m: variables[m.group(1)], value)

    if "twilio/quick-reply" in types:
        quick = types["twilio/quick-reply"]
        return Shown(fill(quick["body"]), {fill(a["title"]): fill(a["id"])
                                           for a in quick["actions"]}, "buttons")
    picker = types["twilio/list-picker"]
    return Shown(fill(picker["body"]), {fill(i["item"]): fill(i["id"])
                                        for i in picker["items"]}, "list")


@dataclass
class TappingPhone:
    """A WhatsApp user of the default (rest) mode: each message is acknowledged with an
    empty TwiML response, and the bot's replies arrive through the REST API (our fake
    Twilio records them). `tap` presses a button or list item by part of its title,
    sending back its id the way Twilio does (ButtonPayload, or ListId for a list)."""

    client: httpx.AsyncClient
    number: str
    fake: object
    runner: object
    seen: int = 0
    last: list[Shown] | None = None

    async def say(self, body: str, **extra) -> str:
        response = await post_signed(self.client, WEBHOOK,
                                     inbound_form(self.number, body, **extra))
        assert messages_of(response) == []  # acknowledged at once, nothing inline
        await self.runner.settle()
        return self.read()

    def read(self) -> str:
        """The messages that reached this phone since it last looked (replies, notices)."""
        mine = [r for r in self.fake.sent if r.one("To") == f"whatsapp:{self.number}"]
        self.last = [shown(self.fake, r) for r in mine[self.seen:]]
        self.seen = len(mine)
        return "\n\n".join(s.text for s in self.last)

    @property
    def taps(self) -> dict[str, str]:
        return {title: id_ for s in self.last or [] for title, id_ in s.taps.items()}

    async def tap(self, part: str) -> str:
        found = [(title, id_) for title, id_ in self.taps.items() if part in title]
        assert len(found) == 1, f"{part!r} among {list(self.taps)}"
        title, token = found[0]
        kind = next(s.kind for s in self.last if title in s.taps)
        if kind == "buttons":
            return await self.say(title, MessageType="button", ButtonText=title,
                                  ButtonPayload=token)
        return await self.say(title, MessageType="interactive", ListId=token,
                              ListTitle=title)


# twilio 9's async client warns about its own use of aiohttp's BasicAuth
TWILIO_CLIENT_WARNINGS = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]

