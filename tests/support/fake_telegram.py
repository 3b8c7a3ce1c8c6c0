"""A fake Bot API for real python-telegram-bot objects: an HTTP transport (`BaseRequest`)
that answers like api.telegram.org and records every call, plus builders of the Update
JSON Telegram sends. Shared by the Telegram tests and bench/telegram_throughput.py."""

import asyncio
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_ID = 123
BOT_USERNAME = "intempo_test_bot"
TOKEN = f"{BOT_ID}:ABC"
EPOCH = 1_795_000_000  # a date in 2026, as Telegram sends it (seconds)


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    url: str = ""
    at: float = 0.0  # when it was made, on the fake's `timer`
    result: Any = None  # what the fake answered (the sent Message, for sendMessage)


class FakeBotApi(BaseRequest):
    """Answers every Bot API method the channel uses, like api.telegram.org would, and
    records each call. `flood`/`blocked`/`fail` make the next call of a method fail with
    that HTTP answer, `network_failure` makes it raise as a broken connection would;
    `queue_updates` feeds getUpdates (long polling). `record=False` keeps no record
    (for the benchmark); `expect(n)` gives an event set after n more `count_method` calls."""

    def __init__(self, *, record: bool = True, count_method: str = "sendMessage",
                 poll_wait: float = 0.01):
        self.calls: list[ApiCall] = []
        self.failures: dict[str, list[tuple[int, dict] | None]] = {}
        self.pending_updates: list[dict] = []
        self.record, self.count_method, self.poll_wait = record, count_method, poll_wait
        self.timer = time.monotonic  # tests on simulated time replace it
        self._message_ids = itertools.count(1000)
        self._counted, self._target = 0, 0
        self._reached: asyncio.Event | None = None

    # --- BaseRequest -------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=None, write_timeout=None, connect_timeout=None,
                         pool_timeout=None) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        call = ApiCall(api_method, params, url, self.timer())
        if self.record:
            self.calls.append(call)
        if self.count_method == api_method:
            self._count()
        planned = self.failures.get(api_method)
        if planned:
            failure = planned.pop(0)
            if failure is None:
                raise TimedOut("fake network failure")
            status, body = failure
            return status, json.dumps(body).encode()
        call.result = await self._answer(api_method, params)
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    # --- scripting ------------------------------------------------------------------------
    def fail(self, method: str, status: int, body: dict) -> None:
        self.failures.setdefault(method, []).append((status, body))

    def flood(self, method: str, retry_after: int) -> None:
        self.fail(method, 429, {"ok": False, "error_code": 429,
                                "description": f"Too Many Requests: retry after {retry_after}",
                                "parameters": {"retry_after": retry_after}})

    def blocked(self, method: str = "sendMessage") -> None:
        self.fail(method, 403, {"ok": False, "error_code": 403,
                                "description": "Forbidden: bot was blocked by the user"})

    def network_failure(self, method: str) -> None:
        self.failures.setdefault(method, []).append(None)

    def queue_updates(self, *updates: dict) -> None:
        self.pending_updates.extend(updates)

    def expect(self, count: int) -> asyncio.Event:
        """An event set once `count_method` has been called `count` times from now."""
        self._counted, self._target, self._reached = 0, count, asyncio.Event()
        return self._reached

    def _count(self) -> None:
        self._counted += 1
        if self._reached is not None and self._counted >= self._target:
            self._reached.set()

    # --- reading the record ---------------------------------------------------------------
    def called(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        return [params for params in self.called("sendMessage")
                if chat_id is None or params["chat_id"] == chat_id]

    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages sent to `chat_id`, as Telegram returned them (with message_id)."""
        return [call.result for call in self.calls
                if call.method == "sendMessage" and call.result is not None
                and call.params["chat_id"] == chat_id]

    def last_message(self, chat_id: int) -> dict[str, Any]:
        messages = self.messages(chat_id)
        assert messages, f"nothing sent to chat {chat_id}"
        return messages[-1]

    def clear(self) -> None:
        self.calls.clear()

    # --- answers --------------------------------------------------------------------------
    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "IN...TEMPO",
                    "username": BOT_USERNAME, "can_join_groups": False,
                    "can_read_all_group_messages": False, "supports_inline_queries": False}
        if method == "sendMessage":
            return self._message(params["chat_id"], next(self._message_ids), params["text"],
                                 params.get("reply_markup"))
        if method in ("sendPhoto", "sendDocument"):
            return self._message(params["chat_id"], next(self._message_ids), "", None)
        if method == "editMessageText":
            return self._message(params["chat_id"], params["message_id"], params["text"],
                                 params.get("reply_markup"))
        if method == "editMessageReplyMarkup":
            return self._message(params["chat_id"], params["message_id"], "…",
                                 params.get("reply_markup"))
        if method == "getUpdates":
            return await self._updates(params)
        return True  # answerCallbackQuery, setWebhook, deleteWebhook, setMyCommands, …

    async def _updates(self, params: dict[str, Any]) -> list[dict]:
        offset = int(params.get("offset") or 0)
        ready = [u for u in self.pending_updates if u["update_id"] >= offset]
        if not ready:
            await asyncio.sleep(self.poll_wait)
        return ready

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str, reply_markup: Any) -> dict:
        message = {"message_id": message_id, "date": EPOCH,
                   "chat": {"id": chat_id, "type": "private", "first_name": "Chat"},
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "IN...TEMPO"},
                   "text": text}
        if isinstance(reply_markup, str):
            reply_markup = json.loads(reply_markup)
        if reply_markup:
            message["reply_markup"] = reply_markup
        return message


def buttons(sent_message: dict) -> list[dict]:
    """The inline buttons of a sent message (or of recorded sendMessage params), in order."""
    markup = sent_message.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if not markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


class Updates:
    """Builds Update JSON as Telegram sends it, with increasing update ids."""

    def __init__(self, first_id: int = 500_000):
        self._ids = itertools.count(first_id)
        self._message_ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    @staticmethod
    def user(user_id: int, first_name: str = "Giulia", language: str = "it") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name,
                "language_code": language}

    def message(self, chat_id: int, text: str | None = None, *, language: str = "it",
                chat_type: str = "private", edited: bool = False, **content) -> dict:
        sender = self.user(chat_id if chat_type == "private" else 777, language=language)
        chat = ({"id": chat_id, "type": "private", "first_name": "Giulia"}
                if chat_type == "private" else
                {"id": chat_id, "type": chat_type, "title": "Gruppo"})
        message = {"message_id": next(self._message_ids), "date": EPOCH, "chat": chat,
                   "from": sender, **content}
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(command)}]
        if edited:
            message["edit_date"] = EPOCH + 60
        return {"update_id": self.next_id(),
                "edited_message" if edited else "message": message}

    def photo(self, chat_id: int, **kwargs) -> dict:
        return self.message(chat_id, photo=[{"file_id": "AgAD", "file_unique_id": "AQAD",
                                             "width": 90, "height": 90}], **kwargs)

    def voice(self, chat_id: int, **kwargs) -> dict:
        return self.message(chat_id, voice={"file_id": "AwAD", "file_unique_id": "AQAE",
                                            "duration": 3}, **kwargs)

    def sticker(self, chat_id: int, **kwargs) -> dict:
        return self.message(chat_id, sticker={
            "file_id": "CAAD", "file_unique_id": "AQAF", "type": "regular", "width": 512,
            "height": 512, "is_animated": False, "is_video": False}, **kwargs)

    def location(self, chat_id: int, **kwargs) -> dict:
        return self.message(chat_id, location={"latitude": 45.3627, "longitude": 9.6843},
                            **kwargs)

    def press(self, chat_id: int, sent_message_result: dict, data: str, *,
              from_id: int | None = None, language: str = "it") -> dict:
        """A callback query: `from_id` pressed the button `data` under a message we sent."""
        from_id = from_id if from_id is not None else chat_id
        return {"update_id": self.next_id(), "callback_query": {
            "id": str(next(self._ids) * 7919), "from": self.user(from_id, language=language),
            "chat_instance": f"ci{chat_id}", "data": data, "message": sent_message_result}}



class TelegramChat:
    """One private chat talking to an installed Telegram channel: each update goes through
    the channel's real processor (adapter → dialogue → store → Bot API over the fake)."""

    def __init__(self, channel, api: FakeBotApi, updates: Updates, chat_id: int,
                 language: str = "it"):
        self.channel, self.api, self.updates = channel, api, updates
        self.chat_id, self.language = chat_id, language

    async def deliver(self, update: dict) -> str:
        """Hand `update` to the channel; the text of what it sent this chat, joined."""
        before = len(self.api.messages(self.chat_id))
        await self.channel.processor.process(Update.de_json(update, self.channel.bot))
        return "\n\n".join(m["text"] for m in self.api.messages(self.chat_id)[before:])

    async def say(self, text: str) -> str:
        return await self.deliver(self.updates.message(self.chat_id, text,
                                                       language=self.language))

    def keyboard_message(self) -> dict:
        """The last message sent to this chat that carries buttons."""
        for message in reversed(self.api.messages(self.chat_id)):
            if buttons(message):
                return message
        raise AssertionError(f"no keyboard was sent to chat {self.chat_id}")

    def button(self, label_part: str, message: dict | None = None) -> dict:
        message = message or self.keyboard_message()
        for button in buttons(message):
            if label_part.casefold() in button["text"].casefold():
                return button
        raise AssertionError(f"no button {label_part!r} in "
                             f"{[b['text'] for b in buttons(message)]}")

    def press_update(self, label_part: str, message: dict | None = None,
                     from_id: int | None = None) -> dict:
        message = message or self.keyboard_message()
        data = self.button(label_part, message)["callback_data"]
        return self.updates.press(self.chat_id, message, data, from_id=from_id,
                                  language=self.language)

    async def press(self, label_part: str, message: dict | None = None) -> str:
        """Press the first button whose label contains `label_part` (on the last keyboard)."""
        return await self.deliver(self.press_update(label_part, message))

    async def enrol(self, code: str, name: str = "Giulia") -> None:
        """The real onboarding, through the deep link and the buttons."""
        await self.say(f"/start {code}")
        await self.press("Italiano")
        await self.press("Accetto")
        await self.say(name)
        done = await self.press("Donna")
        assert "Fatto" in done, done
