"""The message SID a Twilio webhook is about, checked for Twilio's form.

Twilio's signature joins the form's names and values with no separator, so a captured
signed request whose fields are split differently still verifies. A SID of exactly
Twilio's form (`SM` or `MM` and 32 hexadecimal digits) in every field that carries one
closes that door, and keeps anything else out of the database."""

import re
from collections.abc import Mapping

SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
SID_FIELDS = ("MessageSid", "SmsMessageSid", "SmsSid")


class BadSid(ValueError):
    """No SID, or one that is not of Twilio's form: answer 400."""


def message_sid(form: Mapping[str, str]) -> str:
    """The message's SID (MessageSid, else the older names), or BadSid."""
    given = [form.get(name) for name in SID_FIELDS if form.get(name)]
    if not given:
        raise BadSid("no MessageSid")
    if not all(isinstance(sid, str) and SID.fullmatch(sid) for sid in given):
        raise BadSid("a MessageSid not of Twilio's form")
    return given[0]
