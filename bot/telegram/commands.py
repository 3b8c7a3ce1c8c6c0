"""The commands menu Telegram shows next to the text field, in the person's language:
Italian for Italian apps and for everyone without a list of their own, English for
English apps (`setMyCommands` with `language_code`)."""

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from handlers.messages import DEFAULT_LANGUAGE, LANGUAGES, text

log = logging.getLogger(__name__)
COMMANDS = ("start", "menu", "aiuto", "annulla", "richieste")


def bot_commands(language: str) -> list[BotCommand]:
    return [BotCommand(name, text(language, f"command.{name}")) for name in COMMANDS]


async def publish_commands(bot: Bot) -> bool:
    """Set the menus; a failure is logged, not raised (the bot works without them)."""
    try:
        await bot.set_my_commands(bot_commands(DEFAULT_LANGUAGE))
        for language in LANGUAGES:
            await bot.set_my_commands(bot_commands(language), language_code=language)
    except TelegramError as error:
        log.error("Telegram commands menu not set: %s", error)
        return False
    return True
