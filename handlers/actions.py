"""What a button on a notice does: an offer's accept/decline, a reminder's confirm / move /
cancel, opening a job to close it, replying on the relay, a survey's score. Each action
re-checks who is pressing and the current state, so an old or forwarded button changes
nothing."""

import logging

from handlers.flow import Go, Home, Next, Stay, Turn
from handlers.steps import news
from handlers.steps.operator import answer_offer
from handlers.steps.survey import record_score
from models import announcements, jobs, surveys
from models.base import RequestStatus, Role
from models.offers import NotAllowed
from models.requests import confirm_attendance, own_request
from models.tables import ServiceRequest

log = logging.getLogger(__name__)


async def run_action(turn: Turn, value: str) -> Next:
    """Do what a notice's button says. An action that only records something (e.g. «Ci
    sarò») leaves the person where they were, with their draft; one that opens a new path
    starts it afresh."""
    next_step = await _act(turn, value)
    if not isinstance(next_step, Stay):
        turn.conversation.back = []
    return next_step


async def _act(turn: Turn, value: str) -> Next:
    kind, _, rest = value.partition(":")
    try:
        if kind == "offer":
            verb, _, offer_id = rest.partition(":")
            return await answer_offer(turn, int(offer_id), verb == "accept")
        if kind == "reminder":
            verb, _, request_id = rest.partition(":")
            return await _reminder(turn, verb, int(request_id))
        if kind == "job":  # "job:open:<id>": the operator's own job, to close it
            _, _, request_id = rest.partition(":")
            await jobs.assigned_job(turn.session, int(request_id), turn.person, "open")
            turn.remember(request_id=int(request_id))
            return Go("op.job", remember=False)
        if kind == "relay" and rest.startswith("reply:"):  # answer the other side
            _, _, request_id = rest.partition(":")
            request = await turn.session.get(ServiceRequest, int(request_id))
            if request is not None:
                jobs.other_party(request, turn.person)  # NotAllowed unless a party to it
                turn.remember(request_id=request.id)
                return Go("relay.compose", remember=False)
        if kind == "relay" and rest.startswith("staff:"):  # the coordinator wrote
            message_id = int(rest.removeprefix("staff:"))
            turn.remember(staff_message_id=message_id)
            return Go("relay.staff_answer", remember=False)
        if kind == "staff" and turn.person.role == Role.COORDINATOR:  # "staff:write:<id>"
            _, _, request_id = rest.partition(":")
            turn.remember(request_id=int(request_id))
            return Go("staff.write", remember=False)
        if kind == "news" and turn.person.role == Role.WORKER:  # the invitation's yes / no
            await announcements.set_opt_in(turn.session, turn.person, rest == "yes", turn.now)
            news.answer(turn, rest == "yes")
            return Home()
        if kind == "survey":
            survey_id, _, score = rest.partition(":")
            survey = await surveys.own_survey(turn.session, int(survey_id), turn.person)
            return await record_score(turn, survey, int(score))
    except (NotAllowed, ValueError):
        pass
    log.warning("refused notice action %r", value)
    turn.say("choice.stale")
    return Home()


async def _reminder(turn: Turn, verb: str, request_id: int) -> Next:
    request = await own_request(turn.session, request_id, turn.person)
    if request.status not in RequestStatus.open():
        turn.say("mine.not_cancellable")
        return Home()
    if verb == "ok":
        await confirm_attendance(turn.session, request, turn.person, turn.now)
        turn.say("reminder.thanks")
        return Stay()
    turn.remember(request_id=request.id)
    if verb == "move":
        turn.remember(mode="move", service_id=request.service_id,
                      municipality_id=request.municipality_id)
        return Go("req.day")
    return Go("mine.cancel")
