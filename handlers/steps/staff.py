"""Lists of jobs and what the coordinator sees: the requests nobody could take, the
complaints (with the relay they unlock), the fund. A job's public facts carry no address
and no name: those are shown only to the operator who took it."""

from handlers import formatting
from handlers.flow import Go, Home, Next, Option, Prompt, Step, Turn, step
from handlers.steps.request import service_name
from handlers.untrusted import as_number
from models import fund, staff_actions
from models.requests import service_and_place
from models.tables import ServiceRequest

LIST_LIMIT = 15


async def job_label(turn: Turn, request: ServiceRequest) -> str:
    service, place = await service_and_place(turn.session, request)
    return (f"{formatting.when(request.starts_at, turn.language)} · "
            f"{service_name(service, turn.language)} · {place.name}")


async def job_text(turn: Turn, request: ServiceRequest, key: str = "job.detail") -> str:
    """A job's facts without anything personal: service, time, place, duration, subsidy
    (`key` "coord.request_detail" titles it as a request, for the coordinator)."""
    service, place = await service_and_place(turn.session, request)
    return turn.t(key, number=request.id, service=service_name(service, turn.language),
                  when=formatting.when(request.starts_at, turn.language), place=place.name,
                  duration=formatting.duration(request.duration_minutes, turn.language),
                  subsidised=turn.t("yes" if request.fund_cents else "no"),
                  status=turn.t(f"status.{request.status}"))


class JobList(Step):
    """A list of requests; choosing one opens `next_step` with it in the draft."""

    empty_key: str
    title_key: str
    next_step: str = "staff.job"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        raise NotImplementedError

    async def prompt(self, turn: Turn) -> Prompt:
        jobs = await self.requests(turn)
        if not jobs:
            return Prompt(turn.t(self.empty_key))
        return Prompt(turn.t(self.title_key),
                      tuple([Option(await self.label(turn, r), f"r{r.id}") for r in jobs]))

    async def label(self, turn: Turn, request: ServiceRequest) -> str:
        return await job_label(turn, request)

    async def choose(self, turn: Turn, value: str) -> Next:
        allowed = {r.id for r in await self.requests(turn)}
        request_id = as_number(value.removeprefix("r")) or 0
        if request_id not in allowed:
            turn.say("mine.not_found")
            return Home()
        turn.remember(request_id=request_id, from_list=self.name)
        return Go(self.next_step)


@step
class UnservedRequests(JobList):
    name = "coord.unserved"
    help_key = "help.coordinator"
    empty_key, title_key = "coord.no_unserved", "coord.unserved"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        return await staff_actions.unserved_requests(turn.session, LIST_LIMIT)


@step
class Complaints(JobList):
    name = "coord.complaints"
    help_key = "help.coordinator"
    empty_key, title_key = "coord.no_complaints", "coord.complaints"

    async def requests(self, turn: Turn) -> list[ServiceRequest]:
        """The complaints (📣 to handle, ✅ handled), then the surveys' comments (💬)."""
        return await staff_actions.complaints_then_comments(turn.session, LIST_LIMIT)

    async def label(self, turn: Turn, request: ServiceRequest) -> str:
        if request.complaint_at is None:
            mark = "💬"
        else:
            mark = "✅" if request.complaint_handled_at else "📣"
        return f"{mark} {await job_label(turn, request)}"


@step
class FundFigures(Step):
    name = "coord.fund"
    help_key = "help.coordinator"

    async def prompt(self, turn: Turn) -> Prompt:
        the_fund = await fund.the_fund(turn.session)
        if the_fund is None:
            return Prompt(turn.t("coord.no_fund"))
        helped = await fund.workers_helped(turn.session, the_fund.id)
        lang = turn.language
        remaining = the_fund.total_cents - the_fund.reserved_cents - the_fund.committed_cents
        return Prompt(turn.t("coord.fund", name=the_fund.name,
                             total=formatting.money(the_fund.total_cents, lang),
                             committed=formatting.money(the_fund.committed_cents, lang),
                             reserved=formatting.money(the_fund.reserved_cents, lang),
                             remaining=formatting.money(remaining, lang), workers=helped))
