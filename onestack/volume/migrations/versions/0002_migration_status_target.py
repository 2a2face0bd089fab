"""volume_volumes.migration_status holds Cinder's ``target:<volume id>`` (43 characters)

An attached volume's migration target row names the volume it stands in for
(service/migrate_attached.py); Cinder's column is String(255).

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
    with op.batch_alter_table('volume_volumes') as batch:
        batch.alter_column('migration_status', existing_type=sa.String(length=32), type_=sa.String(length=255),
                           existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('volume_volumes') as batch:
        batch.alter_column('migration_status', existing_type=sa.String(length=255), type_=sa.String(length=32),
                           existing_nullable=True)
