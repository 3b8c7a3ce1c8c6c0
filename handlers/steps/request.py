"""A worker's new request: category → service → municipality → day → time → address →
notes → summary with the price and the fund's share → confirm. Also used, with
`mode=move`, to pick a new day and time for an existing request."""

import difflib
import re
from datetime import date, time

from handlers import formatting
from handlers.dateparse import PARTS_OF_DAY, DateProblem, When, parse_when
from handlers.flow import Go, Home, Next, Option, Prompt, Stay, Step, Turn, step
from handlers.matching import fold
from handlers.untrusted import is_number
from models import catalog_reads, fund
from models import requests as store
from models.base import Category
from models.calendar import MIN_LEAD, Availability, availability, is_holiday, local
from models.person_settings import remember_place
from models.tables import Municipality, Service, ServiceRequest

MAX_ADDRESS, MAX_NOTES = 200, 500
MAX_SUGGESTIONS = 6
YEAR_WRITTEN = re.compile(r"\b\d{4}\b|\d[/.-]\d{1,2}[/.-]\d{2}\b")


def service_name(service: Service, language: str) -> str:
    return service.name_in(language)


async def draft_availability(turn: Turn) -> Availability:
    service = await turn.session.get(Service, turn.data["service_id"])
    return await availability(turn.session, service, turn.data["municipality_id"])


def draft_day(turn: Turn) -> date:
    return date.fromisoformat(turn.data["day"])


async def slot_chosen(turn: Turn, day: date, start: time) -> Next:
    """Day and time are settled: a move goes to its confirmation, a new request on."""
    turn.remember(day=day.isoformat(), start=start.strftime("%H:%M"))
    return Go("mine.move_confirm" if turn.data.get("mode") == "move" else "req.address")


@step
class PickCategory(Step):
    name = "req.category"
    help_key = "help.request"

    async def prompt(self, turn: Turn) -> Prompt:
        offered = await catalog_reads.offered_categories(turn.session)
        return Prompt(turn.t("req.category"), tuple(
            Option(turn.t(f"category.{c}"), c) for c in Category if c in offered))

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.remember(category=value, mode="new")
        return Go("req.service")


@step
class PickService(Step):
    name = "req.service"
    help_key = "help.request"

    async def prompt(self, turn: Turn) -> Prompt:
        services = await catalog_reads.active_services(turn.session, turn.data.get("category"))
        lang = turn.language
        options = tuple(Option(turn.t("req.service_label", name=service_name(s, lang),
                                      price=formatting.money(s.price_cents, lang),
                                      duration=formatting.duration(s.duration_minutes, lang)),
                               str(s.id)) for s in services)
        return Prompt(turn.t("req.service"), options)

    async def choose(self, turn: Turn, value: str) -> Next:
        service = await turn.session.get(Service, int(value))
        if service is None or not service.active:
            turn.say("choice.stale")
            return Stay()
        turn.remember(service_id=service.id)
        description = service.description_en if turn.language == "en" else service.description_it
        if description:
            turn.said.append(description)
        return Go("req.municipality")


@step
class PickMunicipality(Step):
    name = "req.municipality"
    help_key = "help.municipality"

    async def prompt(self, turn: Turn) -> Prompt:
        suggested = turn.data.get("suggested") or []
        if not suggested and turn.person.last_municipality_id:
            suggested = [turn.person.last_municipality_id]
        names = []
        for municipality_id in suggested:
            place = await turn.session.get(Municipality, municipality_id)
            names.append(Option(place.name, str(place.id)))
        return Prompt(turn.t("req.municipality"), tuple(names))

    async def choose(self, turn: Turn, value: str) -> Next:
        place = await turn.session.get(Municipality, int(value))
        return await self._settle(turn, place)

    async def typed(self, turn: Turn, text: str) -> Next:
        places = await catalog_reads.municipalities(turn.session)
        wanted = fold(text)
        by_name = {fold(p.name): p for p in places}
        if wanted in by_name:
            return await self._settle(turn, by_name[wanted])
        close = sorted((p for key, p in by_name.items() if wanted and wanted in key),
                       key=lambda p: (not fold(p.name).startswith(wanted), p.name))
        close = close or [by_name[key] for key in difflib.get_close_matches(
            wanted, by_name, n=MAX_SUGGESTIONS, cutoff=0.8)]
        if len(close) == 1:
            return await self._settle(turn, close[0])
        if close:
            turn.remember(suggested=[p.id for p in close[:MAX_SUGGESTIONS]])
            turn.say("req.municipality_which")
            return Stay()
        turn.say("req.municipality_unknown")
        return Stay()

    async def _settle(self, turn: Turn, place: Municipality | None) -> Next:
        if place is None:
            turn.say("choice.stale")
            return Stay()
        turn.remember(suggested=[])
        service = await turn.session.get(Service, turn.data["service_id"])
        slots = await availability(turn.session, service, place.id)
        if not slots.offerings:
            turn.say("req.not_served_there", place=place.name,
                     service=service_name(service, turn.language))
            return await _flag_unmet(turn, service, place, "not_offered")
        if not slots.open_days(turn.now, turn.settings.horizon_days):
            turn.say("req.no_days", place=place.name, days=turn.settings.horizon_days)
            return await _flag_unmet(turn, service, place, "fully_booked")
        turn.remember(municipality_id=place.id)
        return Go("req.day")


@step
class PickDay(Step):
    name = "req.day"
    help_key = "help.day"

    async def prompt(self, turn: Turn) -> Prompt:
        slots = await draft_availability(turn)
        days = slots.open_days(turn.now, turn.settings.horizon_days)
        return Prompt(turn.t("req.day"), tuple(
            Option(formatting.short_day(d, turn.language), d.isoformat()) for d in days))

    async def before_options(self, turn: Turn, text: str) -> Next | None:
        """A typed date ("3/12", "venerdì 11", "domani") is read as a date before the day
        buttons are matched: their labels share its numbers ("sab 12 dic")."""
        if is_number(text.strip()):
            return None  # an option's number
        try:
            said_when = parse_when(text, local(turn.now).date()) is not None
        except DateProblem:
            said_when = True  # typed() says what is wrong with it
        return await self.typed(turn, text) if said_when else None

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.remember(day=value, part_of_day=None)
        return Go("req.time")

    async def typed(self, turn: Turn, text: str) -> Next:
        when = read_when(turn, text)
        if when is None:
            return Stay()
        if when.day is None:
            turn.say("req.day_needed")
            return Stay()
        slots = await draft_availability(turn)
        if not day_is_open(turn, slots, when.day):
            return Stay()
        turn.remember(day=when.day.isoformat(), part_of_day=when.part_of_day)
        if when.at is not None:
            if slots.accepts(when.day, when.at, turn.now):
                return await slot_chosen(turn, when.day, when.at)
            turn.say("req.time_unavailable", time=formatting.clock(when.at, turn.language))
        return Go("req.time")


async def _flag_unmet(turn: Turn, service: Service, place: Municipality, reason: str) -> Next:
    """Tell the coordinator that this demand went unmet, and the worker that we did."""
    await store.flag_unmet_demand(turn.session, service.id, place.id, reason, turn.now)
    turn.say("req.demand_flagged")
    return Stay()


def read_when(turn: Turn, text: str) -> When | None:
    """Parse a typed date/time, saying what is wrong when it cannot be used."""
    try:
        when = parse_when(text, local(turn.now).date())
    except DateProblem as problem:
        turn.say(f"req.date_{problem.reason}")
        return None
    if when is None:
        turn.say("req.date_not_understood")
    elif when.day and (when.day - local(turn.now).date()).days > 180 \
            and not YEAR_WRITTEN.search(text):
        # "24/11" typed on 25/11 means yesterday, not next year
        turn.say("req.date_past")
        return None
    return when


def day_is_open(turn: Turn, slots: Availability, day: date) -> bool:
    """Whether the day can be booked; if not, say why."""
    shown = formatting.day(day, turn.language)
    if day in slots.open_days(turn.now, turn.settings.horizon_days):
        return True
    if day < local(turn.now).date():  # "ieri", or a day already gone
        turn.say("req.date_past")
    elif (day - local(turn.now).date()).days > turn.settings.horizon_days:
        turn.say("req.day_too_far", days=turn.settings.horizon_days)
    elif is_holiday(day):
        turn.say("req.day_holiday", day=shown, day_capitalised=shown[:1].upper() + shown[1:])
    elif not any(day.isoweekday() in o.weekdays for o in slots.offerings):
        turn.say("req.day_not_offered", day=shown)
    elif day == local(turn.now).date():  # what is left of today is within the notice needed
        turn.say("req.day_too_soon", hours=int(MIN_LEAD.total_seconds() // 3600))
    else:
        turn.say("req.day_full", day=shown)
    return False


@step
class PickTime(Step):
    name = "req.time"
    help_key = "help.time"

    async def prompt(self, turn: Turn) -> Prompt:
        starts = await self._starts(turn)
        shown = formatting.day(draft_day(turn), turn.language)
        return Prompt(turn.t("req.time", day=shown), tuple(
            Option(formatting.clock(s, turn.language), s.strftime("%H:%M")) for s in starts))

    async def _starts(self, turn: Turn) -> list[time]:
        slots = await draft_availability(turn)
        starts = slots.starts(draft_day(turn), turn.now)
        part = turn.data.get("part_of_day")
        if part:
            first, last = PARTS_OF_DAY[part]
            starts = [s for s in starts if first <= s < last] or starts
        return starts

    async def before_options(self, turn: Turn, text: str) -> Next | None:
        """'9' or '9:30' is an hour when it names a start on offer, not option number 9."""
        words = fold(text)
        if not is_number(words.replace(" ", "")) or len(words) > 5:
            return None
        parts = [int(p) for p in words.split()]
        if not 0 <= parts[0] <= 23 or (len(parts) == 2 and not 0 <= parts[1] <= 59) \
                or len(parts) > 2:
            return None
        start = time(parts[0], parts[1] if len(parts) == 2 else 0)
        if start in await self._starts(turn):
            return await slot_chosen(turn, draft_day(turn), start)
        return None

    async def choose(self, turn: Turn, value: str) -> Next:
        start = time.fromisoformat(value)
        if start not in await self._starts(turn):
            turn.say("req.time_taken")
            return Stay()
        return await slot_chosen(turn, draft_day(turn), start)

    async def typed(self, turn: Turn, text: str) -> Next:
        when = read_when(turn, text)
        if when is None:
            return Stay()
        day = when.day or draft_day(turn)
        slots = await draft_availability(turn)
        if when.day is not None and not day_is_open(turn, slots, day):
            return Stay()
        if when.at is None:
            turn.remember(day=day.isoformat(), part_of_day=when.part_of_day)
            return Stay()
        if not slots.accepts(day, when.at, turn.now):
            turn.say("req.time_unavailable", time=formatting.clock(when.at, turn.language))
            return Stay()
        return await slot_chosen(turn, day, when.at)


@step
class Address(Step):
    name = "req.address"
    help_key = "help.address"

    async def prompt(self, turn: Turn) -> Prompt:
        last = turn.person.last_address
        options = (Option(turn.t("req.address_reuse", address=last), "last"),) if last else ()
        return Prompt(turn.t("req.address"), options)

    async def choose(self, turn: Turn, value: str) -> Next:
        return await self.typed(turn, turn.person.last_address or "")

    async def typed(self, turn: Turn, text: str) -> Next:
        address = " ".join(text.split())
        if len(address) < 4 or not any(ch.isalpha() for ch in address):
            turn.say("req.address_invalid")
            return Stay()
        if len(address) > MAX_ADDRESS:
            turn.say("input.too_long", limit=MAX_ADDRESS)
            return Stay()
        turn.remember(address=address)
        return Go("req.notes")


@step
class Notes(Step):
    name = "req.notes"
    help_key = "help.notes"

    async def prompt(self, turn: Turn) -> Prompt:
        return Prompt(turn.t("req.notes"), (Option(turn.t("req.no_notes"), "none"),))

    async def choose(self, turn: Turn, value: str) -> Next:
        turn.remember(notes=None)
        return Go("req.summary")

    async def typed(self, turn: Turn, text: str) -> Next:
        if len(text) > MAX_NOTES:
            turn.say("input.too_long", limit=MAX_NOTES)
            return Stay()
        turn.remember(notes=text)
        return Go("req.summary")


def _end(start: time, minutes: int) -> time:
    """When a service starting at `start` and lasting `minutes` ends (same day)."""
    total = min(start.hour * 60 + start.minute + minutes, 23 * 60 + 59)
    return time(total // 60, total % 60)


def draft_of(turn: Turn) -> store.Draft:
    data = turn.data
    return store.Draft(service_id=data["service_id"], municipality_id=data["municipality_id"],
                       day=draft_day(turn), start=time.fromisoformat(data["start"]),
                       address=data["address"], notes=data.get("notes"))


@step
class Summary(Step):
    name = "req.summary"
    help_key = "help.summary"

    async def prompt(self, turn: Turn) -> Prompt:
        draft = draft_of(turn)
        service = await turn.session.get(Service, draft.service_id)
        place = await turn.session.get(Municipality, draft.municipality_id)
        quote = await fund.quote(turn.session, turn.person.id, service, draft.day.year)
        turn.remember(quote=[quote.price_cents, quote.fund_cents, quote.limit])
        lang = turn.language
        text = turn.t("req.summary", service=service_name(service, lang),
                      day=formatting.day(draft.day, lang),
                      time=formatting.clock(draft.start, lang),
                      end=formatting.clock(_end(draft.start, service.duration_minutes), lang),
                      place=place.name,
                      address=draft.address, notes=draft.notes or "—",
                      price=formatting.money(quote.price_cents, lang),
                      fund=formatting.money(quote.fund_cents, lang),
                      share=formatting.money(quote.worker_cents, lang))
        if quote.limit in ("cap", "fund") or (quote.fund_cents == 0 and quote.limit):
            key = "cap_reached" if quote.limit == "cap" and not quote.fund_cents \
                else quote.limit
            body, question = text.rsplit("\n\n", 1)  # the note goes before "Confermi?"
            text = "\n\n".join([body, turn.t(f"req.fund_limit.{key}"), question])
        return Prompt(text, (Option(turn.t("req.confirm"), "confirm"),
                             Option(turn.t("req.change_slot"), "change"),
                             Option(turn.t("req.discard"), "discard")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "change":
            return Go("req.day")
        if value == "discard":
            turn.say("nav.cancelled")
            return Home()
        shown = fund.Quote(*turn.data["quote"])
        draft = draft_of(turn)
        if not (await draft_availability(turn)).accepts(draft.day, draft.start, turn.now):
            turn.say("req.time_taken")
            return Go("req.time", remember=False)
        outcome = await store.confirm(turn.session, turn.person.id, draft, shown, turn.now)
        if outcome.request is None:
            turn.say("req.quote_changed")
            return Stay()
        remember_place(turn.session, turn.person, draft.municipality_id, draft.address)
        return announce_routing(turn, outcome.request.id, outcome.provider_name)


def announce_routing(turn: Turn, request_id: int, provider_name: str | None) -> Next:
    if provider_name is None:
        turn.remember(request_id=request_id)
        turn.say("req.unserved")
        return Go("req.alternatives", remember=False)
    turn.say("req.routed", number=request_id, provider=provider_name)
    return Home()


@step
class Alternatives(Step):
    """Nobody can serve the chosen slot: offer the nearest ones that can."""

    name = "req.alternatives"
    help_key = "help.alternatives"

    async def prompt(self, turn: Turn) -> Prompt:
        slots = await draft_availability(turn)
        wanted = draft_day(turn)
        found = []
        for day in sorted(slots.open_days(turn.now, turn.settings.horizon_days),
                          key=lambda d: abs((d - wanted).days)):
            found += [(day, s) for s in slots.starts(day, turn.now)][:2]
            if len(found) >= 4:
                break
        lang = turn.language
        options = tuple(Option(f"{formatting.short_day(d, lang)} {formatting.clock(s, lang)}",
                               f"{d.isoformat()}T{s:%H:%M}") for d, s in found[:4])
        key = "req.alternatives" if options else "req.no_alternatives"
        return Prompt(turn.t(key), (*options, Option(turn.t("req.keep_waiting"), "wait")))

    async def choose(self, turn: Turn, value: str) -> Next:
        if value == "wait":
            turn.say("req.waiting_coordinator")
            return Home()
        day, start = value.split("T")
        request = await turn.session.get(ServiceRequest, turn.data["request_id"])
        try:
            provider = await store.move(turn.session, request, turn.person.id,
                                        date.fromisoformat(day), time.fromisoformat(start),
                                        turn.now)
        except store.NotMovable:
            turn.say("mine.not_movable")
            return Home()
        turn.remember(day=day)
        return announce_routing(turn, request.id, provider)
