"""The satisfaction survey: sent after the job (not in quiet hours), answered by button or
number with an optional comment, reminded once, closed after a week; low scores alert."""


import pytest
from sqlmodel import select

from models.db import transaction
from models.tables import Notice, Survey
from tests.support.senders import deliver
from tests.support.surveys import done_job, surveys_now


async def the_survey(runtime) -> Survey:
    async with transaction(runtime.sessions) as session:
        return (await session.exec(select(Survey))).one()


@pytest.mark.asyncio
async def test_sent_two_hours_after_answered_by_button_with_a_comment(mini, clock):
    worker, _, _, inbox = await done_job(mini, clock)
    assert await surveys_now(mini) == {"sent": 0, "reminded": 0, "closed": 0}
    clock.set_local(2026, 11, 26, 13, 0)
    assert (await surveys_now(mini))["sent"] == 1
    assert (await surveys_now(mini))["sent"] == 0  # once
    await deliver(mini, inbox)
    question = inbox.received[worker.external_id][-1]
    assert "Com'è andata la richiesta n. 1 (Spesa)?" in question.text
    assert question.choices[0].label == "1 😞" and len(question.choices) == 5
    assert "Grazie del voto" in await worker.send_payload(question.choices[3].payload)
    assert "commento" in worker.last.text
    assert "senza il tuo nome" in await worker.say("Puntuale e gentile")
    assert "ci aiuta a migliorare" in await worker.press("Sì, va bene")
    survey = await the_survey(mini)
    assert (survey.score, survey.comment) == (4, "Puntuale e gentile")
    assert survey.comment_shareable is True
    assert "già una risposta" in await worker.send_payload(question.choices[0].payload)
    assert (await the_survey(mini)).score == 4


@pytest.mark.asyncio
async def test_answer_by_number_from_the_menu(mini, clock):
    worker, _, _, _ = await done_job(mini, clock)
    clock.set_local(2026, 11, 26, 13, 0)
    await surveys_now(mini)
    await worker.say("menu")
    assert worker.labels[0] == "⭐ Valuta la richiesta n. 1"
    await worker.press("Valuta")
    assert "da 1 (male) a 5" in worker.last.text
    await worker.say("5")
    await worker.press("Nessun commento")
    assert (await the_survey(mini)).score == 5
    assert "Valuta" not in worker.labels[0]


@pytest.mark.asyncio
async def test_not_in_quiet_hours(mini, clock):
    await done_job(mini, clock, done_at=(2026, 11, 26, 19, 30))
    survey = await the_survey(mini)
    clock.set_local(2026, 11, 26, 22, 0)
    assert (await surveys_now(mini))["sent"] == 0
    clock.set_local(2026, 11, 27, 8, 0)
    assert (await surveys_now(mini))["sent"] == 1
    assert survey.due_at == clock()


@pytest.mark.asyncio
async def test_reminded_once_then_closed_after_a_week(mini, clock):
    await done_job(mini, clock)
    clock.set_local(2026, 11, 26, 13, 0)
    await surveys_now(mini)
    clock.set_local(2026, 11, 27, 13, 5)
    assert (await surveys_now(mini))["reminded"] == 1
    clock.set_local(2026, 11, 28, 14, 0)
    assert (await surveys_now(mini))["reminded"] == 0
    clock.set_local(2026, 12, 3, 13, 5)
    assert (await surveys_now(mini))["closed"] == 1
    async with transaction(mini.sessions) as session:
        kinds = (await session.exec(select(Notice.kind).where(
            Notice.kind.like("worker.survey%")))).all()
    assert sorted(kinds) == ["worker.survey", "worker.survey_reminder"]
    assert (await the_survey(mini)).closed_at is not None


@pytest.mark.asyncio
async def test_a_low_score_alerts_the_coordinator_and_the_cooperative(mini, clock):
    worker, luca, coordinator, inbox = await done_job(mini, clock)
    clock.set_local(2026, 11, 26, 13, 0)
    await surveys_now(mini)
    await deliver(mini, inbox)
    question = inbox.received[worker.external_id][-1]
    assert "ci dispiace" in await worker.send_payload(question.choices[1].payload)
    await deliver(mini, inbox)
    assert "Voto 2 su 5 per la richiesta n. 1" in inbox.texts(coordinator)
    assert "ha dato 2 su 5 al lavoro n. 1" in inbox.texts(luca)
