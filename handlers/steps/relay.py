"""Writing to the other side of a job (worker ↔ operator) through the bot: neither sees
the other's number or account, and the relay closes when the job ends."""

from handlers.flow import Home, Next, Prompt, Stay, Step, Turn, step
from models import jobs, offers
from models.tables import Person, ServiceRequest


async def relay_request(turn: Turn) -> ServiceRequest | None:
    return await turn.session.get(ServiceRequest, turn.data.get("request_id") or 0)


@step
class ComposeRelay(Step):
    name = "relay.compose"
    help_key = "help.relay"

    async def prompt(self, turn: Turn) -> Prompt:
        request = await relay_request(turn)
        try:
            other = await turn.session.get(Person, jobs.other_party(request, turn.person))
        except (offers.NotAllowed, AttributeError):
            return Prompt(turn.t("relay.closed"))
        return Prompt(turn.t("relay.compose", name=other.first_name or "",
                             number=request.id, limit=jobs.MAX_TEXT))

    async def typed(self, turn: Turn, text: str) -> Next:
        if len(text) > jobs.MAX_TEXT:
            turn.say("input.too_long", limit=jobs.MAX_TEXT)
            return Stay()
        request = await relay_request(turn)
        try:
            await jobs.relay(turn.session, request, turn.person, text, turn.now)
        except (offers.NotAllowed, jobs.RelayClosed, AttributeError):
            turn.say("relay.closed")
            return Home()
        turn.say("relay.sent")
        return turn.go_back() or Home()
