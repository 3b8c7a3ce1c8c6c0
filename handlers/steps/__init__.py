"""Every step of the dialogue, registered by importing its module."""

from handlers.steps import home, mine, onboarding, operator, relay, request, staff  # noqa: F401
