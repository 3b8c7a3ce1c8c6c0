"""replies kept with their turn: an update's replies are stored in the transaction that
records it, and marked when delivered

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 05:00:00.000000

`processed_update` gains the chat the update came from, the replies its turn gave (JSON:
text, choices, hint, file as an attachment id), when they were delivered, and a lease
for whoever is delivering them. A turn's replies commit with its effect, so a crash
between the commit and the sending loses nothing: the redelivered update gets them, and
the dispatcher sends those whose fast path never completed.
"""

import sqlalchemy as sa
from alembic import op

import models.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('replies', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('delivered_at', models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('claimed_until', models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.create_index('ix_processed_update_delivered_at', ['delivered_at'])
    # what was handled before this revision had its replies sent (or lost) already
    op.execute("UPDATE processed_update SET delivered_at = at")


def downgrade() -> None:
    with op.batch_alter_table('processed_update', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_update_delivered_at')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('replies')
        batch_op.drop_column('chat')
