"""The coordinator acts from the chat on a request nobody could take and on a complaint:
give it to a cooperative, cancel it with a reason, write to the worker (who answers with
one tap), mark a complaint handled with a note — each through models/staff_actions.py."""

from datetime import time

import pytest
from sqlmodel import select

from models.base import RequestStatus
from models.db import transaction
from models.tables import Person, ServiceRequest
from tests.support.booking import THURSDAY, book, taken_by_luca
from tests.support.chat import enrolled
from tests.support.people import team
from tests.support.senders import console_inbox, deliver


async def unserved_for(mini) -> tuple[dict, object]:
    """The team enrolled; Giulia's shopping in Gamma, where nobody offers it: unserved."""
    people = await team(mini)
    async with transaction(mini.sessions) as session:
        giulia = (await session.exec(select(Person).where(Person.first_name == "Giulia"))).one()
    confirmation = await book(mini, giulia.id, "spesa", "Gamma", THURSDAY, time(10))
    assert confirmation.request.status == RequestStatus.UNSERVED
    inbox = console_inbox()
    await deliver(mini, inbox)
    return people, inbox


async def open_unserved(coordinator) -> str:
    await coordinator.say("menu")
    await coordinator.press("Richieste senza cooperativa")
    return await coordinator.press("Spesa")


async def status(mini) -> str:
    async with transaction(mini.sessions) as session:
        return (await session.get(ServiceRequest, 1)).status


@pytest.mark.asyncio
async def test_the_coordinator_gives_an_unserved_request_to_a_cooperative(mini):
    people, inbox = await unserved_for(mini)
    paola = people["coordinator"]
    view = await open_unserved(paola)
    assert view.startswith("Richiesta n. 1") and "Lavoro n." not in view
    assert paola.labels[:3] == ["🤝 Affida a una cooperativa", "❌ Annulla con un motivo",
                                "✉️ Scrivi al lavoratore"]
    assert "A quale cooperativa" in await paola.press("Affida")
    assert paola.labels[:2] == ["Cooperativa A", "Cooperativa B"]
    done = await paola.press("Cooperativa B")
    assert "Richiesta n. 1 affidata a Cooperativa B" in done
    assert "Nessuna richiesta in attesa di cooperativa" in done  # back on the list, now empty
    await deliver(mini, inbox)
    assert "Nuovo lavoro n. 1" in inbox.texts(people["Ivo"])
    assert "Nuovo lavoro" not in inbox.texts(people["Luca"])
    assert "ha affidato la tua richiesta n. 1" in inbox.texts(people["worker"])
    offer = inbox.received[people["Ivo"].external_id][-1]
    assert "è tuo" in await people["Ivo"].send_payload(offer.choices[0].payload)
    assert await status(mini) == RequestStatus.ASSIGNED


@pytest.mark.asyncio
async def test_the_coordinator_cancels_with_a_reason_and_a_colleague_was_faster(mini):
    people, inbox = await unserved_for(mini)
    paola = people["coordinator"]
    await open_unserved(paola)
    assert "Scrivi il motivo" in await paola.press("Annulla con un motivo")
    done = await paola.say("Il servizio non c'è a Gamma: ti richiamiamo")
    assert "Richiesta n. 1 annullata" in done
    await deliver(mini, inbox)
    told = inbox.texts(people["worker"])
    assert "annullata dal coordinamento" in told and "non c'è a Gamma" in told
    assert await status(mini) == RequestStatus.CANCELLED
    # an old view pressed after the change does nothing
    await paola.say("menu")
    assert "Nessuna richiesta in attesa" in await paola.press("Richieste senza cooperativa")


@pytest.mark.asyncio
async def test_a_stale_action_on_a_request_that_changed_says_so(mini):
    people, _inbox = await unserved_for(mini)
    paola = people["coordinator"]
    await open_unserved(paola)
    await paola.press("Affida")
    async with transaction(mini.sessions) as session:  # meanwhile, someone cancels it
        from models import staff_actions
        staff = (await session.exec(select(Person).where(Person.first_name == "Paola"))).one()
        await staff_actions.cancel_unserved(session, 1, staff, "doppione", mini.clock())
    answer = await paola.press("Cooperativa A")
    assert "Nel frattempo questa richiesta è cambiata" in answer
    assert await status(mini) == RequestStatus.CANCELLED


@pytest.mark.asyncio
async def test_the_coordinator_writes_to_the_worker_who_answers_with_one_tap(mini):
    people, inbox = await unserved_for(mini)
    paola, worker = people["coordinator"], people["worker"]
    await open_unserved(paola)
    assert "Scrivi il messaggio per Giulia" in await paola.press("Scrivi al lavoratore")
    assert "Messaggio inoltrato" in await paola.say("Va bene venerdì alle 10 ad Alfa?")
    await deliver(mini, inbox)
    message = inbox.received[worker.external_id][-1]
    assert "Messaggio del coordinamento (Paola)" in message.text
    assert "venerdì alle 10" in message.text and "+39" not in message.text
    assert "Rispondi" in message.hint
    assert "risposta per il coordinamento" in await worker.send_payload(
        message.choices[0].payload)
    assert "Messaggio inoltrato" in await worker.say("Sì, va benissimo")
    await deliver(mini, inbox)
    answer = inbox.received[paola.external_id][-1]
    assert "Risposta di Giulia" in answer.text and "va benissimo" in answer.text
    assert "Scrivi il messaggio per Giulia" in await paola.send_payload(
        answer.choices[0].payload)
    view = await open_unserved(paola)
    assert "Coordinamento (Paola): Va bene venerdì" in view
    assert "Lavoratore (Giulia): Sì, va benissimo" in view


@pytest.mark.asyncio
async def test_a_complaint_names_the_cooperative_and_is_handled_with_a_note(mini):
    people, inbox = await taken_by_luca(mini)
    worker, paola = people["worker"], people["coordinator"]
    await worker.say("menu")
    await worker.press("Le mie richieste")
    await worker.press("Spesa")
    await worker.press("Segnala un problema")
    await worker.say("L'operatore non ha risposto ai messaggi")
    await deliver(mini, inbox)
    assert "per Cooperativa A, operatore Luca" in inbox.texts(paola)
    await paola.say("menu")
    await paola.press("Segnalazioni")
    assert paola.labels[0].startswith("📣")
    view = await paola.press("Spesa")
    assert "Segnalazione su Cooperativa A, operatore Luca" in view
    assert "✅ Segna come gestita" in paola.labels
    assert "Scrivi una nota" in await paola.press("Segna come gestita")
    done = await paola.say("Sentita la cooperativa: Luca richiamerà oggi")
    assert "segnata come gestita" in done and "✅" in paola.labels[0]
    view = await paola.press("Spesa")
    assert "Gestita da Paola" in view and "richiamerà oggi" in view
    assert "Segna come gestita" not in " ".join(paola.labels)
    await deliver(mini, inbox)
    assert "ha preso in carico la tua segnalazione" in inbox.texts(worker)
    assert "Luca richiamerà oggi" in inbox.texts(worker)


@pytest.mark.asyncio
async def test_the_coordinator_has_privacy_and_data_like_everyone(mini):
    from models.base import Role

    paola = await enrolled(mini, "+393335559999", org="employer", role=Role.COORDINATOR,
                           name="Paola")
    assert any("Privacy e dati" in label for label in paola.labels)
    await paola.press("Privacy e dati")
    assert "copia di tutti i dati" in await paola.press("Scarica i miei dati")
    assert paola.last.file.content_type.startswith("text/plain")
