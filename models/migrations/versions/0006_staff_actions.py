"""staff actions: a complaint is marked handled, by whom, with a note

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-02 01:00:00.000000

The coordinator (in the chat, or on the panel) closes a worker's complaint with a note the
worker is told (models/staff_actions.py). The other staff actions need no new column: they
move the request's status and record a RequestEvent like every other change.
"""

import sqlalchemy as sa
import sqlmodel

import models.base
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complaint_handled_at', models.base.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('complaint_handled_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('complaint_note',
                                      sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=True))
        batch_op.create_foreign_key('fk_service_request_complaint_handled_by_person',
                                    'person', ['complaint_handled_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_constraint('fk_service_request_complaint_handled_by_person',
                                 type_='foreignkey')
        batch_op.drop_column('complaint_note')
        batch_op.drop_column('complaint_handled_by')
        batch_op.drop_column('complaint_handled_at')
