"""The Twilio REST client, on Twilio's asynchronous HTTP client (aiohttp), so sending does
not block the event loop.

TWILIO_API_BASE_URL points the client at another server speaking Twilio's REST API (a
local mock for tests and demos, e.g. http://127.0.0.1:4010): the twilio library builds
every URL from its domain's `base_url` — `api` (https://api.twilio.com) for Messages,
`content` (https://content.twilio.com) for the Content templates — so replacing both moves
every request the channel makes, paths and authentication unchanged (their paths do not
collide: /2010-04-01/… and /v1/Content…).
Edge and region (TWILIO_EDGE / TWILIO_REGION), which would rewrite the host, are then
switched off."""

import json

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

TIMEOUT_SECONDS = 15.0
DOMAINS = ("api", "content")  # every Twilio domain the channel calls


class JsonAwareHttpClient(AsyncTwilioHttpClient):
    """The library's aiohttp client, sending a JSON body as JSON: the Content API's create
    says `Content-Type: application/json`, but the async client (twilio 9.13) hands the
    dict to aiohttp as a form. The library's nulls for fields not set (other content
    types, an item without description) are left out, as Twilio's description has them
    optional, not nullable."""

    async def request(self, method: str, url: str, params=None, data=None, headers=None,
                      **rest) -> Response:  # rest: auth, timeout, allow_redirects
        if isinstance(data, dict) and headers and \
                headers.get("Content-Type") == "application/json":
            data = json.dumps(_without_nulls(data), ensure_ascii=False)
        return await super().request(method, url, params=params, data=data, headers=headers,
                                     **rest)


def _without_nulls(value):
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def make_client(account_sid: str, auth_token: str, api_base_url: str | None = None,
                timeout: float = TIMEOUT_SECONDS) -> Client:
    """A client for one account. Create it inside the running event loop (aiohttp binds
    its connection pool to the loop) and close it with `close_client`."""
    client = Client(account_sid, auth_token,
                    http_client=JsonAwareHttpClient(timeout=timeout))
    if api_base_url:
        for domain in DOMAINS:
            getattr(client, domain).base_url = api_base_url.rstrip("/")
        client.edge = client.region = None
    return client


async def close_client(client: Client) -> None:
    await client.http_client.close()
