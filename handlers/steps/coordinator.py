"""The coordinator's figures on demand: today's digest (with its chart), figures for a
period ("/stats settimana", "/stats 01/11-30/11"), and the indicators' CSV for a period."""

from datetime import date

from handlers.charts import requests_chart
from handlers.flow import Next, Option, Prompt, Stay, Step, Turn, step
from handlers.reports import (
    digest_text,
    indicators_csv,
    is_backwards,
    parse_period,
    stats_text,
)
from handlers.types import File
from models.attachments import store_attachment
from models.calendar import local
from models.figures import PeriodFigures, digest_figures, period_figures

PERIODS = ("oggi", "settimana", "mese", "anno")


async def attach(turn: Turn, filename: str, content_type: str, data: bytes) -> None:
    """Keep the file (so other channels can link to it) and send it with this reply."""
    stored = await store_attachment(turn.session, filename, content_type, data, turn.now,
                                    owner_id=turn.person.id)
    turn.files.append(File(filename, content_type, data, stored.id))


@step
class DigestNow(Step):
    name = "coord.digest"
    help_key = "help.coordinator"

    async def prompt(self, turn: Turn) -> Prompt:
        today = local(turn.now).date()
        figures = await digest_figures(turn.session, today, turn.now)
        png = requests_chart(figures.series, today, turn.language)
        await attach(turn, f"intempo-{today.isoformat()}.png", "image/png", png)
        return Prompt(digest_text(figures, turn.language))


class PeriodStep(Step):
    """Asks for a period (choices or typed) and answers with figures for it."""

    help_key = "help.period"
    question_key: str

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t(self.question_key), tuple(
            Option(turn.t(f"period.{p}"), p) for p in PERIODS))

    async def choose(self, turn: Turn, value: str) -> Next:
        return await self.typed(turn, value)

    async def typed(self, turn: Turn, text: str) -> Next:
        today = local(turn.now).date()
        period = parse_period(text, today)
        if period is None:
            turn.say("period.backwards" if is_backwards(text, today) else "period.invalid")
            return Stay()
        first, last = period
        figures = await period_figures(turn.session, first, last, turn.now)
        await self.answer(turn, figures, first, last)
        return Stay()

    async def answer(self, turn: Turn, figures: PeriodFigures, first: date,
                     last: date) -> None:
        raise NotImplementedError


@step
class Stats(PeriodStep):
    name = "coord.stats"
    question_key = "period.stats_question"

    async def answer(self, turn: Turn, figures: PeriodFigures, first: date,
                     last: date) -> None:
        turn.said.append(stats_text(figures, first, last, turn.language))


@step
class Export(PeriodStep):
    name = "coord.export"
    question_key = "period.export_question"

    async def answer(self, turn: Turn, figures: PeriodFigures, first: date,
                     last: date) -> None:
        name = f"intempo-indicatori-{first.isoformat()}-{last.isoformat()}.csv"
        await attach(turn, name, "text/csv", indicators_csv(figures, first, last))
        turn.say("period.export_ready", filename=name)
