"""The shape of a WhatsApp reply with choices: buttons, a list, or numbered text."""

import pytest

from bot.whatsapp import interactive
from bot.whatsapp.inbound import parse
from handlers.types import Choice, Reply
from tests.support.whatsapp import inbound_form


def reply_with(*labels: str, text: str = "Cosa ti serve?") -> Reply:
    return Reply(text, tuple(Choice(label, f"tok{n}") for n, label in enumerate(labels)),
                 hint="Rispondi con il numero o con le parole di un'opzione.")


def test_no_choices_is_plain_text():
    shape = interactive.shape_of(Reply("Fatto."))
    assert (shape.kind, shape.body, shape.items) == ("text", "Fatto.", ())


def test_one_choice_is_one_button():
    shape = interactive.shape_of(reply_with("Nessuna nota"))
    assert shape.kind == "buttons" and shape.body == "Cosa ti serve?"
    assert shape.items == (interactive.Item("Nessuna nota", "tok0"),)
    assert interactive.content_variables(shape, "it") == {
        "1": "Cosa ti serve?", "2": "Nessuna nota", "3": "tok0"}


def test_three_short_choices_are_three_buttons_whose_ids_are_the_tokens():
    shape = interactive.shape_of(reply_with("✅ Confermo", "🔁 Cambia orario", "🗑️ Lascia stare"))
    assert shape.kind == "buttons"
    assert [(item.title, item.id) for item in shape.items] == [
        ("✅ Confermo", "tok0"), ("🔁 Cambia orario", "tok1"), ("🗑️ Lascia stare", "tok2")]
    assert interactive.content_variables(shape, "en") == {
        "1": "Cosa ti serve?", "2": "✅ Confermo", "3": "tok0", "4": "🔁 Cambia orario",
        "5": "tok1", "6": "🗑️ Lascia stare", "7": "tok2"}


def test_four_choices_are_a_list_with_the_button_label_of_the_language():
    shape = interactive.shape_of(reply_with("Lunedì", "Martedì", "Mercoledì", "🏠 Menu"))
    assert shape.kind == "list" and not shape.described
    assert [item.title for item in shape.items] == ["Lunedì", "Martedì", "Mercoledì", "🏠 Menu"]
    variables = interactive.content_variables(shape, "it")
    assert variables["1"] == "Cosa ti serve?" and variables["10"] == "Scegli"
    assert (variables["2"], variables["3"]) == ("Lunedì", "tok0")
    assert interactive.content_variables(shape, "en")["10"] == "Choose"


def test_a_button_title_too_long_makes_a_list_even_with_two_choices():
    shape = interactive.shape_of(reply_with("💬 Scrivi al lavoratore", "🏠 Menu"))
    assert shape.kind == "list"  # 22 characters: too long for a button, fine for an item


def test_ten_choices_are_a_list_and_eleven_are_numbered_text():
    ten = interactive.shape_of(reply_with(*[f"Opzione {n}" for n in range(1, 11)]))
    assert ten.kind == "list" and len(ten.items) == 10
    eleven = interactive.shape_of(reply_with(*[f"Opzione {n}" for n in range(1, 12)]))
    assert eleven.kind == "text" and eleven.items == ()
    assert eleven.body.startswith("Cosa ti serve?\n\n1. Opzione 1\n2. Opzione 2")
    assert "11. Opzione 11" in eleven.body and eleven.body.endswith("_")  # the hint


def test_a_long_service_label_is_cut_at_its_break_into_item_and_description():
    shape = interactive.shape_of(reply_with(
        "Accompagnamento a visite mediche · 90 min · 30,00 €", "Spesa · 60 min · 20,00 €",
        "⬅️ Indietro", "🏠 Menu"))
    assert shape.kind == "list" and shape.described
    first, second, back, _menu = shape.items
    assert (first.title, first.description) == ("Accompagnamento a…",
                                                "…visite mediche · 90 min · 30,00 €")
    assert (second.title, second.description) == ("Spesa · 60 min · 20,00 €", None)
    variables = interactive.content_variables(shape, "it")
    # title, id, description for each item, then the button: 1 + 4 × 3 + 1 values
    assert len(variables) == 14 and variables["4"] == "…visite mediche · 90 min · 30,00 €"
    assert variables["10"] == "\u200b" and back.title == "⬅️ Indietro"  # no empty variable


def test_a_label_with_a_short_head_is_cut_at_the_break():
    shape = interactive.shape_of(reply_with("Babysitting serale (dopo le 20, a domicilio)",
                                            "Altro"))
    item = shape.items[0]
    assert (item.title, item.description) == ("Babysitting serale", "(dopo le 20, a domicilio)")


def test_a_label_that_cannot_be_cut_makes_numbered_text():
    word = "Supercalifragilistichespiralidoso"  # one word longer than an item
    assert interactive.shape_of(reply_with(word, "Altro")).kind == "text"
    too_long = "Richiesta " + " ".join(["molto"] * 20)  # the rest overflows a description
    shape = interactive.shape_of(reply_with(too_long, "Altro"))
    assert shape.kind == "text" and "1. " + too_long in shape.body


def test_titles_must_differ():
    assert interactive.shape_of(reply_with("Sì", "sì")).kind == "text"


def test_a_body_too_long_for_one_interactive_message_goes_first_as_text():
    text = "\n\n".join(["Riepilogo " + "x" * 600, "Dettagli " + "y" * 600, "Confermi?"])
    shape = interactive.shape_of(reply_with("Sì", "No", text=text))
    assert shape.kind == "buttons"
    assert all(interactive.units(part) <= interactive.MAX_BODY
               for part in (*shape.lead, shape.body))
    assert "\n\n".join([*shape.lead, shape.body]) == text


@pytest.mark.parametrize(("fields", "payload"), [
    ({"ButtonPayload": "tok1", "ButtonText": "Confermo", "MessageType": "button"}, "tok1"),
    ({"ListId": "tok2", "ListTitle": "Martedì", "MessageType": "interactive"}, "tok2"),
    ({"ButtonPayload": "tok3", "ListId": "tok3", "MessageType": "interactive"}, "tok3"),
    ({"ListTitle": "Martedì", "MessageType": "interactive", "Body": ""}, None),
])
def test_a_tap_comes_back_as_the_choice_token_in_each_form(fields, payload):
    message = parse(inbound_form("+393331234567", fields.pop("Body", ""), **fields))
    assert message.payload == payload and not message.text_only_refused
    if payload is None:  # only the title: matched against the labels like typed words
        assert message.text == "Martedì"
