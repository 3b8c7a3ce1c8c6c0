"""What the tests share, one job a module; tests and bench/ import from here, never from
one another's test modules nor from the conftest, which holds the fixtures
(tests/test_layout.py checks it).

- clock: Crema's time zone and the clock the tests move by hand
- catalogs: the catalogues the tests load (Crema's, the tiny test alliance)
- postgres: the tests' PostgreSQL server, and scratch databases on it
- chat: a person chatting with the dialogue (Chatter, enrolled, plain)
- people: people straight in the store, the tiny alliance's cast (team), the ids behind a
  chat and an organisation's code
- booking: requests booked in the store or through the dialogue, up to a job taken
- senders: a channel sender that records what it was given, and a dispatcher pass to it
- outbox: a notice read back
- surveys: a job done and surveyed
- figures: the coordinator's figures' data set (build) and its readings
- cli: the `intempo` command run as a process
- fake_telegram: a fake Bot API for real python-telegram-bot objects
- fake_twilio: a fake Twilio Messages and Content API served on loopback
- whatsapp: the WhatsApp channel driven through signed webhooks
- prism: Stoplight Prism serving Twilio's OpenAPI descriptions (fixtures)
- panel: the web console over HTTP, signed in through real links
- net: a free loopback port for a server the test starts
- qr: QR codes read back from a picture
"""
