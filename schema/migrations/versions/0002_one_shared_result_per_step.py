"""One shared result per room step: a unique index on shared_attempts (session_id, step_id).

The writer already skips a shared result that an uncertain commit wrote before a retry; the
index makes the database hold it too. Rows that break it (from before) are dropped first,
keeping each step's earliest result.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DELETE FROM shared_attempts WHERE EXISTS (
            SELECT 1 FROM shared_attempts AS earlier
            WHERE earlier.session_id = shared_attempts.session_id
              AND earlier.step_id = shared_attempts.step_id
              AND (earlier.created_at < shared_attempts.created_at
                   OR (earlier.created_at = shared_attempts.created_at
                       AND CAST(earlier.id AS TEXT) < CAST(shared_attempts.id AS TEXT)))
        )
        """
    )
    op.create_index(
        op.f("ix_shared_attempts_session_id_step_id"),
        "shared_attempts",
        ["session_id", "step_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shared_attempts_session_id_step_id"), table_name="shared_attempts")
