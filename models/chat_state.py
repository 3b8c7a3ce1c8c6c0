"""A chat's state for one turn: who writes (identity), who they are (person), where their
conversation is, and whether notices wait for them — read in one statement; the
conversation written back in one.

The conversation is kept out of the session (expunged) while a turn runs: steps change it
freely, nothing is flushed half-way (no autoflush surprises), and `save_conversation`
writes it once at the end. Identity and person stay in the session: steps rarely change
them (enrolment, language, erasure), and then the session writes them at the commit."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam
from sqlmodel import exists, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from models.base import NoticeStatus, utcnow
from models.db import insert_ignoring_duplicates
from models.tables import ChatIdentity, ChoiceToken, Conversation, Notice, Person

# A chat's last message is written at most this often: the 24-hour window it opens is
# then known to within a few minutes, on the safe side (it looks older than it is)
INBOUND_PRECISION = timedelta(minutes=5)


class ConversationMoved(Exception):
    """The conversation changed since this turn read it (a message of the same chat handled
    at the same moment by another process): the turn is done again from the new state."""


@dataclass
class ChatState:
    identity: ChatIdentity
    person: Person | None
    conversation: Conversation
    has_held_notices: bool  # notices held for this person (no usable chat until now)
    seq: int = 0  # the conversation's version as read: written back only over that one


def _state_query(*where):
    held = exists().where(Notice.person_id == ChatIdentity.person_id,
                          Notice.status == NoticeStatus.HELD)
    return (select(ChatIdentity, Person, Conversation, held.label("held"))
            .outerjoin(Person, Person.id == ChatIdentity.person_id)
            .outerjoin(Conversation, Conversation.identity_id == ChatIdentity.id)
            .where(*where))


# built once: the hot path's statements are not put together again on every turn
STATE_OF_CHAT = _state_query(
    ChatIdentity.channel == bindparam("channel"),
    ChatIdentity.external_id == bindparam("external_id")).with_for_update(of=ChatIdentity)
SAVE_CONVERSATION = update(Conversation).where(
    Conversation.id == bindparam("conversation_id"), Conversation.seq == bindparam("read_seq"))


async def load_chat(session: AsyncSession, channel: str, external_id: str, *,
                    first_step: str, create: bool = True) -> ChatState | None:
    """The chat's state, created on first contact (its conversation at `first_step`)
    unless `create` is False (then None for a chat never seen). The identity's row is
    locked until the transaction ends, so that two messages of one chat handled at once
    (two processes, two deliveries) take turns."""
    chat = {"channel": channel, "external_id": external_id}
    row = (await session.exec(STATE_OF_CHAT, params=chat)).first()
    if row is None and not create:
        return None
    if row is None:  # first contact: race-safe, the unique constraint decides
        await session.exec(insert_ignoring_duplicates(
            session, ChatIdentity, channel=channel, external_id=external_id,
            created_at=utcnow()))
        row = (await session.exec(STATE_OF_CHAT, params=chat)).one()
    return await _state(session, row, first_step)


async def load_chat_by_id(session: AsyncSession, identity_id: int, *,
                          first_step: str) -> ChatState | None:
    row = (await session.exec(_state_query(ChatIdentity.id == identity_id))).first()
    return None if row is None else await _state(session, row, first_step)


async def _state(session: AsyncSession, row, first_step: str) -> ChatState:
    identity, person, conversation, held = row
    if conversation is None:
        conversation = Conversation(identity_id=identity.id, step=first_step)
        session.add(conversation)
        await session.flush()
    session.expunge(conversation)
    return ChatState(identity, person, conversation, bool(held), conversation.seq)


async def save_conversation(session: AsyncSession, state: ChatState) -> None:
    """Write the turn's conversation, once, over the version the turn read. On PostgreSQL
    the identity's lock makes a chat's turns take turns, but a turn that waited for it
    read the conversation as it was before the lock was granted (a locking read re-reads
    only the locked row): then nothing is written and ConversationMoved has the turn done
    again."""
    conversation = state.conversation
    written = await session.exec(SAVE_CONVERSATION, params={
        "conversation_id": conversation.id, "read_seq": state.seq,
        "step": conversation.step, "data": conversation.data, "back": conversation.back,
        "seq": conversation.seq, "choices": conversation.choices,
        "updated_at": conversation.updated_at})
    if written.rowcount != 1:
        raise ConversationMoved(conversation.id)


def note_inbound(identity: ChatIdentity, now: datetime) -> None:
    """The chat wrote: it is reachable, and its last message is now (written when it moves
    by more than INBOUND_PRECISION, or the chat was marked unreachable)."""
    if identity.unreachable_at is not None or identity.last_inbound_at is None \
            or now - identity.last_inbound_at >= INBOUND_PRECISION:
        identity.last_inbound_at, identity.unreachable_at = now, None


def opt_out(identity: ChatIdentity, now: datetime) -> None:
    """No proactive message goes to this chat any more (the dispatcher skips it)."""
    identity.opted_out_at = identity.opted_out_at or now
    identity.last_inbound_at = now


def opt_in(identity: ChatIdentity) -> bool:
    """Proactive messages may go to this chat again; False if it had not opted out."""
    was_out = identity.opted_out_at is not None
    identity.opted_out_at = None
    return was_out


async def notice_token_value(session: AsyncSession, token: str, person_id: int) -> str | None:
    """What a pressed choice of a notice sent to this person stands for; None if the token
    is not one of theirs (a step's old token, a stranger's)."""
    row = await session.get(ChoiceToken, token)
    if row is None or row.conversation_id is not None or row.person_id != person_id:
        return None
    return row.value
