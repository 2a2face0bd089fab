"""object_ring_devices.operator_weight and .removed: the operator's ring changes (``onestack ring``)

An operator's weight wins over the weight the device's agent reports, and a removed device stays
out of the ring even when its agent reports it again.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('object_ring_devices') as batch:
        batch.add_column(sa.Column('operator_weight', sa.Float(), nullable=True))
        batch.add_column(sa.Column('removed', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('object_ring_devices') as batch:
        batch.drop_column('removed')
        batch.drop_column('operator_weight')
