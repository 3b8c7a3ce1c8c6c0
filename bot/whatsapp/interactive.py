"""Which shape a reply with choices takes on WhatsApp, and the values that fill it.

- **buttons** (`twilio/quick-reply`): at most 3 choices whose labels fit a button title
  (20 characters: WhatsApp's in-session limit);
- **list** (`twilio/list-picker`): at most 10 choices, each as an item of at most 24
  characters; a longer label is cut where it has a natural break (« · », « - », «: »,
  « (») or else between words, its first part the item and the rest the item's
  description (at most 72) — so the whole label is still read;
- **text**: the numbered list of `render.as_text`, for more than 10 choices or a label
  that cannot be cut that way (a word longer than an item, a rest longer than a
  description), and whenever no interactive template is at hand.

Each choice's payload (the dialogue's choice token) is the button's or the item's id: a
tap sends it back (`ButtonPayload`, `ListId`), and the dialogue takes it as a pressed
choice. Typed answers still work: the label's words, or its number where one is shown."""

import re
from dataclasses import dataclass

from bot.whatsapp.render import as_text, split, units
from handlers.messages import text
from handlers.types import Reply

MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ITEMS = 10
MAX_ITEM = 24
MAX_DESCRIPTION = 72
MAX_BODY = 1024  # the body of a quick-reply or list-picker template, variables filled
BREAKS = (" · ", " — ", " – ", " - ", ": ", " (")
ELLIPSIS = "…"
BUTTON_LABEL = "whatsapp.list_button"  # the catalogue's «Scegli» / «Choose»


@dataclass(frozen=True)
class Item:
    """One button or list item: what it shows, and the id a tap sends back."""

    title: str
    id: str
    description: str | None = None


@dataclass(frozen=True)
class Shape:
    """How one reply goes out. `lead` are plain messages sent before it (a body too long
    for one interactive message); `kind` is "text" (then `body` is the whole numbered
    text), "buttons" or "list"."""

    kind: str
    body: str
    items: tuple[Item, ...] = ()
    lead: tuple[str, ...] = ()

    @property
    def described(self) -> bool:
        """A list whose items carry descriptions (a template of its own)."""
        return any(item.description for item in self.items)


def shape_of(reply: Reply) -> Shape:
    """The shape for `reply` (see the module's docstring)."""
    choices = reply.choices
    if not choices:
        return Shape("text", reply.text)
    parts = split(reply.text, MAX_BODY) or [reply.text.strip() or "…"]
    lead, body = tuple(parts[:-1]), parts[-1]
    labels = [(one_line(choice.label), choice.payload) for choice in choices]
    if len(choices) <= MAX_BUTTONS and _distinct([label for label, _ in labels]) \
            and all(units(label) <= MAX_BUTTON_TITLE for label, _ in labels):
        return Shape("buttons", body, tuple(Item(*pair) for pair in labels), lead)
    if len(choices) <= MAX_ITEMS:
        items = [_item(label, payload) for label, payload in labels]
        if all(items) and _distinct([item.title for item in items]):
            return Shape("list", body, tuple(items), lead)
    return Shape("text", as_text(reply))


def _distinct(titles: list[str]) -> bool:
    """WhatsApp wants titles unique within a message."""
    return len({title.casefold() for title in titles}) == len(titles)


def _item(label: str, payload: str) -> Item | None:
    """The label as a list item, cut into item and description if it must be; None if it
    cannot be cut without losing part of it."""
    if units(label) <= MAX_ITEM:
        return Item(label, payload)
    for mark in BREAKS:
        head, found, rest = label.partition(mark)
        if found and head.strip() and units(head.strip()) <= MAX_ITEM:
            rest = ("(" + rest if mark == " (" else rest).strip()
            if rest and units(rest) <= MAX_DESCRIPTION:
                return Item(head.strip(), payload, rest)
    words = label.split(" ")
    for cut in range(len(words) - 1, 0, -1):
        head = " ".join(words[:cut]) + ELLIPSIS
        rest = ELLIPSIS + " ".join(words[cut:])
        if units(head) <= MAX_ITEM:
            return Item(head, payload, rest) if units(rest) <= MAX_DESCRIPTION else None
    return None


def content_variables(shape: Shape, language: str) -> dict[str, str]:
    """The ContentVariables filling the shape's template (see templates.py for where each
    number goes): {{1}} the body; then for each button its title and id, for each item
    its title, id and (in a described list) description; for a list, the button label
    last. WhatsApp refuses empty variables, so an item with no description of its own in
    a described list gets a zero-width space."""
    values = [shape.body]
    for item in shape.items:
        values += [item.title, item.id]
        if shape.kind == "list" and shape.described:
            values.append(item.description or "\u200b")
    if shape.kind == "list":
        values.append(text(language, BUTTON_LABEL))
    return {str(number): value for number, value in enumerate(values, 1)}


def one_line(text: str) -> str:
    """Item titles and descriptions hold no line breaks."""
    return re.sub(r"\s+", " ", text).strip()
