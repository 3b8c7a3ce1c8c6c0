"""The fake Bot API (fake_telegram.FakeBotApi's answers) served over HTTP on loopback, for
a real `intempo serve` child process (TELEGRAM_API_BASE_URL): it polls getUpdates here
and sends here. Each sendMessage is held `delay` seconds before its answer, so a process
stopped at that moment leaves a send whose outcome it never learnt."""

import asyncio
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.fake_telegram import FakeBotApi


class FakeBotServer:
    def __init__(self, delay: float = 0.0):
        self.api = FakeBotApi(poll_wait=0.5)
        self.delay = delay
        self.sent: list[dict] = []  # every sendMessage received, answered or not
        self.answering = 0  # sendMessage calls received whose answer has not gone back

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self._call,
                                       methods=["GET", "POST"])])

    async def _call(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = dict(await request.form()) if request.method == "POST" else {}
        if method == "sendMessage":
            self.sent.append(params)
            self.answering += 1
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.answering -= 1
        if "reply_markup" in params and isinstance(params["reply_markup"], str):
            params["reply_markup"] = json.loads(params["reply_markup"])
        if str(params.get("chat_id", "")).lstrip("-").isdigit():
            params["chat_id"] = int(params["chat_id"])
        result = await self.api._answer(method, params)
        return JSONResponse({"ok": True, "result": result})
