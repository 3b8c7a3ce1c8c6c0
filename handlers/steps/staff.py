"""What operators and the coordinator see in the chat: the cooperative's jobs, the
requests nobody could take, the fund. Operators see no address or name before taking a
job (that comes with the operators' issue); the coordinator sees no personal data."""

from sqlmodel import func, select

from handlers import formatting
from handlers.flow import Go, Home, Next, Option, Prompt, Step, Turn, step
from handlers.steps.request import service_name
from models import fund
from models.base import RequestStatus, Role
from models.tables import Municipality, Service, ServiceRequest, WorkerFundUse

LIST_LIMIT = 15


async def job_label(turn: Turn, request: ServiceRequest) -> str:
    service = await turn.session.get(Service, request.service_id)
    place = await turn.session.get(Municipality, request.municipality_id)
    return (f"{formatting.when(request.starts_at, turn.language)} · "
            f"{service_name(service, turn.language)} · {place.name}")


async def job_text(turn: Turn, request: ServiceRequest) -> str:
    """A job's facts without anything personal: service, time, place, duration, subsidy."""
    service = await turn.session.get(Service, request.service_id)
    place = await turn.session.get(Municipality, request.municipality_id)
    return turn.t("job.detail", number=request.id, service=service_name(service, turn.language),
                  when=formatting.when(request.starts_at, turn.language), place=place.name,
                  minutes=request.duration_minutes,
                  subsidised=turn.t("yes" if request.fund_cents else "no"),
                  status=turn.t(f"status.{request.status}"))


class JobList(Step):
    """A list of requests, each opening its anonymous details."""

    empty_key: str
    title_key: str

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        raise NotImplementedError

    async def prompt(self, turn: Turn) -> Prompt:
        jobs = await self.requests(turn)
        if not jobs:
            return Prompt(turn.t(self.empty_key))
        return Prompt(turn.t(self.title_key),
                      tuple([Option(await job_label(turn, r), f"r{r.id}") for r in jobs]))

    async def choose(self, turn: Turn, value: str) -> Next:
        allowed = {r.id for r in await self.requests(turn)}
        request_id = int(value.removeprefix("r")) if value[1:].isdigit() else 0
        if request_id not in allowed:
            turn.say("mine.not_found")
            return Home()
        turn.remember(request_id=request_id)
        return Go("staff.job")


@step
class CooperativeJobs(JobList):
    name = "op.jobs"
    help_key = "help.operator"
    empty_key, title_key = "op.no_jobs", "op.jobs"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        query = (select(ServiceRequest)
                 .where(ServiceRequest.provider_id == turn.person.organisation_id,
                        ServiceRequest.status.in_(RequestStatus.open()),
                        ServiceRequest.starts_at >= turn.now)
                 .order_by(ServiceRequest.starts_at).limit(LIST_LIMIT))
        return list((await turn.session.exec(query)).all())


@step
class UnservedRequests(JobList):
    name = "coord.unserved"
    help_key = "help.coordinator"
    empty_key, title_key = "coord.no_unserved", "coord.unserved"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        query = (select(ServiceRequest)
                 .where(ServiceRequest.status == RequestStatus.UNSERVED)
                 .order_by(ServiceRequest.starts_at).limit(LIST_LIMIT))
        return list((await turn.session.exec(query)).all())


@step
class JobDetail(Step):
    name = "staff.job"
    help_key = "help.operator"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await turn.session.get(ServiceRequest, turn.data.get("request_id") or 0)
        visible = request is not None and (
            turn.person.role == Role.COORDINATOR
            or request.provider_id == turn.person.organisation_id)
        return Prompt(await job_text(turn, request) if visible else turn.t("mine.not_found"))


@step
class FundFigures(Step):
    name = "coord.fund"
    help_key = "help.coordinator"

    async def prompt(self, turn: Turn) -> Prompt:
        the_fund = await fund.the_fund(turn.session)
        if the_fund is None:
            return Prompt(turn.t("coord.no_fund"))
        helped = (await turn.session.exec(select(func.count()).select_from(WorkerFundUse).where(
            WorkerFundUse.fund_id == the_fund.id, WorkerFundUse.used_cents > 0))).one()
        lang = turn.language
        remaining = the_fund.total_cents - the_fund.reserved_cents - the_fund.committed_cents
        return Prompt(turn.t("coord.fund", name=the_fund.name,
                             total=formatting.money(the_fund.total_cents, lang),
                             committed=formatting.money(the_fund.committed_cents, lang),
                             reserved=formatting.money(the_fund.reserved_cents, lang),
                             remaining=formatting.money(remaining, lang), workers=helped))
