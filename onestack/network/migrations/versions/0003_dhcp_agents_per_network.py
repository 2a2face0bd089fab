"""network_dhcp_agent_bindings (several DHCP agents per network) and network_dhcp_manual; the
one-row-per-network network_dhcp_bindings goes (its agents become bindings, its unhosted rows
manual marks)

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
    op.create_table('network_dhcp_agent_bindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['network_agents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', 'agent_id')
    )
    with op.batch_alter_table('network_dhcp_agent_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_dhcp_agent_bindings_agent_id'), ['agent_id'], unique=False)
    op.create_table('network_dhcp_manual',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id')
    )
    op.execute("INSERT INTO network_dhcp_agent_bindings (network_id, agent_id) "
               "SELECT network_id, agent_id FROM network_dhcp_bindings WHERE agent_id IS NOT NULL")
    op.execute("INSERT INTO network_dhcp_manual (network_id) "
               "SELECT network_id FROM network_dhcp_bindings WHERE agent_id IS NULL")
    op.drop_table('network_dhcp_bindings')


def downgrade() -> None:
    op.create_table('network_dhcp_bindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['network_agents.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id')
    )
    with op.batch_alter_table('network_dhcp_bindings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_dhcp_bindings_agent_id'), ['agent_id'], unique=False)
    op.drop_table('network_dhcp_manual')
    op.drop_table('network_dhcp_agent_bindings')
