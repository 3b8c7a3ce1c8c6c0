"""A job done on the tiny alliance, and the survey job run once, for the tests of the
satisfaction survey and of its wording."""

from datetime import time

from models.base import Role
from scheduler import jobs
from tests.support.booking import book_in_alfa
from tests.support.chat import enrolled
from tests.support.senders import console_inbox, deliver


async def surveys_now(runtime) -> dict:
    """One run of the survey job (quiet hours 21-8)."""
    ctx = jobs.JobContext(runtime.sessions, jobs.ClockRules(quiet=(time(21), time(8))),
                          runtime.clock)
    return await jobs.run_surveys(ctx)


async def done_job(mini, clock, done_at=(2026, 11, 26, 11, 0)):
    """Giulia books spesa for Thursday 10:00; Luca takes it and marks it done."""
    worker = await enrolled(mini, "+393337770001", org="employer")
    luca = await enrolled(mini, "+393337770002", org="coop-a", role=Role.OPERATOR,
                          name="Luca")
    coordinator = await enrolled(mini, "+393337770003", org="employer",
                                 role=Role.COORDINATOR, name="Paola")
    await book_in_alfa(worker)
    inbox = console_inbox()
    await deliver(mini, inbox)
    await luca.send_payload(inbox.received[luca.external_id][-1].choices[0].payload)
    clock.set_local(*done_at)
    await luca.say("menu")
    await luca.press("I miei lavori")
    await luca.press("Spesa")
    await luca.press("Fatto")
    await luca.say("60")
    return worker, luca, coordinator, inbox
