"""instances.task_lease and migrations.conductor_token: which conductor works on a request

Several conductors may run at once and a cast may arrive twice; conductor/leases.py takes
these with conditional UPDATEs so a boot request, an unshelve or a move is handled once.

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
    with op.batch_alter_table('compute_migrations') as batch:
        batch.add_column(sa.Column('conductor_token', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('compute_migrations') as batch:
        batch.drop_column('conductor_token')
    with op.batch_alter_table('compute_instances') as batch:
        batch.drop_column('task_lease')
