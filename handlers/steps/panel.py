"""The way into the web console from the chat: «🖥️ Apri il pannello» (or /pannello) answers
with a single-use sign-in link for the coordinator and the partners' contacts."""

from handlers.flow import Turn
from models.panel import SessionRules, create_link, may_use_panel


async def say_panel_link(turn: Turn) -> bool:
    """Add the link to the turn's answer; False (and nothing said) for anyone else."""
    if not may_use_panel(turn.person):
        return False
    minutes = turn.settings.panel_link_minutes
    token = await create_link(turn.session, turn.person, turn.now,
                              SessionRules(link_minutes=minutes))
    turn.say("panel.link", url=f"{turn.settings.panel_url}/accesso/{token}", minutes=minutes)
    return True
