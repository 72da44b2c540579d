"""rate budget holders say whether they are in use

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rate_share', schema=None) as batch_op:
        batch_op.add_column(sa.Column('busy', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('rate_share', schema=None) as batch_op:
        batch_op.drop_column('busy')
