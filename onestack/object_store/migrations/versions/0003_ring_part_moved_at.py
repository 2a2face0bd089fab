"""object_rings.part_moved_at: when each partition last moved, for ``min_part_hours``

The builder's per-partition state (Swift's ``_last_part_moves``): ``onestack ring rebalance`` moves
no replica of a partition again for balance within ``object_store.min_part_hours`` of its last
move. Rings written before this revision have none: every partition counts as movable.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('object_rings') as batch:
        batch.add_column(sa.Column('part_moved_at', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('object_rings') as batch:
        batch.drop_column('part_moved_at')
