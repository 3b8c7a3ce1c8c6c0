"""notices in flight: a send whose outcome is not yet recorded is marked before it starts

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-02 01:15:00.000000

`in_flight_at` / `in_flight_chat_id`: the dispatcher marks a notice just before handing it
to a channel and clears the mark with the outcome. A mark found by the next claim means
the process stopped mid-send: the outcome is unknown, and the notice is checked (WhatsApp)
or re-sent at most once (Telegram) instead of blindly sent again. `unknown_outcomes`
counts those.
"""

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0009'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_flight_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('in_flight_chat_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('unknown_outcomes', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('unknown_outcomes')
        batch_op.drop_column('in_flight_chat_id')
        batch_op.drop_column('in_flight_at')
