"""Links to stored files (the digest's chart, a CSV, a person's own data) for channels
that cannot carry the file itself: GET /files/{id}?exp=…&sig=… serves it while the HMAC
signature (SIGNING_SECRET) is valid and the expiry has not passed."""

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from handlers.types import Reply
from handlers.untrusted import as_number
from models.db import transaction
from models.tables import Attachment

LINK_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class FileLinks:
    secret: bytes
    base_url: str

    def signature(self, file_id: int, expires: int) -> str:
        message = f"{file_id}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def url(self, file_id: int, now: datetime) -> str:
        expires = int((now + LINK_LIFETIME).timestamp())
        return (f"{self.base_url.rstrip('/')}/files/{file_id}"
                f"?exp={expires}&sig={self.signature(file_id, expires)}")

    def valid(self, file_id: int, expires: str, signature: str, now: datetime) -> bool:
        deadline = as_number(expires)
        if deadline is None or deadline < now.timestamp():
            return False
        # as bytes: compare_digest raises on a str with non-ASCII characters
        return hmac.compare_digest(self.signature(file_id, deadline).encode(),
                                   signature.encode())


def file_link(reply: Reply, links: FileLinks | None, now: datetime) -> str | None:
    """'📎 <signed URL>' for the reply's stored file, if it has one and links are set up."""
    if reply.file is None or reply.file.id is None or links is None:
        return None
    return f"📎 {links.url(reply.file.id, now)}"


def with_file_link(reply: Reply, links: FileLinks | None, now: datetime) -> Reply:
    """The reply with a link to its file appended (when it has a stored file)."""
    link = file_link(reply, links, now)
    return reply if link is None else replace(reply, text=f"{reply.text}\n\n{link}")


def files_route(runtime, links: FileLinks) -> Route:
    async def serve_file(request: Request) -> Response:
        raw_id = request.path_params["file_id"]
        query = request.query_params
        file_id = as_number(raw_id, max_digits=12)
        if file_id is None or not links.valid(file_id, query.get("exp", ""),
                                              query.get("sig", ""), runtime.clock()):
            return PlainTextResponse("forbidden", status_code=403)
        async with transaction(runtime.sessions) as session:
            stored = await session.get(Attachment, file_id)
        if stored is None:
            return PlainTextResponse("not found", status_code=404)
        disposition = "inline" if stored.content_type.startswith("image/") else "attachment"
        return Response(stored.data, media_type=stored.content_type, headers={
            "Content-Disposition": f'{disposition}; filename="{stored.filename}"',
            "Cache-Control": "private, no-store"})

    return Route("/files/{file_id}", serve_file, methods=["GET"])


def install(runtime) -> None:
    """Serve signed links when both SIGNING_SECRET and PUBLIC_BASE_URL are set."""
    settings = runtime.settings
    if settings.signing_secret is None or not settings.public_base_url:
        return
    runtime.file_links = FileLinks(settings.signing_secret.get_secret_value().encode(),
                                   settings.public_base_url)
    runtime.routes.append(files_route(runtime, runtime.file_links))
