"""Coach links: which coaches a learner lets read their attempts and replays.

One row per (learner, coach), made and ended by the learner; both sides go with their user
(ON DELETE CASCADE). The primary key serves a learner's coaches, the index on coach_id a
coach's learners.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the models' timestamp type (a migration never imports the models).
TIMESTAMPTZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "coach_links",
        sa.Column("learner_id", sa.Uuid(), nullable=False),
        sa.Column("coach_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("learner_id <> coach_id", name=op.f("ck_coach_links_not_self")),
        sa.ForeignKeyConstraint(
            ["coach_id"],
            ["users.id"],
            name=op.f("fk_coach_links_coach_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["learner_id"],
            ["users.id"],
            name=op.f("fk_coach_links_learner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("learner_id", "coach_id", name=op.f("pk_coach_links")),
    )
    op.create_index(op.f("ix_coach_links_coach_id"), "coach_links", ["coach_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_coach_links_coach_id"), table_name="coach_links")
    op.drop_table("coach_links")
