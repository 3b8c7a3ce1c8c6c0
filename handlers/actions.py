"""What a button on a notice does (an offer's accept/decline …). The action re-checks who
is pressing and the current state, so an old or forwarded button changes nothing."""

import logging

from handlers.flow import Home, Next, Turn
from handlers.steps.operator import answer_offer

log = logging.getLogger(__name__)


async def run_action(turn: Turn, value: str) -> Next:
    kind, _, rest = value.partition(":")
    if kind == "offer" and turn.person is not None:
        verb, _, offer_id = rest.partition(":")
        if offer_id.isdigit() and verb in ("accept", "decline"):
            turn.conversation.back = []
            return await answer_offer(turn, int(offer_id), verb == "accept")
    log.warning("unknown notice action %r", value)
    turn.say("choice.stale")
    return Home()
