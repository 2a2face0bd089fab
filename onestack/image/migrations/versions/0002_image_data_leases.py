"""image_data_leases: which process runs an upload, stage, import or copy

A crash mid-upload used to leave the image in saving/uploading/importing for good; with a
lease row (heartbeat, node, pid) start-up and the periodic pass tell a dead process's work
from a live one's and put it back (service/recovery.py).

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
    op.create_table('image_data_leases',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('node', sa.String(length=64), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_index(op.f('ix_image_data_leases_image_id'), 'image_data_leases', ['image_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_image_data_leases_image_id'), table_name='image_data_leases')
    op.drop_table('image_data_leases')
