"""Announcements of the territory's initiatives: only to the workers of the audience who
said yes, on each channel (the console; WhatsApp inside the window as free text, outside
only with the announcement's own template, else held until the person writes), counted
per announcement; the opt-in in the chat, asked once after a first completed request."""

import pytest
from sqlmodel import select

from bot.whatsapp.settings import WhatsAppSettings
from models import announcements
from models.base import Role
from models.catalog_rules import Invalid
from models.db import transaction
from models.tables import ChoiceToken, Municipality, Notice, Person
from tests.support.chat import Chatter, enrolled
from tests.support.people import make_person, org_id, person_id_of
from tests.support.whatsapp import (
    STATUS,
    TEMPLATE_SID,
    Phone,
    callback,
    client_for,
    post_signed,
    wire_whatsapp,
)

pytestmark = [pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:The 'auth' parameter:DeprecationWarning")]
RECENT, SILENT = "+393401110001", "+393401110002"




async def opt_in(chat: Chatter) -> str:
    await chat.say("menu")
    assert "Non ricevi le notizie" in await chat.press("Novità e iniziative")
    return await chat.press("Sì, voglio riceverle")


async def announce(runtime, boss, employers: list[int], title: str = "Centro estivo") -> int:
    async with transaction(runtime.sessions) as session:
        row = await announcements.create(
            session, boss, title=title, body="Iscrizioni aperte al centro estivo comunale.",
            link="https://www.comune.crema.cr.it/estate", day=None, employer_ids=employers,
            municipality_ids=[], now=runtime.clock())
        return row.id


async def send(runtime, boss, announcement_id: int) -> int:
    async with transaction(runtime.sessions) as session:
        return await announcements.send(session, boss, announcement_id, runtime.clock())


async def counts(runtime, announcement_id: int) -> announcements.Counts:
    async with transaction(runtime.sessions) as session:
        row = await session.get(announcements.Announcement, announcement_id)
        return await announcements.counts(session, row)


@pytest.mark.asyncio
async def test_an_announcement_reaches_only_those_who_said_yes_respecting_the_window(
        runtime, twilio, clock):
    app = wire_whatsapp(runtime, api_base_url=twilio.base_url,
                        templates=WhatsAppSettings(default=TEMPLATE_SID, _env_file=None))
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    console_yes = await enrolled(runtime, "+393330000301", org="ali", name="Anna")
    console_no = await enrolled(runtime, "+393330000302", org="ali", name="Bruno")
    other_employer = await enrolled(runtime, "+393330000303", org="iride", name="Carla")
    recent = await enrolled(runtime, RECENT, org="ali", name="Dario", channel="whatsapp")
    silent = await enrolled(runtime, SILENT, org="ali", name="Elena", channel="whatsapp")
    for chat in (console_yes, other_employer, recent, silent):
        assert "ti scriverò quando ci sono nuove iniziative" in await opt_in(chat)
    clock.advance(hours=20)
    async with client_for(app) as client:
        await Phone(client, RECENT).say("menu")  # Dario wrote recently; Elena 20 h + 10 ago
    clock.advance(hours=10)
    announcement_id = await announce(runtime, boss, [await org_id(runtime, "ali")])
    assert await send(runtime, boss, announcement_id) == 3
    assert await send(runtime, boss, announcement_id) == 0  # once only
    await runtime.dispatcher().run_once()
    [sent] = twilio.requests
    assert sent.one("To") == f"whatsapp:{RECENT}" and "Centro estivo" in sent.one("Body")
    assert "https://www.comune.crema.cr.it/estate" in sent.one("Body")
    async with transaction(runtime.sessions) as session:
        notices = (await session.exec(select(Notice).where(
            Notice.kind == announcements.KIND))).all()
    by_person = {n.person_id: (n.status, n.channel, n.held_reason) for n in notices}
    ids = {name: await person_id_of(runtime, chat) for name, chat in (
        ("anna", console_yes), ("bruno", console_no), ("carla", other_employer),
        ("dario", recent), ("elena", silent))}
    assert by_person == {ids["anna"]: ("delivered", "console", None),
                         ids["dario"]: ("sent", "whatsapp", None),
                         # outside the window the default (utility) template is not used
                         ids["elena"]: ("held", "whatsapp", "whatsapp_window")}
    figures = await counts(runtime, announcement_id)
    assert (figures.recipients, figures.sent, figures.delivered, figures.read, figures.held,
            figures.failed) == (3, 2, 1, 0, 1, 0)
    async with client_for(app) as client:  # Twilio reports Dario read it
        sid = next(n.provider_message_id for n in notices if n.person_id == ids["dario"])
        answer = await post_signed(client, STATUS, callback("read", sid=sid))
        assert answer.status_code == 200
    figures = await counts(runtime, announcement_id)
    assert (figures.delivered, figures.read) == (2, 1)
    async with client_for(app) as client:  # Elena writes: the announcement goes at once
        await Phone(client, SILENT).say("menu")
    await runtime.dispatcher().run_once()
    assert [r.one("To") for r in twilio.requests][1:] == [f"whatsapp:{SILENT}"]
    clock.advance(minutes=5)
    await console_yes.say("menu")
    await console_yes.press("Novità e iniziative")
    assert "non ti scriverò per le iniziative" in await console_yes.press("No, grazie")
    figures = await counts(runtime, announcement_id)
    assert (figures.sent, figures.held, figures.opted_out_after) == (3, 0, 1)
    # who said no still finds it listed under the same menu
    await console_no.say("menu")
    listed = await console_no.press("Novità e iniziative")
    assert "Centro estivo" in listed and "Iscrizioni aperte" in listed


@pytest.mark.asyncio
async def test_outside_the_window_its_own_template_carries_it(runtime, twilio, clock):
    wire_whatsapp(runtime, api_base_url=twilio.base_url, templates=WhatsAppSettings(
        worker_announcement=TEMPLATE_SID, _env_file=None))
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    await opt_in(await enrolled(runtime, SILENT, org="ali", name="Elena", channel="whatsapp"))
    clock.advance(hours=30)
    await send(runtime, boss, await announce(runtime, boss, []))
    await runtime.dispatcher().run_once()
    [request] = twilio.requests
    assert request.one("ContentSid") == TEMPLATE_SID and "Centro estivo" in request.one(
        "ContentVariables")


@pytest.mark.asyncio
async def test_asked_once_after_the_first_completed_request_default_no(runtime):
    worker = await enrolled(runtime, "+393330000401", org="ali", name="Anna")
    person_id = await person_id_of(runtime, worker)
    async with transaction(runtime.sessions) as session:
        assert not (await session.get(Person, person_id)).news_opt_in  # the default
        assert await announcements.invite_once(session, person_id, runtime.clock())
        assert not await announcements.invite_once(session, person_id, runtime.clock())
    await runtime.dispatcher().run_once()
    async with transaction(runtime.sessions) as session:
        invite = (await session.exec(select(Notice).where(
            Notice.kind == "worker.news_invite"))).one()
        token = (await session.exec(select(ChoiceToken).where(
            ChoiceToken.person_id == person_id, ChoiceToken.value == "news:yes"))).one()
    assert invite.status == "delivered" and "Vuoi che ti scriva" in invite.rendered_text
    assert "ti scriverò quando ci sono nuove iniziative" in await worker.send_payload(
        token.token)
    async with transaction(runtime.sessions) as session:
        assert (await session.get(Person, person_id)).news_opt_in


@pytest.mark.asyncio
async def test_a_bad_announcement_is_refused_field_by_field(runtime):
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    with pytest.raises(Invalid) as problem:
        async with transaction(runtime.sessions) as session:
            await announcements.create(session, boss, title="", body="x" * 701,
                                       link="javascript:alert(1)", day=None,
                                       employer_ids=[999], municipality_ids=[],
                                       now=runtime.clock())
    assert {p.field: p.key for p in problem.value.problems} == {
        "title": "rules.required", "body": "rules.too_long", "link": "rules.link_format",
        "employers": "rules.wrong_value"}
    async with transaction(runtime.sessions) as session:
        assert await announcements.listed(session) == []


@pytest.mark.asyncio
async def test_an_audience_of_municipalities_counts_where_workers_last_asked(any_runtime):
    runtime = any_runtime
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    here = await enrolled(runtime, "+393330000701", org="ali", name="Anna")
    there = await enrolled(runtime, "+393330000702", org="iride", name="Bice")
    for chat in (here, there):
        await opt_in(chat)
    ids = [await person_id_of(runtime, chat) for chat in (here, there)]
    async with transaction(runtime.sessions) as session:
        places = {m.name: m.id for m in (await session.exec(select(Municipality))).all()}
        for person_id, place in zip(ids, ("Crema", "Soncino"), strict=True):
            person = await session.get(Person, person_id)
            person.last_municipality_id = places[place]
            session.add(person)
        row = await announcements.create(
            session, boss, title="Sportello famiglie", body="Aperto il sabato.", link=None,
            day=None, employer_ids=[], municipality_ids=[places["Crema"]], now=runtime.clock())
        assert await announcements.audience_size(session, row) == (1, 1)
        assert await announcements.send(session, boss, row.id, runtime.clock()) == 1
        [notice] = (await session.exec(select(Notice).where(
            Notice.kind == announcements.KIND))).all()
    assert notice.person_id == ids[0]


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_on_telegram_only_who_said_yes_receives_it(runtime):
    from bot.settings import Settings
    from bot.telegram.channel import install
    from tests.support.chat import new_code
    from tests.support.fake_telegram import TOKEN, FakeBotApi, TelegramChat, Updates

    runtime.settings = Settings(database_url=runtime.settings.database_url, _env_file=None,
                                telegram_bot_token=TOKEN)
    api = FakeBotApi()
    channel = install(runtime, request=api)
    updates = Updates()
    willing, silent = (TelegramChat(channel, api, updates, chat_id) for chat_id in (4301, 4302))
    await willing.enrol(await new_code(runtime, "ali"), "Ada")
    await silent.enrol(await new_code(runtime, "ali"), "Bea")
    await willing.say("menu")
    await willing.press("Novità e iniziative")
    assert "ti scriverò quando ci sono nuove iniziative" in await willing.press("Sì")
    boss = await make_person(runtime, "comune-crema", Role.COORDINATOR, "Carla")
    await send(runtime, boss, await announce(runtime, boss, [await org_id(runtime, "ali")]))
    before = {chat.chat_id: len(api.messages(chat.chat_id)) for chat in (willing, silent)}
    await runtime.dispatcher().run_once()
    [received] = api.messages(willing.chat_id)[before[willing.chat_id]:]
    assert received["text"].startswith("📣 Centro estivo")
    assert api.messages(silent.chat_id)[before[silent.chat_id]:] == []
