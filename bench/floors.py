"""The two floors bench/telegram_throughput.py compares the product's full path with, on the
same database and the same fake Bot API transport:

- a python-telegram-bot `ConversationHandler` bot whose every update moves its chat to
  the next state and writes that state to the database (an upsert in its own
  transaction) before replying: what "a bot that keeps its conversation in the database"
  costs with PTB's own machinery and SQLAlchemy Core;
- the minimal hand-written transaction a turn cannot do without: read a chat's row,
  update it, insert a dedupe row — no Telegram, no dialogue.
"""

import asyncio
import time

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select, update
from telegram import Update
from telegram.ext import ApplicationBuilder, ConversationHandler, MessageHandler, filters

from models.db import make_engine, upsert_insert
from tests.support.fake_telegram import TOKEN, FakeBotApi

FLOOR_TABLES = MetaData()
CONVERSATION_STATE = Table("bench_ptb_conversation", FLOOR_TABLES,
                           Column("chat_id", BigInteger, primary_key=True),
                           Column("state", Integer, nullable=False))
CHAT_ROW = Table("bench_chat", FLOOR_TABLES, Column("id", BigInteger, primary_key=True),
                 Column("turns", Integer, nullable=False))
DEDUPE_ROW = Table("bench_dedupe", FLOOR_TABLES, Column("key", String(64), primary_key=True))


class Floors:
    """Both floors on their own engine to the product's database (so they share its file
    or server, not its connection pool)."""

    def __init__(self, url: str, states: int):
        self.engine = make_engine(url)
        self.states = states
        self.application = self.api = None

    async def start(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(FLOOR_TABLES.create_all)
        self.api = FakeBotApi(record=False)
        self.application = (ApplicationBuilder().token(TOKEN).request(self.api)
                            .get_updates_request(self.api).updater(None).build())
        step = MessageHandler(filters.TEXT, self._step)
        self.application.add_handler(ConversationHandler(
            entry_points=[step], states={state: [step] for state in range(self.states)},
            fallbacks=[]))
        await self.application.initialize()
        await self.application.start()

    async def stop(self) -> None:
        await self.application.stop()
        await self.application.shutdown()
        await self.engine.dispose()

    async def _step(self, update: Update, context) -> int:
        """The conversation bot's one handler: next state, persisted, then the reply."""
        chat_id = update.effective_chat.id
        state = (context.chat_data.get("state", -1) + 1) % self.states
        context.chat_data["state"] = state
        insert = upsert_insert(self.engine.dialect.name)
        upsert = insert(CONVERSATION_STATE).values(chat_id=chat_id, state=state)
        async with self.engine.begin() as connection:
            await connection.execute(upsert.on_conflict_do_update(
                index_elements=["chat_id"], set_={"state": state}))
        await update.message.reply_text(f"step {state}")
        return state

    async def minimal_transactions(self, workers: int, turns: int) -> float:
        """Turns per second of the minimal transaction, `workers` chats at once, each
        chat's turns in order."""
        async with self.engine.begin() as connection:
            await connection.execute(DEDUPE_ROW.delete())
            await connection.execute(CHAT_ROW.delete())
            await connection.execute(CHAT_ROW.insert(), [{"id": chat, "turns": 0}
                                                         for chat in range(workers)])

        async def chat(number: int) -> None:
            for turn in range(turns):
                async with self.engine.begin() as connection:
                    done = (await connection.execute(select(CHAT_ROW.c.turns).where(
                        CHAT_ROW.c.id == number))).scalar_one()
                    await connection.execute(update(CHAT_ROW).where(CHAT_ROW.c.id == number)
                                             .values(turns=done + 1))
                    await connection.execute(DEDUPE_ROW.insert().values(
                        key=f"{number}:{turn}"))

        started = time.perf_counter()
        await asyncio.gather(*(chat(number) for number in range(workers)))
        return workers * turns / (time.perf_counter() - started)
