"""'Privacy e dati': read the notice again, get a copy of one's data, erase it."""

from handlers.flow import Go, Home, Next, Option, Prompt, Step, Turn, step
from handlers.own_data import readable
from handlers.types import File
from models import privacy
from models.attachments import store_attachment


@step
class PrivacyMenu(Step):
    name = "privacy.menu"
    help_key = "help.privacy_menu"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("privacy.menu"), tuple(
            Option(turn.t(f"privacy.{item}"), item) for item in ("read", "export", "erase")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "read":
            turn.said.append(turn.t("privacy.notice").rsplit("\n\n", 1)[0])
            return Home()
        if value == "export":
            data = await privacy.export_person(turn.session, turn.person)
            # for a person to read; `intempo person export` gives the same as JSON
            content = (await readable(turn.session, data, turn.language)).encode("utf-8")
            attachment = await store_attachment(
                turn.session, f"{privacy.EXPORT_FILE_PREFIX}{turn.person.id}.txt",
                "text/plain; charset=utf-8", content, turn.now, owner_id=turn.person.id)
            turn.files.append(File(attachment.filename, attachment.content_type, content,
                                   attachment.id))
            turn.say("privacy.exported")
            return Home()
        return Go("privacy.erase")


@step
class EraseConfirm(Step):
    name = "privacy.erase"
    help_key = "help.privacy_menu"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("privacy.erase_confirm"),
                      (Option(turn.t("privacy.erase_yes"), "yes"),
                       Option(turn.t("no_keep"), "no")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value != "yes":
            return Home()
        goodbye = turn.t("privacy.erased")
        await privacy.erase_person(turn.session, turn.person, turn.now)
        turn.said.append(goodbye)
        return Home()
