"""Outcomes in the steps of their financing type, with the SME's verdict on the institution's figures.

credit_granted_yuan / disbursed_yuan become agreed_amount_yuan / funded_amount_yuan (授信 / 放款 for a loan,
签署投资协议 / 资金到位 for equity, 出单 保额 for insurance, 出具担保函 for a guarantee); premium_yuan (保费) is new.
Each row takes the financing type of its meeting's need, else its product, else loan. Moving the rows:
insurance and guarantee have no funded step, so their figure moves to `agreed` when none was given; a funded
figure above the agreed one (which the old code saved with a warning) raises `agreed` to it, the least the credit
line must have been. Existing SME rows carry no verdict: their figures stay unconfirmed until the SME answers.

Revision ID: 7c4e2a91d5b3
Revises: b7e41c2a9d15
Create Date: 2026-12-02 06:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '7c4e2a91d5b3'
down_revision = 'b7e41c2a9d15'
branch_labels = None
depends_on = None

NEW_CHECKS = {
    "financing_type_known": "financing_type IN ('equity', 'loan', 'insurance', 'guarantee')",
    "agreed_not_negative": "agreed_amount_yuan IS NULL OR agreed_amount_yuan >= 0",
    "funded_not_negative": "funded_amount_yuan IS NULL OR funded_amount_yuan >= 0",
    "premium_not_negative": "premium_yuan IS NULL OR premium_yuan >= 0",
    "funded_within_agreed": "funded_amount_yuan IS NULL OR funded_amount_yuan = 0 OR "
                            "funded_amount_yuan <= agreed_amount_yuan",
    "premium_within_cover": "premium_yuan IS NULL OR premium_yuan = 0 OR premium_yuan <= agreed_amount_yuan",
    "funded_only_loan_equity": "funded_amount_yuan IS NULL OR financing_type IN ('loan', 'equity')",
    "premium_only_insurance": "premium_yuan IS NULL OR financing_type = 'insurance'",
    "verdict_by_enterprise": "verdict IS NULL OR (side = 'enterprise' AND verdict IN ('confirmed', 'disputed'))",
    "dispute_has_reason": "verdict IS NULL OR verdict <> 'disputed' OR dispute_reason <> ''",
}
KEPT_CHECKS = {
    "side_known": "side IN ('enterprise', 'institution')",
    "intent_not_negative": "intent_amount_yuan IS NULL OR intent_amount_yuan >= 0",
}
OLD_CHECKS = {
    "credit_not_negative": "credit_granted_yuan IS NULL OR credit_granted_yuan >= 0",
    "disbursed_not_negative": "disbursed_yuan IS NULL OR disbursed_yuan >= 0",
}


def upgrade():
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('financing_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('agreed_amount_yuan', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('funded_amount_yuan', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('premium_yuan', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('verdict', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('dispute_reason', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('verdict_at', sa.DateTime(), nullable=True))

    op.execute("""
        UPDATE outcomes SET financing_type = COALESCE(
            (SELECT financing_needs.type FROM meetings JOIN financing_needs ON financing_needs.id = meetings.need_id
              WHERE meetings.id = outcomes.meeting_id),
            (SELECT products.type FROM meetings JOIN products ON products.id = meetings.product_id
              WHERE meetings.id = outcomes.meeting_id),
            'loan')""")
    op.execute("""
        UPDATE outcomes SET agreed_amount_yuan = credit_granted_yuan, funded_amount_yuan = disbursed_yuan
         WHERE financing_type IN ('loan', 'equity')""")
    op.execute("""
        UPDATE outcomes SET agreed_amount_yuan = COALESCE(credit_granted_yuan, disbursed_yuan)
         WHERE financing_type IN ('insurance', 'guarantee')""")
    op.execute("""
        UPDATE outcomes SET agreed_amount_yuan = funded_amount_yuan
         WHERE funded_amount_yuan > 0 AND (agreed_amount_yuan IS NULL OR funded_amount_yuan > agreed_amount_yuan)""")

    with op.batch_alter_table('outcomes', schema=None, recreate='always') as batch_op:
        for name in OLD_CHECKS:
            batch_op.drop_constraint(op.f(f'ck_outcomes_{name}'), type_='check')
        batch_op.drop_column('credit_granted_yuan')
        batch_op.drop_column('disbursed_yuan')
        batch_op.alter_column('financing_type', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('dispute_reason', existing_type=sa.String(length=500), server_default=None)
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        for name, condition in NEW_CHECKS.items():
            batch_op.create_check_constraint(op.f(f'ck_outcomes_{name}'), condition)
    _ensure_checks(KEPT_CHECKS)


def _ensure_checks(checks: dict) -> None:
    """Re-create the kept CHECKs should a batch copy have lost them (older SQLite reflection)."""
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_check_constraints("outcomes")}
    missing = {name: condition for name, condition in checks.items() if f"ck_outcomes_{name}" not in present}
    if missing:
        with op.batch_alter_table('outcomes', schema=None) as batch_op:
            for name, condition in missing.items():
                batch_op.create_check_constraint(op.f(f'ck_outcomes_{name}'), condition)


def downgrade():
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_granted_yuan', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('disbursed_yuan', sa.BigInteger(), nullable=True))
    op.execute("UPDATE outcomes SET credit_granted_yuan = agreed_amount_yuan, disbursed_yuan = funded_amount_yuan")
    with op.batch_alter_table('outcomes', schema=None, recreate='always') as batch_op:
        for name in NEW_CHECKS:
            batch_op.drop_constraint(op.f(f'ck_outcomes_{name}'), type_='check')
        for column in ('verdict_at', 'dispute_reason', 'verdict', 'premium_yuan', 'funded_amount_yuan',
                       'agreed_amount_yuan', 'financing_type'):
            batch_op.drop_column(column)
    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        for name, condition in OLD_CHECKS.items():
            batch_op.create_check_constraint(op.f(f'ck_outcomes_{name}'), condition)
    _ensure_checks(KEPT_CHECKS)
