"""Join the five migrations this round's parallel work added on top of 0004 (the web
console, the staff's actions, the programme's management, notices in flight, WhatsApp's
stored inbound messages): they touch different tables, so their order does not matter.

Revision ID: 0011
Revises: 0005, 0006, 0007, 0009, 0010
"""

revision = '0011'
down_revision = ('0005', '0006', '0007', '0009', '0010')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
