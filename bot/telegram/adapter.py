"""Telegram updates → what they ask of the product. Pure functions, no I/O.

An update is one of:
- `ForDialogue`: typed text or a pressed inline button in a private chat, for the dialogue;
- `Explain`: a message of a kind the dialogue answers with one sentence — media and
  edited messages (Kind.NOT_TEXT), anything from a group or a channel (Kind.ELSEWHERE);
- `None`: nothing to act on (service messages, update types we do not subscribe to).
"""

from dataclasses import dataclass

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType

from handlers.types import Incoming, Kind
from handlers.untrusted import clean_id

CHANNEL = "telegram"
TEXT_ONLY = Kind.NOT_TEXT
PRIVATE_ONLY = Kind.ELSEWHERE


@dataclass(frozen=True)
class PressedButton:
    """An inline button pressed under one of our messages."""

    query_id: str
    message_id: int
    message_text: str | None  # None when Telegram no longer shows us the message
    label: str | None  # the button's label, read from the keyboard the press came from


def _check_id(value: object, *, optional: bool = False) -> None:
    """A chat or user id is an integer: TypeError for anything else (a broken update)."""
    if (value is None and optional) or (isinstance(value, int)
                                        and not isinstance(value, bool)):
        return
    raise TypeError(f"an id must be an integer, not {value!r:.40}")


@dataclass(frozen=True)
class ForDialogue:
    chat_id: int
    incoming: Incoming
    pressed: PressedButton | None = None

    def __post_init__(self) -> None:
        _check_id(self.chat_id)


@dataclass(frozen=True)
class Explain:
    """A message the dialogue answers with one sentence: of `kind` (handlers.types.Kind),
    from `user_id` (None: a channel's post, from no one)."""

    chat_id: int
    kind: str
    user_id: int | None
    language_hint: str | None
    query_id: str | None = None  # a button press to answer with the sentence, as a toast

    def __post_init__(self) -> None:
        _check_id(self.chat_id)
        _check_id(self.user_id, optional=True)
        object.__setattr__(self, "language_hint", clean_id(self.language_hint))
        object.__setattr__(self, "query_id", clean_id(self.query_id))


Route = ForDialogue | Explain


def route_update(update: Update) -> Route | None:
    if update.callback_query is not None:
        return _route_press(update.callback_query)
    if update.message is not None:
        return _route_message(update.message, edited=False)
    if update.edited_message is not None:
        return _route_message(update.edited_message, edited=True)
    if update.channel_post is not None:
        return Explain(update.channel_post.chat.id, PRIVATE_ONLY, None, None)
    return None


def dedupe_key(update: Update) -> str:
    """What makes an update unique: its id, plus what it is about. Telegram picks update ids
    at random again after a week without updates, so the id alone could, rarely, collide
    with one handled long ago; a replayed update repeats both parts exactly."""
    if update.callback_query is not None:
        about = update.callback_query.id
    elif update.effective_message is not None:
        about = f"{update.effective_message.chat_id}.{update.effective_message.message_id}"
    else:
        about = ""
    return clean_id(f"{update.update_id}:{about}")[:64]


def _route_message(message: Message, *, edited: bool) -> Route | None:
    user = message.from_user
    user_id = user.id if user else None
    hint = user.language_code if user else None
    if message.chat.type != ChatType.PRIVATE:
        # an edit in a group is not worth a second "private chats only"
        return None if edited else Explain(message.chat.id, PRIVATE_ONLY, user_id, hint)
    if edited:
        return Explain(message.chat.id, TEXT_ONLY, user_id, hint)
    if message.text is not None:
        return ForDialogue(message.chat.id, Incoming(
            CHANNEL, str(message.chat.id), text=message.text,
            display_name=user.first_name if user else None, language_hint=hint))
    if message.effective_attachment is not None:  # photo, voice, sticker, location, …
        return Explain(message.chat.id, TEXT_ONLY, user_id, hint)
    return None  # service messages (pinned, timer changed, …): nothing to say


def _route_press(query: CallbackQuery) -> Route | None:
    message = query.message
    if message is None or not query.data:  # inline-mode or game buttons: not ours
        return None
    user, chat = query.from_user, message.chat
    if chat.type != ChatType.PRIVATE:
        return Explain(chat.id, PRIVATE_ONLY, user.id, user.language_code, query_id=query.id)
    text = label = None
    if isinstance(message, Message):  # still accessible (not deleted, not too old)
        text, label = message.text, _label_of(message, query.data)
    pressed = PressedButton(query.id, message.message_id, text, label)
    incoming = Incoming(CHANNEL, str(chat.id), payload=query.data,
                        display_name=user.first_name, language_hint=user.language_code)
    return ForDialogue(chat.id, incoming, pressed)


def _label_of(message: Message, data: str) -> str | None:
    keyboard = message.reply_markup.inline_keyboard if message.reply_markup else ()
    for row in keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def explained(route: Explain) -> Incoming:
    """What the dialogue gets for such a message: its kind, from the person's own chat."""
    user = str(route.user_id) if route.user_id is not None else None
    return Incoming(CHANNEL, user, language_hint=route.language_hint, kind=route.kind)
