"""The dialogue engine: one incoming message → one transaction → the replies.

The conversation's state is a row (step, draft, way back, offered choices), so any process
can handle any message, and a crash before the commit leaves everything as it was."""

import logging
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from handlers import steps  # noqa: F401  (registers every step)
from handlers.actions import run_action
from handlers.flow import STEPS, DialogueSettings, Go, Home, Next, Option, Stay, Turn
from handlers.inbound import Chat, handle_once
from handlers.language import answer_in, from_hint, language_for
from handlers.matching import fold, match_choice
from handlers.messages import text as catalogue_text
from handlers.steps import notice as notice_step
from handlers.steps.panel import say_panel_link
from handlers.types import Choice, Incoming, Kind, Reply
from handlers.untrusted import clean_text
from models import chat_state
from models.base import utcnow
from models.outbox import release_held
from models.tables import Conversation, Notice

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 1000
MAX_BACK_STEPS = 20
COMMANDS = {
    "start": "start", "menu": "menu", "home": "menu",
    "indietro": "back", "back": "back",
    "annulla": "cancel", "cancel": "cancel",
    "aiuto": "help", "help": "help", "?": "help",
    "richieste": "requests", "requests": "requests",
    "digest": "digest", "riepilogo": "digest",
    "stats": "stats", "statistiche": "stats",
    "export": "export", "indicatori": "export",
    "pannello": "panel", "panel": "panel",
}
COORDINATOR_COMMANDS = {"digest": "coord.digest", "stats": "coord.stats",
                        "export": "coord.export"}
WELCOME, HOME = "welcome", "home"
NAVIGATION = {"__back": "back", "__menu": "menu"}  # the option values of the nav buttons
NOTICE_ACTION = "notice:"


class Dialogue:
    """Handles incoming messages from any channel; `clock` is injectable for tests."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 settings: DialogueSettings | None = None,
                 clock: Callable[[], datetime] = utcnow):
        self.sessions = sessions
        self.settings = settings or DialogueSettings()
        self.clock = clock

    async def handle(self, incoming: Incoming, key: str | None = None) -> list[Reply]:
        """One message whose replies the caller shows at once (the console, tests): handled
        through the one way in, under `key` (a fresh line id when none is given)."""
        chat = Chat(incoming.channel, incoming.external_id, incoming.language_hint)
        handled = await handle_once(self.sessions, chat, key or uuid.uuid4().hex,
                                    lambda session: self.handle_in(session, incoming),
                                    self.clock, handed_over=True)
        return handled.replies if handled else []

    @metrics.timed_turn
    async def handle_in(self, session: AsyncSession, incoming: Incoming) -> list[Reply]:
        """Handle inside the caller's transaction (handlers.inbound.handle_once)."""
        now = self.clock()
        if incoming.kind == Kind.ELSEWHERE or incoming.external_id is None:
            # a group or a channel: one sentence, and no chat of the bot's is touched
            language = await language_for(session, incoming.channel, incoming.external_id,
                                          incoming.language_hint)
            return [Reply(catalogue_text(language, "channel.private_only"))]
        state = await chat_state.load_chat(session, incoming.channel, incoming.external_id,
                                           first_step=WELCOME,
                                           create=incoming.kind != Kind.NOT_TEXT)
        if state is None:  # not text, from a chat never seen: only the sentence
            return [Reply(catalogue_text(from_hint(incoming.language_hint),
                                         "channel.text_only"))]
        person = state.person if state.person is not None and state.person.active else None
        if incoming.kind == Kind.OPT_OUT:
            chat_state.opt_out(state.identity, now)
            return [Reply(_sentence(state, incoming, "channel.opted_out"))]
        if incoming.kind == Kind.OPT_IN and chat_state.opt_in(state.identity):
            # only the confirmation: a request being written stays where it was
            await _wrote(session, state, person, now)
            return [Reply(_sentence(state, incoming, "channel.opted_in"))]
        await _wrote(session, state, person, now)
        if incoming.kind == Kind.NOT_TEXT:
            return [Reply(_sentence(state, incoming, "channel.text_only"))]
        conversation = _reset_if_not_enrolled(state.conversation, person)
        turn = Turn(session, state.identity, conversation, person, now, self.settings)
        if person is None and "language" not in turn.data and incoming.language_hint:
            turn.remember(language=from_hint(incoming.language_hint))
        next_step = await _interpret(turn, incoming)
        if turn.person is not None and turn.person.erased_at is not None:
            # the person has just been erased: nothing of this chat is kept, not even a step
            return [Reply("\n\n".join(turn.said))]
        _apply(turn, next_step)
        reply = await _render(turn)
        await chat_state.save_conversation(session, state)
        return [reply]


async def _wrote(session: AsyncSession, state: chat_state.ChatState, person, now) -> None:
    """The chat wrote: it is reachable again, and notices held for the person are due."""
    chat_state.note_inbound(state.identity, now)
    if person is not None and state.has_held_notices:
        await release_held(session, person.id, now)


def _sentence(state: chat_state.ChatState, incoming: Incoming, key: str) -> str:
    """A catalogue sentence in the chat's language (handlers.language's rule, on the state
    already read)."""
    chosen = state.person.language if state.person is not None \
        else state.conversation.data.get("language")
    return catalogue_text(answer_in(chosen, incoming.language_hint), key)


def step_for(name: str):
    """The step a conversation is at; "notice:<id>" is the notice step with its notice."""
    if notice_step.notice_id_of(name) is not None:
        return STEPS[notice_step.NoticeAnswer.name]
    return STEPS.get(name)


async def show_notice(session: AsyncSession, identity_id: int, notice_id: int,
                      now: datetime) -> None:
    """A notice with choices has just appeared in a chat that numbers choices: it becomes
    the chat's current step (the step it interrupts is the way back), so the next number
    typed answers it and nothing the person has not seen (README: «Numbers answer what
    you last saw»)."""
    notice = await session.get(Notice, notice_id)
    state = await chat_state.load_chat_by_id(session, identity_id, first_step=HOME)
    if state is None or notice is None or not notice.choices \
            or state.identity.person_id != notice.person_id:
        return
    person = state.person
    if person is None or not person.active:
        return
    turn = Turn(session, state.identity, state.conversation, person, now, DialogueSettings())
    _apply(turn, Go(notice_step.step_name(notice.id)))
    await _render(turn)
    try:
        await chat_state.save_conversation(session, state)
    except chat_state.ConversationMoved:
        # the person's own turn changed the chat meanwhile (it wins: the notice was sent,
        # only its becoming the current step is given up; nothing was written)
        log.info("notice %s not made the current step: the chat moved on", notice_id)


def _reset_if_not_enrolled(conversation: Conversation, person) -> Conversation:
    """A chat with no (active) person can only be enrolling."""
    if person is None and not conversation.step.startswith("onboarding") \
            and conversation.step != WELCOME:
        conversation.step, conversation.back = WELCOME, []
    return conversation


async def _interpret(turn: Turn, incoming: Incoming) -> Next:
    current = step_for(turn.conversation.step) or STEPS[HOME if turn.person else WELCOME]
    if incoming.resume:
        return Stay()
    if incoming.payload is not None:
        value = await _resolve(turn, incoming.payload)
        if value is None:
            turn.say("choice.stale")
            return Stay()
        if value.startswith(NOTICE_ACTION):
            done = await run_action(turn, value.removeprefix(NOTICE_ACTION))
            if isinstance(done, Stay) and notice_step.notice_id_of(turn.conversation.step):
                return turn.go_back() or done  # the notice answered by its button
            return done
        if value in NAVIGATION:
            return await _run_command(turn, current, NAVIGATION[value], "")
        return await current.choose(turn, value)
    text = clean_text(incoming.text or "")
    if not text:
        turn.say("input.empty")
        return Stay()
    if len(text) > MAX_INPUT_CHARS:
        turn.say("input.too_long", limit=MAX_INPUT_CHARS)
        return Stay()
    command, argument = _command(text)
    if command == "cancel" and not text.startswith("/"):
        # "annulla" where the step offers «Annulla la richiesta» means that option (which
        # asks for a reason before anything is cancelled), not "drop what I am doing"
        own = [c["value"] for c in turn.conversation.choices
               if fold(c["label"]).startswith(fold(text) + " ")]
        if len(own) == 1:
            return await current.choose(turn, own[0])
    if command:
        return await _run_command(turn, current, command, argument)
    early = await current.before_options(turn, text)
    if early is not None:
        return early
    offered = turn.conversation.choices
    found = match_choice(text, [c["label"] for c in offered])
    if len(found) == 1:
        value = offered[found[0]]["value"]
        if value in NAVIGATION:
            return await _run_command(turn, current, NAVIGATION[value], "")
        return await current.choose(turn, value)
    if len(found) > 1:
        turn.say("input.ambiguous", options=" / ".join(offered[i]["label"] for i in found))
        return Stay()
    return await current.typed(turn, text)


def _command(text: str) -> tuple[str | None, str]:
    """'/start ABC' → ('start', 'ABC'); 'Menu' → ('menu', ''); other text → (None, '')."""
    match = re.fullmatch(r"/?([^\s@/]+)(?:@\w+)?(?:\s+(.*))?", text.strip(), re.DOTALL)
    if not match:
        return None, ""
    word = fold(match.group(1)) or match.group(1)
    if word not in COMMANDS or (not text.startswith("/") and match.group(2)
                                and COMMANDS[word] != "start"):
        return None, ""
    return COMMANDS[word], (match.group(2) or "").strip()


async def _run_command(turn: Turn, current, command: str, argument: str) -> Next:
    enrolled = turn.person is not None
    if command == "start" and argument and not enrolled:
        turn.conversation.step = WELCOME
        return await STEPS[WELCOME].typed(turn, argument)
    if command == "help":
        turn.say(current.help_key)
        return Stay()
    if command == "back":
        previous = turn.go_back()
        if previous is None:
            turn.say("nav.nothing_back")
            return Stay()
        return previous
    if command == "cancel" and turn.conversation.step not in (HOME, WELCOME):
        turn.say("nav.cancelled")
    if command == "requests" and enrolled and turn.person.role == "worker":
        turn.conversation.step, turn.conversation.back = HOME, []
        return Go("mine.list")
    if command == "panel" and enrolled and await say_panel_link(turn):
        return Home()
    if command in COORDINATOR_COMMANDS and enrolled and turn.person.role == "coordinator":
        target = COORDINATOR_COMMANDS[command]
        turn.conversation.step, turn.conversation.back = target, [HOME]
        if argument:  # "/stats settimana": the period comes with the command
            return await STEPS[target].typed(turn, argument)
        return Go(target, remember=False)
    return Home()


def _apply(turn: Turn, next_step: Next) -> None:
    conversation = turn.conversation
    if isinstance(next_step, Go):
        if next_step.remember and next_step.step != conversation.step:
            conversation.back = [*conversation.back, conversation.step][-MAX_BACK_STEPS:]
        conversation.step = next_step.step
    elif isinstance(next_step, Home):
        language = {} if turn.person else {"language": turn.language}
        conversation.step = HOME if turn.person else WELCOME
        conversation.back, conversation.data = [], language
    conversation.updated_at = turn.now


async def _resolve(turn: Turn, token: str) -> str | None:
    """The value of a pressed choice, if it is one the chat's current step offers (kept in
    the conversation row) or one of a notice sent to this person (then prefixed with
    NOTICE_ACTION; those tokens are rows, looked up only when the step's are not it)."""
    for offered in turn.conversation.choices:
        if offered.get("token") == token:
            return offered["value"]
    if turn.person is not None:
        value = await chat_state.notice_token_value(turn.session, token[:16], turn.person.id)
        if value is not None:
            return NOTICE_ACTION + value
    log.info("stale or foreign choice token from identity %s", turn.identity.id)
    return None


def _navigation(turn: Turn) -> list[Option]:
    """The way back, offered at every step past the main menu (on a notice, «indietro»
    and «menu» are typed: its numbers are only its own choices)."""
    if turn.person is None or turn.conversation.step == HOME \
            or notice_step.notice_id_of(turn.conversation.step) is not None:
        return []
    options = [Option(turn.t("nav.back_label"), "__back")] if turn.conversation.back else []
    return [*options, Option(turn.t("nav.menu_label"), "__menu")]


async def _render(turn: Turn) -> Reply:
    """The current step's question, with fresh tokens for its options."""
    conversation = turn.conversation
    prompt = await (step_for(conversation.step) or STEPS[HOME]).prompt(turn)
    conversation.seq += 1
    offered = [{"label": option.label, "value": option.value,
                "token": secrets.token_urlsafe(6)}
               for option in (*prompt.options, *_navigation(turn))]
    conversation.choices = offered
    text = "\n\n".join([*turn.said, prompt.text])
    hint = turn.t("input.hint") if offered and prompt.hint else None
    file = turn.files[0] if turn.files else None
    return Reply(text, tuple(Choice(o["label"], o["token"]) for o in offered), hint,
                 file=file)
