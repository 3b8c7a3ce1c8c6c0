"""The WhatsApp templates: approved Content SIDs (HX…) used when a notice must reach
someone outside WhatsApp's 24-hour customer-service window.

Each variable is `TWILIO_TEMPLATE_<KIND>`: the notice kind in capitals, dots and dashes
as underscores (`coordinator.unserved` → `TWILIO_TEMPLATE_COORDINATOR_UNSERVED`).
`TWILIO_TEMPLATE_DEFAULT`, if set, serves every kind without a template of its own. A
kind with neither is not sent outside the window: the notice goes to the person's other
chat or waits until they write again. Every template takes the notice's text as {{1}}."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CONTENT_SID = r"^HX[0-9a-fA-F]{32}$"
# kinds Meta counts as marketing: only a template of their own, never the default one
OWN_TEMPLATE_ONLY = frozenset({"worker.announcement"})


def _template() -> str | None:
    return Field(default=None, pattern=CONTENT_SID)


class WhatsAppSettings(BaseSettings):
    """Content SIDs of the approved templates, by notice kind (all optional)."""

    model_config = SettingsConfigDict(env_prefix="TWILIO_TEMPLATE_", env_file=".env",
                                      env_file_encoding="utf-8", extra="ignore")

    default: str | None = _template()
    # queued today
    coordinator_unserved: str | None = _template()
    # proposed for the notices the next issues add (see docs/whatsapp.md); a new kind
    # needs one line here
    operator_new_offer: str | None = _template()
    worker_assigned: str | None = _template()
    worker_reminder: str | None = _template()
    worker_survey: str | None = _template()
    coordinator_digest: str | None = _template()
    # announcements (marketing category): never sent with the default template
    worker_announcement: str | None = _template()
    worker_news_invite: str | None = _template()

    def content_sid(self, kind: str) -> str | None:
        """The template for a notice kind, else the default one, else None."""
        field = kind.replace(".", "_").replace("-", "_").lower()
        own = getattr(self, field, None) if field in type(self).model_fields else None
        return own if kind in OWN_TEMPLATE_ONLY else own or self.default
