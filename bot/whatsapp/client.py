"""The Twilio REST client, on Twilio's asynchronous HTTP client (aiohttp), so sending does
not block the event loop.

TWILIO_API_BASE_URL points the client at another server speaking Twilio's REST API (a
local mock for tests and demos, e.g. http://127.0.0.1:4010): the twilio library builds
every Messages URL from its `api` domain's `base_url` (https://api.twilio.com by default),
so replacing that one attribute moves every request, path and authentication unchanged.
Edge and region (TWILIO_EDGE / TWILIO_REGION), which would rewrite the host, are then
switched off."""

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

TIMEOUT_SECONDS = 15.0


def make_client(account_sid: str, auth_token: str, api_base_url: str | None = None,
                timeout: float = TIMEOUT_SECONDS) -> Client:
    """A client for one account. Create it inside the running event loop (aiohttp binds
    its connection pool to the loop) and close it with `close_client`."""
    client = Client(account_sid, auth_token,
                    http_client=AsyncTwilioHttpClient(timeout=timeout))
    if api_base_url:
        client.api.base_url = api_base_url.rstrip("/")
        client.edge = client.region = None
    return client


async def close_client(client: Client) -> None:
    await client.http_client.close()
