"""compute_block_device_mappings: a server's volumes (attached, or asked for at boot)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'compute_block_device_mappings',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('source_type', sa.String(length=32), nullable=False),
        sa.Column('destination_type', sa.String(length=32), nullable=False),
        sa.Column('boot_index', sa.Integer(), nullable=True),
        sa.Column('device_name', sa.String(length=255), nullable=True),
        sa.Column('volume_id', sa.String(length=36), nullable=True),
        sa.Column('snapshot_id', sa.String(length=36), nullable=True),
        sa.Column('image_id', sa.String(length=36), nullable=True),
        sa.Column('volume_size', sa.Integer(), nullable=True),
        sa.Column('volume_type', sa.String(length=255), nullable=True),
        sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
        sa.Column('tag', sa.String(length=60), nullable=True),
        sa.Column('attachment_id', sa.String(length=36), nullable=True),
        sa.Column('connection_info', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_uuid'], ['compute_instances.uuid'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid'),
    )
    op.create_index('ix_compute_block_device_mappings_instance_uuid', 'compute_block_device_mappings',
                    ['instance_uuid'])
    op.create_index('ix_compute_block_device_mappings_volume_id', 'compute_block_device_mappings', ['volume_id'])


def downgrade() -> None:
    op.drop_index('ix_compute_block_device_mappings_volume_id', table_name='compute_block_device_mappings')
    op.drop_index('ix_compute_block_device_mappings_instance_uuid', table_name='compute_block_device_mappings')
    op.drop_table('compute_block_device_mappings')
