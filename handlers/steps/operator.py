"""The operator's side: jobs on offer to them, their own jobs, a job's details, and what
they do with it (accept, decline, done, the worker was not there, cannot any more)."""

import re
from datetime import timedelta

from handlers import formatting
from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from handlers.steps.staff import JobList, job_label, job_text
from models import jobs, offers
from models.base import RequestStatus
from models.calendar import local
from models.tables import Person, ServiceRequest

DURATION = re.compile(r"^(?:(\d{1,2})\s*(?:h|ore|ora)\s*)?(?:(\d{1,3})\s*(?:m|min|minuti)?)?$")


async def answer_offer(turn: Turn, offer_id: int, accepted: bool) -> Next:
    """Accept or decline an offer, from the menu or from the offer's own buttons."""
    try:
        answer = await (offers.accept if accepted else offers.decline)(
            turn.session, offer_id, turn.person, turn.now)
    except offers.NotAllowed:
        turn.say("mine.not_found")
        return Home()
    turn.remember(request_id=answer.request.id)
    if answer.outcome == "won":
        turn.say("offer.won", number=answer.request.id)
        return Go("op.job", remember=False)
    turn.say({"declined": "offer.declined", "taken": "offer.taken",
              "closed": "offer.closed"}[answer.outcome], number=answer.request.id)
    return Home()


def lost_offer_key(turn: Turn, request: ServiceRequest | None) -> str:
    """Why an offer no longer stands: a colleague took the job, or it was withdrawn."""
    taken = request is not None and request.operator_id not in (None, turn.person.id) \
        and request.provider_id == turn.person.organisation_id
    return "offer.taken" if taken else "offer.closed"


@step
class AvailableJobs(JobList):
    name = "op.available"
    help_key = "help.operator"
    empty_key, title_key = "op.no_offers", "op.available"
    next_step = "op.offer"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        return await offers.open_jobs(turn.session, turn.person)


@step
class OfferDetail(Step):
    name = "op.offer"
    help_key = "help.operator"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await turn.session.get(ServiceRequest, turn.data.get("request_id") or 0)
        offer = await offers.join_round(turn.session, request, turn.person, turn.now) \
            if request else None
        if offer is None or request.provider_id != turn.person.organisation_id:
            return Prompt(turn.t(lost_offer_key(turn, request),
                                 number=turn.data.get("request_id")))
        prefix = "move" if offer.kind == "move" else "offer"
        return Prompt(await job_text(turn, request),
                      (Option(turn.t(f"{prefix}.accept"), "accept"),
                       Option(turn.t(f"{prefix}.decline"), "decline")))

    async def choose(self, turn: Turn, value: str) -> Next:
        offer = await offers.open_offer(turn.session, turn.data.get("request_id") or 0,
                                        turn.person)
        if offer is None:
            request = await turn.session.get(ServiceRequest, turn.data.get("request_id") or 0)
            turn.say(lost_offer_key(turn, request), number=turn.data.get("request_id"))
            return Home()
        return await answer_offer(turn, offer.id, value == "accept")


@step
class MyJobs(JobList):
    name = "op.mine"
    help_key = "help.operator"
    empty_key, title_key = "op.no_jobs", "op.mine"
    next_step = "op.job"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        return await jobs.assigned_to(turn.session, turn.person)

    async def prompt(self, turn: Turn) -> Prompt:
        """The jobs to do, and always the way to those done lately."""
        shown = await super().prompt(turn)
        return Prompt(shown.text, (*shown.options, Option(turn.t("op.done_jobs"), "done")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "done":
            return Go("op.done_list")
        return await super().choose(turn, value)


DONE_DAYS = 30


@step
class DoneJobs(Step):
    """«Svolti»: the jobs this operator did in the last 30 days, with the hours."""

    name = "op.done_list"
    help_key = "help.operator"

    async def prompt(self, turn: Turn) -> Prompt:
        since = turn.now - timedelta(days=DONE_DAYS)
        done = await jobs.done_since(turn.session, turn.person, since)
        if not done:
            return Prompt(turn.t("op.done_none", days=DONE_DAYS))
        lang = turn.language
        minutes = sum(r.actual_minutes or r.duration_minutes for r in done)
        lines = [turn.t("op.done_title", days=DONE_DAYS, count=len(done),
                        duration=formatting.duration(minutes, lang))]
        for request in done:
            lines.append(f"• {await job_label(turn, request)} · "
                         f"{formatting.duration(request.actual_minutes or 0, lang)}")
        return Prompt("\n".join(lines))


async def my_job(turn: Turn, action: str) -> ServiceRequest | None:
    try:
        return await jobs.assigned_job(turn.session, turn.data.get("request_id") or 0,
                                       turn.person, action)
    except offers.NotAllowed:
        return None


@step
class JobDetail(Step):
    """A job the operator took: now with the address, the notes and the worker's name."""

    name = "op.job"
    help_key = "help.operator"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await my_job(turn, "see")
        if request is None:
            return Prompt(turn.t("mine.not_found"))
        worker = await turn.session.get(Person, request.worker_id)
        text = "\n".join([await job_text(turn, request), "", turn.t(
            "job.private", address=request.address or "—", notes=request.notes or "—",
            worker=worker.first_name if worker else "—")])
        if request.status != RequestStatus.ASSIGNED:
            return Prompt(text)
        actions = ("done", "no_show", "release", "write")
        if turn.now < request.starts_at:  # done / absent only once the job's time has come
            actions = ("release", "write")
            text += "\n\n" + turn.t("job.not_started")
        return Prompt(text, tuple(Option(turn.t(f"job.{action}"), action)
                                  for action in actions))

    async def choose(self, turn: Turn, value: str) -> Next:
        if await my_job(turn, value) is None:
            turn.say("mine.not_found")
            return Home()
        if value == "done":
            return Go("op.done")
        if value == "write":
            return Go("relay.compose")
        turn.remember(action=value)
        return Go("op.confirm")


def not_started(turn: Turn) -> Next:
    """Back to the job's details, which say that its time has not come yet."""
    turn.conversation.back = [b for b in turn.conversation.back if b != "op.job"]
    return Go("op.job", remember=False)


def read_minutes(text: str) -> int | None:
    """'90', '90 min', '1h30', '2 ore' → minutes; None when it is not a duration."""
    match = DURATION.match(text.strip().lower())
    if not match or not any(match.groups()):
        return None
    hours, minutes = (int(part) if part else 0 for part in match.groups())
    return hours * 60 + minutes


@step
class JobDone(Step):
    name = "op.done"
    help_key = "help.done"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await my_job(turn, "complete")
        planned = request.duration_minutes if request else 60
        options = sorted({max(planned - 30, 15), planned, planned + 30})
        lang = turn.language
        return Prompt(turn.t("job.done_minutes", planned=formatting.duration(planned, lang)),
                      tuple(Option(turn.t("job.minutes", duration=formatting.duration(m, lang)),
                                   str(m)) for m in options))

    async def before_options(self, turn: Turn, text: str) -> Next | None:
        minutes = read_minutes(text)
        return None if minutes is None else await self._finish(turn, minutes)

    async def choose(self, turn: Turn, value: str) -> Next:
        return await self._finish(turn, int(value))

    async def typed(self, turn: Turn, text: str) -> Next:
        turn.say("job.minutes_invalid")
        return Stay()

    async def _finish(self, turn: Turn, minutes: int) -> Next:
        if not jobs.MIN_MINUTES <= minutes <= jobs.MAX_MINUTES:
            turn.say("job.minutes_invalid")
            return Stay()
        request = await my_job(turn, "complete")
        try:
            completed = request is not None and await jobs.complete(
                turn.session, request, turn.person, minutes, turn.now,
                turn.settings.survey_rules)
        except jobs.NotStarted:
            return not_started(turn)
        if not completed:
            turn.say("job.not_open")
            return Home()
        turn.say("job.completed", number=request.id,
                 duration=formatting.duration(minutes, turn.language))
        return Home()


@step
class ConfirmJobAction(Step):
    """'The worker was not there' and 'I cannot any more' are asked twice."""

    name = "op.confirm"
    help_key = "help.operator"

    async def prompt(self, turn: Turn) -> Prompt:
        action = turn.data.get("action", "release")
        return Prompt(turn.t(f"job.confirm_{action}"),
                      (Option(turn.t("yes_confirm"), "yes"), Option(turn.t("no_keep"), "no")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value != "yes":
            return Go("op.job", remember=False)
        action = turn.data.get("action", "release")
        request = await my_job(turn, action)
        operation = jobs.no_show if action == "no_show" else jobs.release
        try:
            acted = request is not None and await operation(turn.session, request,
                                                            turn.person, turn.now)
        except jobs.NotStarted:
            return not_started(turn)
        if not acted:
            turn.say("job.not_open")
            return Home()
        when = local(request.starts_at)
        turn.say(f"job.{action}_recorded", number=request.id, day=f"{when:%d/%m}")
        return Home()
