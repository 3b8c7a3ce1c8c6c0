"""web console: sign-in links, sessions and failed attempts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:00:00.000000

The «pannello» (bot/panel/): a person signs in with a single-use link from the chat
(panel_link, only the token's hash kept), stays signed in with a server-side session
(panel_session), and failed link attempts are counted per address (panel_attempt).
The audit of console actions is change_event (0007). The new role "contact" needs no
change: person.role is a string.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel

from models.base import UTCDateTime


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'panel_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_panel_link_person_id', 'panel_link', ['person_id'])
    op.create_table(
        'panel_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_panel_session_person_id', 'panel_session', ['person_id'])
    op.create_table(
        'panel_attempt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_panel_attempt_address_at', 'panel_attempt', ['address', 'at'])


def downgrade() -> None:
    op.drop_table('panel_attempt')
    op.drop_table('panel_session')
    op.drop_table('panel_link')
