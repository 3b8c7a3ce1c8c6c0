"""Every step of the dialogue, registered by importing its module."""

from handlers.steps import (  # noqa: F401
    coordinator,
    home,
    mine,
    news,
    onboarding,
    operator,
    privacy,
    relay,
    request,
    staff,
    staff_actions,
    survey,
)
