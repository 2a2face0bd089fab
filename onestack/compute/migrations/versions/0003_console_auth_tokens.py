"""compute_console_auth_tokens: the noVNC proxy looks a console token up by its hash

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
    op.create_table(
        'compute_console_auth_tokens',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('console_type', sa.String(length=32), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('port', sa.Integer(), nullable=False),
        sa.Column('internal_access_path', sa.String(length=255), nullable=True),
        sa.Column('expires', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    op.create_index('ix_compute_console_auth_tokens_instance_uuid', 'compute_console_auth_tokens',
                    ['instance_uuid'])
    op.create_index('ix_compute_console_auth_tokens_expires', 'compute_console_auth_tokens', ['expires'])


def downgrade() -> None:
    op.drop_index('ix_compute_console_auth_tokens_expires', table_name='compute_console_auth_tokens')
    op.drop_index('ix_compute_console_auth_tokens_instance_uuid', table_name='compute_console_auth_tokens')
    op.drop_table('compute_console_auth_tokens')
