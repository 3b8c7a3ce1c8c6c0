"""programme management: the audit of staff changes, revocable enrolment codes, the
announcements of the territory's initiatives and each worker's opt-in to them

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02 01:20:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.base


revision = '0007'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('subject_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('change_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_event_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_event_subject'), ['subject'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_event_at'), ['at'], unique=False)

    op.create_table('announcement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=700), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('employer_ids', sa.JSON(), nullable=False),
    sa.Column('municipality_ids', sa.JSON(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('sent_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_announcement_sent_at'), ['sent_at'], unique=False)

    op.create_table('announcement_recipient',
    sa.Column('announcement_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['announcement_id'], ['announcement.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('announcement_id', 'person_id')
    )

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('news_opt_in', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('news_asked_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('news_changed_at', models.base.UTCDateTime(), nullable=True))

    with op.batch_alter_table('enrolmentcode', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_enrolmentcode_issued_by_id_person', 'person',
                                    ['issued_by_id'], ['id'])
        batch_op.create_foreign_key('fk_enrolmentcode_revoked_by_id_person', 'person',
                                    ['revoked_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('enrolmentcode', schema=None) as batch_op:
        batch_op.drop_constraint('fk_enrolmentcode_revoked_by_id_person', type_='foreignkey')
        batch_op.drop_constraint('fk_enrolmentcode_issued_by_id_person', type_='foreignkey')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('issued_by_id')

    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('news_changed_at')
        batch_op.drop_column('news_asked_at')
        batch_op.drop_column('news_opt_in')

    op.drop_table('announcement_recipient')
    with op.batch_alter_table('announcement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_announcement_sent_at'))
    op.drop_table('announcement')
    with op.batch_alter_table('change_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_event_at'))
        batch_op.drop_index(batch_op.f('ix_change_event_subject'))
        batch_op.drop_index(batch_op.f('ix_change_event_actor_id'))
    op.drop_table('change_event')
