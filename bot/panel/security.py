"""The console's web security: the session cookie, CSRF tokens, the client's address for
counting failed sign-ins, and the headers every page carries."""

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

from bot.settings import Settings
from models.panel import SessionRules

SESSION_COOKIE = "intempo_panel"
SIGNIN_COOKIE = "intempo_panel_signin"  # binds the sign-in form to this browser
COOKIE_PATH = "/pannello"
# no script at all, nothing from elsewhere, never in a frame, no Referer (a sign-in URL
# carries its token), nothing kept in a shared cache
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def rules_of(settings: Settings) -> SessionRules:
    return SessionRules(link_minutes=settings.panel_link_minutes,
                        idle_minutes=settings.panel_idle_minutes,
                        absolute_hours=settings.panel_session_hours)


def secure_cookies(settings: Settings) -> bool:
    return (settings.public_base_url or "").lower().startswith("https://")


def set_cookie(response: Response, name: str, value: str, settings: Settings,
               max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="lax", secure=secure_cookies(settings))


def clear_cookie(response: Response, name: str, settings: Settings) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="lax",
                           secure=secure_cookies(settings))


def new_form_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(expected: str | None, given: object) -> bool:
    """Constant-time comparison; a missing or non-text value never matches."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def client_address(request: Request) -> str:
    """The address failed sign-ins are counted against (uvicorn puts the proxy's
    X-Forwarded-For here when the proxy is trusted: --forwarded-allow-ips)."""
    return request.client.host if request.client else "unknown"


def harden(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
