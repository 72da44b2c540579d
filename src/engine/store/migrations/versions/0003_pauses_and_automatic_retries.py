"""pauses, automatic retries, shared rate budgets

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'rate_share',
        sa.Column('budget_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('budget_key', 'holder'),
    )

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_before', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('auto_retries', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_entity_retry_at'), ['retry_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('entity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entity_retry_at'))
        batch_op.drop_column('auto_retries')
        batch_op.drop_column('retry_at')

    with op.batch_alter_table('task', schema=None) as batch_op:
        batch_op.drop_column('not_before')

    op.drop_table('rate_share')
