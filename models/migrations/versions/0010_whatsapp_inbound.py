"""whatsapp inbound: messages stored by the webhook, answered by the turn runner

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-02 01:20:00.000000

The WhatsApp webhook stores each message and acknowledges it at once; the turn runs right
after, in order per chat, and its replies go out through the REST API. A row claimed by a
process that died is taken again when its lease runs out (models/whatsapp_inbox.py).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base

revision = '0010'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'whatsapp_inbound',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('message', sa.JSON(), nullable=False),
        sa.Column('received_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('claimed_until', models.base.UTCDateTime(), nullable=True),
        sa.Column('handled_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('replies', sa.JSON(), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('done_at', models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_sid'),
    )
    op.create_index('ix_whatsapp_inbound_waiting', 'whatsapp_inbound',
                    ['done_at', 'phone', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_whatsapp_inbound_waiting', table_name='whatsapp_inbound')
    op.drop_table('whatsapp_inbound')
