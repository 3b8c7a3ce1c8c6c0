"""'Le mie richieste': a worker's requests, their details, cancelling and moving them.
A worker only ever sees and acts on their own requests."""

from datetime import date, time

from handlers import formatting
from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from handlers.steps.request import service_name
from models import jobs
from models import requests as store
from models.base import RequestStatus
from models.calendar import local
from models.tables import Organisation, Person, Service, ServiceRequest

CANCEL_REASONS = ("not_needed", "other_solution", "wrong_slot", "other")
MAX_REASON = 200


async def own_request(turn: Turn) -> ServiceRequest | None:
    """The request in the draft, if it exists and belongs to whoever is writing."""
    request = await turn.session.get(ServiceRequest, turn.data.get("request_id") or 0)
    if request is None or request.worker_id != turn.person.id:
        return None
    return request


async def request_label(turn: Turn, request: ServiceRequest) -> str:
    service = await turn.session.get(Service, request.service_id)
    moment = local(request.starts_at)
    return (f"{formatting.short_day(moment.date(), turn.language)} "
            f"{formatting.clock(moment.time(), turn.language)} · "
            f"{service_name(service, turn.language)} · {turn.t(f'status.{request.status}')}")


@step
class MyRequests(Step):
    name = "mine.list"
    help_key = "help.mine"

    async def prompt(self, turn: Turn) -> Prompt:
        requests = await store.requests_of(turn.session, turn.person.id)
        if not requests:
            return Prompt(turn.t("mine.none"), (Option(turn.t("menu.new"), "new"),))
        options = [Option(await request_label(turn, r), f"r{r.id}") for r in requests]
        return Prompt(turn.t("mine.list"), tuple(options))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "new":
            return Go("req.category")
        turn.remember(request_id=int(value.removeprefix("r")))
        if await own_request(turn) is None:
            turn.say("mine.not_found")
            return Stay()
        return Go("mine.detail")


@step
class RequestDetail(Step):
    name = "mine.detail"
    help_key = "help.mine"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await own_request(turn)
        if request is None:
            return Prompt(turn.t("mine.not_found"))
        service, place = await store.service_and_place(turn.session, request)
        provider = await turn.session.get(Organisation, request.provider_id or 0)
        lang = turn.language
        text = turn.t("mine.detail", number=request.id, service=service_name(service, lang),
                      when=formatting.when(request.starts_at, lang), place=place.name,
                      address=request.address or "—", notes=request.notes or "—",
                      status=turn.t(f"status.{request.status}"),
                      provider=provider.name if provider else "—",
                      price=formatting.money(request.price_cents, lang),
                      fund=formatting.money(request.fund_cents, lang),
                      share=formatting.money(request.price_cents - request.fund_cents, lang))
        if request.status == RequestStatus.ASSIGNED:
            operator = await turn.session.get(Person, request.operator_id)
            text += "\n" + turn.t("mine.operator", name=operator.first_name if operator else "—")
        actions = []
        if request.status == RequestStatus.ASSIGNED:
            actions.append("write")
        if request.status in RequestStatus.open():
            actions += ["move", "cancel"]
        if request.status in (RequestStatus.ASSIGNED, RequestStatus.DONE,
                              RequestStatus.NO_SHOW) and request.complaint_at is None:
            actions.append("complain")
        return Prompt(text, tuple(Option(turn.t(f"mine.{a}"), a) for a in actions))

    async def choose(self, turn: Turn, value: str) -> Next:
        request = await own_request(turn)
        if request is None:
            turn.say("mine.not_found")
            return Home()
        if value == "cancel":
            return Go("mine.cancel")
        if value == "write":
            return Go("relay.compose")
        if value == "complain":
            return Go("mine.complain")
        turn.remember(mode="move", service_id=request.service_id,
                      municipality_id=request.municipality_id)
        return Go("req.day")


@step
class CancelRequest(Step):
    name = "mine.cancel"
    help_key = "help.cancel"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("mine.cancel_why"), tuple(
            Option(turn.t(f"cancel_reason.{r}"), r) for r in CANCEL_REASONS))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "other":  # the reason is typed next (typed() takes it)
            turn.say("mine.cancel_other")
            return Stay()
        return await self._cancel(turn, turn.t(f"cancel_reason.{value}"))

    async def typed(self, turn: Turn, text: str) -> Next:
        if len(text) > MAX_REASON:
            turn.say("input.too_long", limit=MAX_REASON)
            return Stay()
        return await self._cancel(turn, text)

    async def _cancel(self, turn: Turn, reason: str) -> Next:
        request = await own_request(turn)
        if request is None or not await store.cancel(turn.session, request, turn.person.id,
                                                     reason, turn.now):
            turn.say("mine.not_cancellable")
            return Home()
        turn.say("mine.cancelled", number=request.id)
        return Home()


@step
class ConfirmMove(Step):
    name = "mine.move_confirm"
    help_key = "help.mine"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await own_request(turn)
        lang = turn.language
        new_day = date.fromisoformat(turn.data["day"])
        text = turn.t("mine.move_confirm",
                      before=formatting.when(request.starts_at, lang) if request else "—",
                      after=f"{formatting.day(new_day, lang)}, {turn.data['start']}")
        return Prompt(text, (Option(turn.t("mine.move_yes"), "yes"),
                             Option(turn.t("mine.move_no"), "no")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value != "yes":
            return Go("mine.detail", remember=False)
        request = await own_request(turn)
        if request is None:
            turn.say("mine.not_found")
            return Home()
        try:
            provider = await store.move(turn.session, request, turn.person.id,
                                        date.fromisoformat(turn.data["day"]),
                                        time.fromisoformat(turn.data["start"]), turn.now)
        except store.NotMovable:
            turn.say("mine.not_movable")
            return Home()
        if provider is None:
            turn.say("req.unserved")
            return Go("req.alternatives", remember=False)
        turn.say("mine.moved", number=request.id, provider=provider)
        return Home()


@step
class Complain(Step):
    name = "mine.complain"
    help_key = "help.complain"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("mine.complain_what"))

    async def typed(self, turn: Turn, text: str) -> Next:
        if len(text) > jobs.MAX_TEXT:
            turn.say("input.too_long", limit=jobs.MAX_TEXT)
            return Stay()
        request = await own_request(turn)
        if request is None:
            turn.say("mine.not_found")
            return Home()
        await jobs.complain(turn.session, request, turn.person, text, turn.now)
        turn.say("mine.complaint_sent", number=request.id)
        return Home()
