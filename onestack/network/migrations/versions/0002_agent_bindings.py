"""network_dhcp_bindings and network_router_l3_bindings: the agent scheduler extensions' placements

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
    op.create_table('network_dhcp_bindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['network_agents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id')
    )
    with op.batch_alter_table('network_dhcp_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_dhcp_bindings_agent_id'), ['agent_id'], unique=False)
    op.create_table('network_router_l3_bindings',
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['network_agents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['network_routers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('router_id')
    )
    with op.batch_alter_table('network_router_l3_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_router_l3_bindings_agent_id'), ['agent_id'], unique=False)


def downgrade() -> None:
    op.drop_table('network_router_l3_bindings')
    op.drop_table('network_dhcp_bindings')
