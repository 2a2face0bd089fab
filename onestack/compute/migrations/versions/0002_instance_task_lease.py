"""instances.task_lease: which conductor attempt works on a pending task

Several conductors may run at once; conductor/leases.py takes this lease with a conditional
UPDATE so a boot request or unshelve is scheduled exactly once.

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
    with op.batch_alter_table('compute_instances') as batch:
        batch.add_column(sa.Column('task_lease', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compute_instances') as batch:
        batch.drop_column('task_lease')
