"""The ASGI web app (Starlette): the health check, the channels' webhooks, and the web
console at /pannello (bot/panel)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot import panel
from bot.health import install as install_operations
from bot.runtime import Runtime
from models.migrate import NotMigrated, require_migrated

log = logging.getLogger(__name__)
BackgroundJob = Callable[[Runtime], Awaitable[None]]


async def health(request: Request) -> JSONResponse:
    """200 when the database answers and is migrated; 503 otherwise."""
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        await require_migrated(runtime.engine)
    except NotMigrated as problem:
        return JSONResponse({"status": "unmigrated", "detail": str(problem)}, status_code=503)
    except Exception as problem:  # the point of a health check is to say so, not to crash
        log.warning("health check failed: %s", problem)
        return JSONResponse({"status": "down", "detail": type(problem).__name__},
                            status_code=503)
    return JSONResponse({"status": "ok"})


def create_app(runtime: Runtime, background: list[BackgroundJob] | None = None) -> Starlette:
    """The web app with every installed channel's routes; `background` jobs (dispatcher,
    poller, clock) run for its lifetime, after the channels' start-up hooks."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for hook in runtime.web_startup:
            await hook(runtime)
        tasks = [asyncio.create_task(job(runtime)) for job in background or []]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await runtime.close()

    app = Starlette(routes=[Route("/health", health), *runtime.routes, panel.mount()],
                    lifespan=lifespan)
    app.state.runtime = runtime
    install_operations(app, runtime)  # /health/ready, /metrics, request timing
    return app
