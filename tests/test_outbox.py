"""The outbox and its dispatcher: queued once, delivered to the chat the person last
wrote from, retried with back-off, held when no chat can take it, never lost."""

import asyncio
import io
from datetime import date, time, timedelta

import pytest
from sqlmodel import select

from bot.console import chat as console_chat
from handlers.sending import SendResult
from handlers.types import Reply
from models.base import NoticeStatus, Role
from models.db import transaction
from models.outbox import MAX_ATTEMPTS, claim_due, queue_notice
from models.tables import ChatIdentity, Notice
from scheduler.dispatcher import Dispatcher
from tests.support.booking import book
from tests.support.chat import enrolled, plain
from tests.support.people import make_person
from tests.support.senders import LimitedSender, RecordingSender


async def notices(runtime) -> list[Notice]:
    async with transaction(runtime.sessions) as session:
        return list((await session.exec(select(Notice).order_by(Notice.id))).all())


async def exhaust_gamma(runtime) -> None:
    """Book Gamma's only elder-care place twice: the second request is unserved."""
    worker = await make_person(runtime, "employer")
    for hour in (9, 10):
        await book(runtime, worker.id, "anziani", "Gamma", date(2026, 11, 30), time(hour))


@pytest.mark.asyncio
async def test_queuing_twice_with_one_key_queues_once(mini):
    person = await make_person(mini, "employer", Role.COORDINATOR)
    for _ in range(2):
        async with transaction(mini.sessions) as session:
            await queue_notice(session, person_id=person.id, kind="coordinator.unserved",
                               params={}, dedupe_key="same", now=mini.clock())
    assert len(await notices(mini)) == 1


@pytest.mark.asyncio
async def test_held_for_the_coordinator_until_one_enrols_then_shown_at_the_console(mini):
    await exhaust_gamma(mini)
    [held] = await notices(mini)
    assert (held.status, held.person_id) == (NoticeStatus.HELD, None)
    coordinator = await enrolled(mini, "+393334440001", org="employer",
                                 role=Role.COORDINATOR, name="Paola")
    [pending] = await notices(mini)
    assert pending.status == NoticeStatus.PENDING and pending.person_id is not None
    output: list[str] = []
    await console_chat(mini, coordinator.external_id, io.StringIO("menu\n"), output.append)
    shown = plain("\n".join(output))
    assert "Avvisi per te (1)" in shown
    assert "Richiesta n. 2 senza cooperativa: Compagnia, Gamma, lunedì 30 novembre, 10:00" \
        in shown
    [delivered] = await notices(mini)
    assert delivered.status == NoticeStatus.DELIVERED and delivered.shown_at is not None
    output.clear()
    await console_chat(mini, coordinator.external_id, io.StringIO(""), output.append)
    assert "Avvisi per te" not in "\n".join(output)  # shown once


@pytest.mark.asyncio
async def test_rendered_in_the_recipients_language(mini):
    await make_person(mini, "employer", Role.COORDINATOR)
    async with transaction(mini.sessions) as session:
        from models.tables import Person

        person = (await session.exec(select(Person))).one()
        person.language = "en"
        session.add(person)
        session.add(ChatIdentity(channel="console", external_id="+393334440002",
                                 person_id=person.id, last_inbound_at=mini.clock()))
    await exhaust_gamma(mini)
    sender = RecordingSender("console")
    await Dispatcher(mini.sessions, {"console": sender}, clock=mini.clock).run_once()
    [(_, text)] = sender.sent
    assert "has no cooperative: Company, Gamma, Monday 30 November, 10:00" in text


async def coordinator_with_chats(runtime, *chats: tuple[str, str]) -> None:
    """A coordinator with chats (channel, id), the first listed written from last."""
    person = await make_person(runtime, "employer", Role.COORDINATOR)
    async with transaction(runtime.sessions) as session:
        for age, (channel, external_id) in enumerate(chats):
            session.add(ChatIdentity(channel=channel, external_id=external_id,
                                     person_id=person.id,
                                     last_inbound_at=runtime.clock() - timedelta(hours=age)))


@pytest.mark.asyncio
async def test_transient_failures_back_off_then_give_up(mini, clock):
    await coordinator_with_chats(mini, ("telegram", "1"))
    await exhaust_gamma(mini)
    failing = RecordingSender("telegram", *[SendResult(ok=False, error="timeout")] * 20)
    dispatcher = Dispatcher(mini.sessions, {"telegram": failing}, clock=clock)
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await dispatcher.run_once() == 1
        [notice] = await notices(mini)
        assert notice.attempts == attempt and notice.last_error == "timeout"
        if attempt < MAX_ATTEMPTS:
            waits.append(notice.next_attempt_at - clock())
            assert await dispatcher.run_once() == 0  # not due yet
            clock.now = notice.next_attempt_at
    assert notice.status == NoticeStatus.FAILED
    assert waits == sorted(waits) and waits[0] == timedelta(seconds=30)


@pytest.mark.asyncio
async def test_permanent_failure_is_recorded_at_once(mini):
    await coordinator_with_chats(mini, ("telegram", "1"))
    await exhaust_gamma(mini)
    sender = RecordingSender("telegram", SendResult(ok=False, permanent=True, error="invalid"))
    await Dispatcher(mini.sessions, {"telegram": sender}, clock=mini.clock).run_once()
    [notice] = await notices(mini)
    assert (notice.status, notice.attempts, notice.last_error) == ("failed", 1, "invalid")


@pytest.mark.asyncio
async def test_falls_back_to_the_other_chat_and_marks_a_blocked_one(mini):
    await coordinator_with_chats(mini, ("telegram", "1"), ("whatsapp", "+393334440003"))
    await exhaust_gamma(mini)
    telegram = RecordingSender("telegram", SendResult(ok=False, unreachable=True,
                                                      error="blocked"))
    whatsapp = RecordingSender("whatsapp", SendResult(ok=True, provider_message_id="SM1"))
    dispatcher = Dispatcher(mini.sessions, {"telegram": telegram, "whatsapp": whatsapp},
                            clock=mini.clock)
    await dispatcher.run_once()
    [notice] = await notices(mini)
    assert (notice.status, notice.channel, notice.provider_message_id) == ("sent", "whatsapp",
                                                                           "SM1")
    async with transaction(mini.sessions) as session:
        blocked = (await session.exec(select(ChatIdentity).where(
            ChatIdentity.channel == "telegram"))).one()
    assert blocked.unreachable_at is not None


@pytest.mark.asyncio
async def test_held_when_no_chat_takes_it_and_released_when_the_person_writes(mini, clock):
    coordinator = await enrolled(mini, "+393334440004", org="employer",
                                 role=Role.COORDINATOR, name="Paola")
    await exhaust_gamma(mini)
    outside = RecordingSender("console", SendResult(ok=False, hold=True,
                                                    error="whatsapp_window"))
    await Dispatcher(mini.sessions, {"console": outside}, clock=clock).run_once()
    [notice] = await notices(mini)
    assert (notice.status, notice.held_reason) == ("held", "whatsapp_window")
    await coordinator.say("menu")
    [notice] = await notices(mini)
    assert notice.status == "pending"
    sender = RecordingSender("console")
    assert await Dispatcher(mini.sessions, {"console": sender}, clock=clock).run_once() == 1
    assert len(sender.sent) == 1


@pytest.mark.asyncio
async def test_a_claim_of_a_dead_dispatcher_is_taken_over_after_its_lease(both_minis,
                                                                          clock):
    mini = both_minis
    await coordinator_with_chats(mini, ("console", "+393334440005"))
    await exhaust_gamma(mini)
    async with transaction(mini.sessions) as session:  # a dispatcher claims, then dies
        assert len(await claim_due(session, clock(), 10, timedelta(minutes=2))) == 1
    sender = RecordingSender("console")
    dispatcher = Dispatcher(mini.sessions, {"console": sender}, clock=clock)
    assert await dispatcher.run_once() == 0
    clock.advance(minutes=3)
    assert await dispatcher.run_once() == 1
    assert [n.status for n in await notices(mini)] == ["sent"]
    assert len(sender.sent) == 1


@pytest.mark.asyncio
async def test_a_person_with_no_usable_chat_waits_without_losing_attempts(mini, clock):
    await coordinator_with_chats(mini, ("telegram", "1"))
    await exhaust_gamma(mini)
    await Dispatcher(mini.sessions, {"console": RecordingSender("console")},
                     clock=clock).run_once()
    [notice] = await notices(mini)
    assert notice.status == "pending" and notice.attempts == 0
    assert notice.next_attempt_at > clock()


@pytest.mark.asyncio
async def test_a_notice_that_cannot_be_rendered_fails_alone(mini):
    await coordinator_with_chats(mini, ("console", "+393334440006"))
    async with transaction(mini.sessions) as session:
        from models.tables import Person

        person_id = (await session.exec(select(Person.id))).first()
        await queue_notice(session, person_id=person_id, kind="coordinator.unserved",
                           params={}, dedupe_key="broken", now=mini.clock())
    await exhaust_gamma(mini)
    sender = RecordingSender("console")
    await Dispatcher(mini.sessions, {"console": sender}, clock=mini.clock).run_once()
    broken, good = await notices(mini)
    assert broken.status == "failed" and "cannot render" in broken.last_error
    assert good.status == "sent" and len(sender.sent) == 1


@pytest.mark.asyncio
async def test_a_platform_asking_to_wait_costs_no_attempt(mini, clock):
    await coordinator_with_chats(mini, ("telegram", "1"))
    await exhaust_gamma(mini)
    slow = RecordingSender("telegram", SendResult(ok=False, retry_after=120,
                                                  error="flood control"))
    await Dispatcher(mini.sessions, {"telegram": slow}, clock=clock).run_once()
    [notice] = await notices(mini)
    assert (notice.status, notice.attempts) == ("pending", 0)
    assert notice.next_attempt_at == clock() + timedelta(seconds=120)


async def person_with_notices(runtime, channel: str, external_id: str, count: int) -> list[int]:
    """A coordinator on one chat with `count` notices queued; returns their ids."""
    person = await make_person(runtime, "employer", Role.COORDINATOR)
    async with transaction(runtime.sessions) as session:
        session.add(ChatIdentity(channel=channel, external_id=external_id,
                                 person_id=person.id, last_inbound_at=runtime.clock()))
        for n in range(count):
            await queue_notice(session, person_id=person.id, kind="coordinator.digest",
                               params={"text": f"avviso {n}"},
                               dedupe_key=f"{external_id}:{n}", now=runtime.clock())
        await session.flush()
        query = select(Notice.id).where(Notice.person_id == person.id).order_by(Notice.id)
        return list((await session.exec(query)).all())


async def flooded_pass(runtime, clock, retry_after: float) -> tuple[float, dict, dict]:
    """Telegram answers the first notice with "retry after"; one person has two notices on
    Telegram, another one on WhatsApp. Runs one pass on simulated time and returns how
    long it took, the senders, and the notices by id."""
    first, second = await person_with_notices(runtime, "telegram", "1", 2)
    [other] = await person_with_notices(runtime, "whatsapp", "+393330001", 1)
    loop = asyncio.get_running_loop()
    senders = {
        "telegram": LimitedSender("telegram", loop.time, SendResult(
            ok=False, retry_after=retry_after, error="flood control")),
        "whatsapp": LimitedSender("whatsapp", loop.time)}
    dispatcher = Dispatcher(runtime.sessions, senders, clock=clock, timer=loop.time,
                            sleep=asyncio.sleep)
    started = loop.time()
    assert await dispatcher.run_once() == 3
    by_id = {notice.id: notice for notice in await notices(runtime)}
    return loop.time() - started, senders, {"first": by_id[first], "second": by_id[second],
                                            "other": by_id[other]}


@pytest.mark.asyncio
@pytest.mark.looptime  # simulated time: a 600 s pause would take no real time
async def test_a_long_flood_wait_reschedules_the_channels_notices_and_others_go_on(mini,
                                                                                   clock):
    took, senders, found = await flooded_pass(mini, clock, retry_after=600)
    assert took < 90  # the pass ended well inside the claims' two-minute lease
    assert len(senders["telegram"].sent) == 1  # the second notice was not sent ...
    second = found["second"]  # ... but rescheduled for the end of the pause, claim let go
    assert (second.status, second.attempts, second.claimed_until) == ("pending", 0, None)
    assert timedelta(seconds=599) <= second.next_attempt_at - clock() <= timedelta(seconds=600)
    assert found["first"].next_attempt_at == clock() + timedelta(seconds=600)
    assert found["other"].status == "sent" and len(senders["whatsapp"].sent) == 1


@pytest.mark.asyncio
@pytest.mark.looptime
async def test_a_short_flood_wait_is_waited_for_within_the_pass(mini, clock):
    took, senders, found = await flooded_pass(mini, clock, retry_after=5)
    first_try, second_try = senders["telegram"].times
    assert second_try - first_try >= 5 and took < 10
    assert found["second"].status == "sent" and found["other"].status == "sent"
    assert found["first"].next_attempt_at == clock() + timedelta(seconds=5)


class StallingSender(RecordingSender):
    """Sends the first notice, then hangs on the second, as a process about to die."""

    def __init__(self, channel: str):
        super().__init__(channel)
        self.stalled = asyncio.Event()

    async def send(self, identity: ChatIdentity, reply: Reply, notice=None) -> SendResult:
        if self.sent:
            self.stalled.set()
            await asyncio.Event().wait()  # never returns
        return await super().send(identity, reply, notice)


@pytest.mark.asyncio
async def test_a_dispatcher_dying_mid_pass_has_recorded_what_it_sent(mini, clock):
    await person_with_notices(mini, "console", "+393330002", 2)
    stalling = StallingSender("console")
    dying = asyncio.create_task(Dispatcher(mini.sessions, {"console": stalling},
                                           clock=clock).run_once())
    await asyncio.wait_for(stalling.stalled.wait(), 10)
    dying.cancel()  # the process dies while sending the second notice
    await asyncio.gather(dying, return_exceptions=True)
    assert [n.status for n in await notices(mini)] == ["sent", "pending"]

    clock.advance(minutes=3)  # the claims' lease has run out
    sender = RecordingSender("console")
    assert await Dispatcher(mini.sessions, {"console": sender}, clock=clock).run_once() == 1
    assert [text for _, text in stalling.sent + sender.sent] == [
        "avviso 0", "avviso 1"]  # each sent once


@pytest.mark.asyncio
async def test_held_for_a_cooperative_until_one_of_its_operators_enrols(mini):
    """E.g. a low score for a cooperative whose operators have all left the bot."""
    from models.outbox import queue_for_role
    from models.tables import Organisation

    async with transaction(mini.sessions) as session:
        coop_b = (await session.exec(select(Organisation).where(
            Organisation.code == "coop-b"))).one()
        await queue_for_role(session, Role.OPERATOR, kind="operator.low_score",
                             params={"request_id": 1, "score": 1}, dedupe_key="low-coop:1",
                             now=mini.clock(), organisation_id=coop_b.id)
    await enrolled(mini, "+393334440011", org="coop-a", role=Role.OPERATOR, name="Luca")
    [held] = await notices(mini)
    assert (held.status, held.person_id) == (NoticeStatus.HELD, None)  # not coop-a's
    await enrolled(mini, "+393334440012", org="coop-b", role=Role.OPERATOR, name="Ivo")
    [handed] = await notices(mini)
    assert handed.status == NoticeStatus.PENDING and handed.person_id is not None


@pytest.mark.asyncio
async def test_two_dispatchers_share_the_outbox_and_send_each_notice_once_on_postgres(
        pg_mini, clock):
    """Production may run several workers: SKIP LOCKED claims keep them off each other."""
    people = [await make_person(pg_mini, "employer", Role.COORDINATOR, f"C{n}")
              for n in range(20)]
    async with transaction(pg_mini.sessions) as session:
        for person in people:
            session.add(ChatIdentity(channel="console", external_id=f"+39333777{person.id:04d}",
                                     person_id=person.id))
            for n in range(3):
                await queue_notice(session, person_id=person.id, kind="worker.done",
                                   params={"number": n, "service_id": 1},
                                   dedupe_key=f"share:{person.id}:{n}", now=clock())
    sender = RecordingSender("console")

    async def slow_send(identity, reply, notice=None):
        await asyncio.sleep(0.001)  # let the other dispatcher run meanwhile
        return await RecordingSender.send(sender, identity, reply, notice)

    sender.send = slow_send
    first, second = (Dispatcher(pg_mini.sessions, {"console": sender}, clock=clock, batch=15)
                     for _ in range(2))
    handled = 0
    for _ in range(5):
        handled += sum(await asyncio.gather(first.run_once(), second.run_once()))
    assert handled == 60 and len(sender.sent) == 60
    assert len(set(sender.sent)) == 60  # nobody got a notice twice
    assert {n.status for n in await notices(pg_mini)} == {"sent"}
