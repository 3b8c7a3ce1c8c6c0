"""The coordinator's view of one request, and what they can do from it: give an unserved
request to a cooperative, cancel it with a reason, write to the worker through the relay,
mark a complaint handled with a note. Every action is an operation of
models/staff_actions.py (the web console calls the same ones); the worker's answer to a
message of the coordinator is here too."""


from handlers import formatting
from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from handlers.steps.staff import job_text
from models import jobs, staff_actions, surveys
from models.base import RequestStatus, Role
from models.offers import NotAllowed
from models.tables import Organisation, Person, RelayMessage, ServiceRequest

LISTS = ("coord.unserved", "coord.complaints")
ACTION_STEPS = {"assign": "staff.assign", "cancel": "staff.cancel", "handle": "staff.handle",
                "write": "staff.write"}


async def viewed_request(turn: Turn) -> ServiceRequest | None:
    """The request in the draft, for a coordinator only."""
    if turn.person.role != Role.COORDINATOR:
        return None
    return await turn.session.get(ServiceRequest, turn.data.get("request_id") or 0)


def actions_on(request: ServiceRequest) -> list[str]:
    actions = []
    if request.status == RequestStatus.UNSERVED:
        actions += ["assign", "cancel"]
    if request.complaint_at is not None and request.complaint_handled_at is None:
        actions.append("handle")
    if request.erased_at is None and (actions or request.status in RequestStatus.open()):
        actions.append("write")
    return actions


async def _relay_lines(turn: Turn, request: ServiceRequest) -> list[str]:
    """The relay as the coordinator may read it: all of it once there is a complaint,
    otherwise only what the staff and the worker wrote to each other."""
    if request.complaint_at is not None:
        messages = await jobs.transcript(turn.session, request, turn.person)
    else:
        messages = await staff_actions.staff_messages(turn.session, request)
    lines = []
    for message in messages:
        sender = await turn.session.get(Person, message.sender_id)
        side = "worker" if message.sender_id == request.worker_id else (
            "staff" if sender is not None and sender.role == Role.COORDINATOR else "operator")
        lines.append(turn.t(f"coord.relay_{side}", name=(sender.first_name if sender else "")
                            or "—", message=message.text or "—"))
    return lines


@step
class CoordinatorJobView(Step):
    """The coordinator's view of a request: its facts, whom to get back to, the complaint
    (naming the cooperative and the operator), the relay, and the actions it allows."""

    name = "staff.job"
    help_key = "help.coordinator"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await viewed_request(turn)
        if request is None:
            return Prompt(turn.t("mine.not_found"))
        parts = [await job_text(turn, request, "coord.request_detail")]
        if request.status == RequestStatus.UNSERVED:  # the office gets back to the worker
            worker, employer = await staff_actions.worker_to_call(turn.session, request)
            parts.append(turn.t("coord.unserved_worker", name=worker or "—",
                                employer=employer or "—"))
        if request.complaint_at is not None:
            cooperative, operator = await staff_actions.complaint_parties(turn.session, request)
            parts.append(turn.t("coord.complaint_about", message=request.complaint or "—",
                                cooperative=cooperative or "—", operator=operator or "—"))
            if request.complaint_handled_at is not None:
                staff = await turn.session.get(Person, request.complaint_handled_by or 0)
                parts.append(turn.t(
                    "coord.complaint_handled", name=(staff.first_name if staff else "") or "—",
                    when=formatting.when(request.complaint_handled_at, turn.language),
                    note=request.complaint_note or "—"))
        survey = await surveys.survey_of_request(turn.session, request.id)
        if survey is not None and survey.score is not None:
            parts.append(turn.t("coord.survey", score=survey.score,
                                comment=survey.comment or "—"))
        parts += await _relay_lines(turn, request)
        return Prompt("\n\n".join(parts), tuple(
            Option(turn.t(f"staff.action_{action}"), action) for action in actions_on(request)))

    async def choose(self, turn: Turn, value: str) -> Next:
        request = await viewed_request(turn)
        if request is None or value not in actions_on(request):
            turn.say("staff.moved_on")
            return Stay()
        return Go(ACTION_STEPS[value])


def back_to_list(turn: Turn) -> Next:
    """After an action: the list the request was opened from (menu, list on the way back)."""
    from_list = turn.data.get("from_list")
    turn.conversation.back = ["home"]
    return Go(from_list if from_list in LISTS else LISTS[0], remember=False)


def say_outcome(turn: Turn, outcome: staff_actions.Outcome, done_key: str, **params) -> Next:
    if outcome.ok:
        turn.say(done_key, number=outcome.request.id, **params)
        return back_to_list(turn)
    if outcome.why == "empty":
        turn.say("input.empty")
        return Stay()
    turn.say(f"staff.why_{outcome.why}")
    return back_to_list(turn)


@step
class AssignToCooperative(Step):
    name = "staff.assign"
    help_key = "help.staff_assign"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await viewed_request(turn)
        if request is None:
            return Prompt(turn.t("mine.not_found"))
        cooperatives = await staff_actions.cooperatives_for(turn.session, request)
        if not cooperatives:
            return Prompt(turn.t("staff.no_cooperative"))
        return Prompt(turn.t("staff.assign_to", number=request.id), tuple(
            Option(org.name, f"p{org.id}") for org in cooperatives))

    async def choose(self, turn: Turn, value: str) -> Next:
        provider_id = int(value[1:]) if value[1:].isdigit() else 0
        outcome = await staff_actions.assign_to_cooperative(
            turn.session, turn.data.get("request_id") or 0, provider_id, turn.person, turn.now)
        provider = await turn.session.get(Organisation, provider_id)
        return say_outcome(turn, outcome, "staff.assigned",
                           provider=provider.name if provider else "—")


class TypedAction(Step):
    """A step that asks for one text (a reason, a message, a note) and acts with it."""

    prompt_key: str

    async def prompt(self, turn: Turn) -> Prompt:
        request = await viewed_request(turn)
        if request is None:
            return Prompt(turn.t("mine.not_found"))
        worker = await turn.session.get(Person, request.worker_id)
        return Prompt(turn.t(self.prompt_key, number=request.id, limit=staff_actions.MAX_TEXT,
                             name=(worker.first_name if worker else "") or "—"))

    async def typed(self, turn: Turn, text: str) -> Next:
        if len(text) > staff_actions.MAX_TEXT:
            turn.say("input.too_long", limit=staff_actions.MAX_TEXT)
            return Stay()
        return await self.act(turn, turn.data.get("request_id") or 0, text)

    async def act(self, turn: Turn, request_id: int, text: str) -> Next:
        raise NotImplementedError


@step
class CancelUnserved(TypedAction):
    name = "staff.cancel"
    help_key = "help.staff_cancel"
    prompt_key = "staff.cancel_why"

    async def act(self, turn: Turn, request_id: int, text: str) -> Next:
        outcome = await staff_actions.cancel_unserved(turn.session, request_id, turn.person,
                                                      text, turn.now)
        return say_outcome(turn, outcome, "staff.cancelled")


@step
class WriteToWorker(TypedAction):
    name = "staff.write"
    help_key = "help.relay"
    prompt_key = "staff.write_what"

    async def act(self, turn: Turn, request_id: int, text: str) -> Next:
        outcome = await staff_actions.write_to_worker(turn.session, request_id, turn.person,
                                                      text, turn.now)
        if outcome.ok:
            turn.say("relay.sent")
            return turn.go_back() or Home()
        return say_outcome(turn, outcome, "relay.sent")


@step
class HandleComplaint(TypedAction):
    name = "staff.handle"
    help_key = "help.staff_handle"
    prompt_key = "staff.handle_note"

    async def act(self, turn: Turn, request_id: int, text: str) -> Next:
        outcome = await staff_actions.handle_complaint(turn.session, request_id, turn.person,
                                                       text, turn.now)
        return say_outcome(turn, outcome, "staff.handled")


@step
class AnswerStaff(Step):
    """The worker answers a message of the coordinator («Rispondi» on it)."""

    name = "relay.staff_answer"
    help_key = "help.relay"

    async def prompt(self, turn: Turn) -> Prompt:
        message = await turn.session.get(RelayMessage, turn.data.get("staff_message_id") or 0)
        if message is None or message.recipient_id != turn.person.id:
            return Prompt(turn.t("relay.closed"))
        return Prompt(turn.t("relay.compose_staff", number=message.request_id,
                             limit=staff_actions.MAX_TEXT))

    async def typed(self, turn: Turn, text: str) -> Next:
        if len(text) > staff_actions.MAX_TEXT:
            turn.say("input.too_long", limit=staff_actions.MAX_TEXT)
            return Stay()
        try:
            outcome = await staff_actions.answer_staff(
                turn.session, turn.data.get("staff_message_id") or 0, turn.person, text,
                turn.now)
        except NotAllowed:
            outcome = staff_actions.Outcome(False, "gone")
        if not outcome.ok:
            turn.say("relay.closed")
            return Home()
        turn.say("relay.sent")
        return Home()
