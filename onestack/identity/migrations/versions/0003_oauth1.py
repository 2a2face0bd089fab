"""OS-OAUTH1: consumers, request tokens and access tokens

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
        'consumer',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'request_token',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('request_secret', sa.String(length=64), nullable=False),
        sa.Column('verifier', sa.String(length=64), nullable=True),
        sa.Column('authorizing_user_id', sa.String(length=64), nullable=True),
        sa.Column('requested_project_id', sa.String(length=64), nullable=False),
        sa.Column('role_ids', sa.JSON(), nullable=True),
        sa.Column('consumer_id', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['consumer_id'], ['consumer.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_request_token_consumer_id', 'request_token', ['consumer_id'])
    op.create_table(
        'access_token',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('access_secret', sa.String(length=64), nullable=False),
        sa.Column('authorizing_user_id', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('role_ids', sa.JSON(), nullable=False),
        sa.Column('consumer_id', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['consumer_id'], ['consumer.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_access_token_authorizing_user_id', 'access_token', ['authorizing_user_id'])
    op.create_index('ix_access_token_consumer_id', 'access_token', ['consumer_id'])


def downgrade() -> None:
    op.drop_table('access_token')
    op.drop_table('request_token')
    op.drop_table('consumer')
