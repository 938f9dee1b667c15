"""The initial schema: every table of the seed data model.

Written from the models (schema/models.py) and checked by hand; tests/schema/test_migrations.py
compares a migrated database with the models on Postgres and SQLite and must find no difference.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the models' portable types (a migration never imports the models).
TIMESTAMPTZ = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIGINT_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "courses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("deleted_at", TIMESTAMPTZ, nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_courses_status_enum")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("slug", name=op.f("uq_courses_slug")),
    )
    op.create_index(op.f("ix_courses_status"), "courses", ["status"])

    op.create_table(
        "device_capabilities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pressure", sa.Boolean(), nullable=False),
        sa.Column("tilt", sa.Boolean(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("max_rate_hz", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('stylus', 'touch', 'mouse')", name=op.f("ck_device_capabilities_kind_enum")
        ),
        sa.CheckConstraint(
            "max_rate_hz IS NULL OR max_rate_hz > 0",
            name=op.f("ck_device_capabilities_max_rate_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_capabilities")),
        sa.UniqueConstraint("key", name=op.f("uq_device_capabilities_key")),
    )
    op.create_table(
        "media_assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("uri", sa.String(length=500), nullable=False),
        sa.Column("checksum", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "type IN ('image', 'svg', 'video', 'animation')", name=op.f("ck_media_assets_type_enum")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_media_assets_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_assets")),
        sa.UniqueConstraint("uri", name=op.f("uq_media_assets_uri")),
    )
    op.create_table(
        "skill_tags",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_tags")),
        sa.UniqueConstraint("slug", name=op.f("uq_skill_tags_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("locale", sa.String(length=35), server_default="en", nullable=False),
        sa.Column("role", sa.String(length=16), server_default="player", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_active_at", TIMESTAMPTZ, nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("role IN ('player', 'coach', 'admin')", name=op.f("ck_users_role_enum")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "lessons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("difficulty", sa.SmallInteger(), nullable=False),
        sa.Column("est_duration_s", sa.Integer(), nullable=False),
        sa.Column("steps_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_free", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("canvas_width", sa.Integer(), nullable=False),
        sa.Column("canvas_height", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("deleted_at", TIMESTAMPTZ, nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_lessons_status_enum")
        ),
        sa.CheckConstraint(
            "canvas_width > 0 AND canvas_height > 0", name=op.f("ck_lessons_canvas_positive")
        ),
        sa.CheckConstraint(
            "difficulty >= 1 AND difficulty <= 5", name=op.f("ck_lessons_difficulty_range")
        ),
        sa.CheckConstraint("est_duration_s >= 0", name=op.f("ck_lessons_est_duration_nonnegative")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_lessons_course_id_courses"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
        sa.UniqueConstraint("slug", name=op.f("uq_lessons_slug")),
    )
    op.create_index(op.f("ix_lessons_course_id_position"), "lessons", ["course_id", "position"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("plan", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("period_start", TIMESTAMPTZ, nullable=False),
        sa.Column("period_end", TIMESTAMPTZ, nullable=False),
        sa.Column("trial_end", TIMESTAMPTZ, nullable=True),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column(
            "cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'trialing', 'past_due', 'canceled')",
            name=op.f("ck_subscriptions_status_enum"),
        ),
        sa.CheckConstraint(
            "period_end >= period_start", name=op.f("ck_subscriptions_period_order")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_user_id_status"), "subscriptions", ["user_id", "status"])

    op.create_table(
        "lesson_skill_tags",
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("skill_tag_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_lesson_skill_tags_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_tag_id"],
            ["skill_tags.id"],
            name=op.f("fk_lesson_skill_tags_skill_tag_id_skill_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lesson_id", "skill_tag_id", name=op.f("pk_lesson_skill_tags")),
    )
    op.create_index(
        op.f("ix_lesson_skill_tags_skill_tag_id"), "lesson_skill_tags", ["skill_tag_id"]
    )

    op.create_table(
        "multiplayer_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="waiting", nullable=False),
        sa.Column("join_code", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("started_at", TIMESTAMPTZ, nullable=True),
        sa.Column("ended_at", TIMESTAMPTZ, nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "state IN ('waiting', 'active', 'finished')",
            name=op.f("ck_multiplayer_sessions_state_enum"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_multiplayer_sessions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_multiplayer_sessions_lesson_id_lessons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_multiplayer_sessions")),
    )
    op.create_index(
        op.f("ix_multiplayer_sessions_created_by"), "multiplayer_sessions", ["created_by"]
    )
    op.create_index(
        op.f("ix_multiplayer_sessions_lesson_id"), "multiplayer_sessions", ["lesson_id"]
    )
    op.create_index(
        op.f("ix_multiplayer_sessions_state_created_at"),
        "multiplayer_sessions",
        ["state", "created_at"],
    )
    op.create_index(
        "uq_multiplayer_sessions_join_code_open",
        "multiplayer_sessions",
        ["join_code"],
        unique=True,
        postgresql_where=sa.text("state IN ('waiting', 'active')"),
        sqlite_where=sa.text("state IN ('waiting', 'active')"),
    )

    op.create_table(
        "progress",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("best_score", sa.Double(), nullable=False),
        sa.Column("last_score", sa.Double(), nullable=False),
        sa.Column("attempts_count", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", TIMESTAMPTZ, nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "attempts_count >= 0", name=op.f("ck_progress_attempts_count_nonnegative")
        ),
        sa.CheckConstraint(
            "best_score >= 0 AND best_score <= 1", name=op.f("ck_progress_best_score_range")
        ),
        sa.CheckConstraint(
            "last_score >= 0 AND last_score <= 1", name=op.f("ck_progress_last_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_progress_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_progress_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "lesson_id", name=op.f("pk_progress")),
    )
    op.create_index(op.f("ix_progress_lesson_id"), "progress", ["lesson_id"])
    op.create_index(
        op.f("ix_progress_user_id_last_attempt_at"), "progress", ["user_id", "last_attempt_at"]
    )

    op.create_table(
        "steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("targets", JSON, nullable=False),
        sa.Column("tolerance", sa.Double(), nullable=False),
        sa.Column("tolerance_unit", sa.String(length=16), nullable=False),
        sa.Column("scoring_weights", JSON, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("directional", sa.Boolean(), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("pressure_profile", JSON, nullable=True),
        sa.Column("hint_text", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("mode IN ('trace', 'copy')", name=op.f("ck_steps_mode_enum")),
        sa.CheckConstraint(
            "tolerance_unit IN ('px', 'relative')", name=op.f("ck_steps_tolerance_unit_enum")
        ),
        sa.CheckConstraint('"order" >= 0', name=op.f("ck_steps_order_nonnegative")),
        sa.CheckConstraint("tolerance > 0", name=op.f("ck_steps_tolerance_positive")),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_steps_lesson_id_lessons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("lesson_id", "order", name=op.f("uq_steps_lesson_id_order")),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("device_capability_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="in_progress", nullable=False),
        sa.Column("started_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", TIMESTAMPTZ, nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("score_accuracy", sa.Double(), nullable=True),
        sa.Column("score_quality", sa.Double(), nullable=True),
        sa.Column("scorer_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "(status = 'in_progress') = (finished_at IS NULL)",
            name=op.f("ck_attempts_finished_at_matches_status"),
        ),
        sa.CheckConstraint(
            "status IN ('in_progress', 'finished', 'abandoned')",
            name=op.f("ck_attempts_status_enum"),
        ),
        sa.CheckConstraint("score >= 0 AND score <= 1", name=op.f("ck_attempts_score_range")),
        sa.CheckConstraint(
            "score_accuracy >= 0 AND score_accuracy <= 1",
            name=op.f("ck_attempts_score_accuracy_range"),
        ),
        sa.CheckConstraint(
            "score_quality >= 0 AND score_quality <= 1",
            name=op.f("ck_attempts_score_quality_range"),
        ),
        sa.ForeignKeyConstraint(
            ["device_capability_id"],
            ["device_capabilities.id"],
            name=op.f("fk_attempts_device_capability_id_device_capabilities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["lessons.id"],
            name=op.f("fk_attempts_lesson_id_lessons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["multiplayer_sessions.id"],
            name=op.f("fk_attempts_session_id_multiplayer_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_attempts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    op.create_index(op.f("ix_attempts_device_capability_id"), "attempts", ["device_capability_id"])
    op.create_index(
        op.f("ix_attempts_lesson_id_started_at"), "attempts", ["lesson_id", "started_at"]
    )
    op.create_index(op.f("ix_attempts_session_id"), "attempts", ["session_id"])
    op.create_index(
        op.f("ix_attempts_user_id_lesson_id_started_at"),
        "attempts",
        ["user_id", "lesson_id", "started_at"],
    )
    op.create_index(op.f("ix_attempts_user_id_started_at"), "attempts", ["user_id", "started_at"])

    op.create_table(
        "participants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("join_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("leave_at", TIMESTAMPTZ, nullable=True),
        sa.Column("result_score", sa.Double(), nullable=True),
        sa.CheckConstraint(
            "role IN ('host', 'guest', 'spectator')", name=op.f("ck_participants_role_enum")
        ),
        sa.CheckConstraint(
            "result_score >= 0 AND result_score <= 1",
            name=op.f("ck_participants_result_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["multiplayer_sessions.id"],
            name=op.f("fk_participants_session_id_multiplayer_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_participants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint(
            "session_id", "user_id", name=op.f("uq_participants_session_id_user_id")
        ),
    )
    op.create_index(op.f("ix_participants_user_id_join_at"), "participants", ["user_id", "join_at"])

    op.create_table(
        "shared_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("aggregated_score", sa.Double(), nullable=False),
        sa.Column("participant_scores", JSON, nullable=False),
        sa.Column("replay_ref", sa.String(length=500), nullable=True),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "aggregated_score >= 0 AND aggregated_score <= 1",
            name=op.f("ck_shared_attempts_aggregated_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["multiplayer_sessions.id"],
            name=op.f("fk_shared_attempts_session_id_multiplayer_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["steps.id"],
            name=op.f("fk_shared_attempts_step_id_steps"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_attempts")),
    )
    op.create_index(
        op.f("ix_shared_attempts_session_id_created_at"),
        "shared_attempts",
        ["session_id", "created_at"],
    )
    op.create_index(op.f("ix_shared_attempts_step_id"), "shared_attempts", ["step_id"])

    op.create_table(
        "step_media_assets",
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("media_asset_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_asset_id"],
            ["media_assets.id"],
            name=op.f("fk_step_media_assets_media_asset_id_media_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["steps.id"],
            name=op.f("fk_step_media_assets_step_id_steps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("step_id", "media_asset_id", name=op.f("pk_step_media_assets")),
    )
    op.create_index(
        op.f("ix_step_media_assets_media_asset_id"), "step_media_assets", ["media_asset_id"]
    )

    op.create_table(
        "event_logs",
        sa.Column("id", BIGINT_KEY, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("attempt_id", sa.Uuid(), nullable=True),
        sa.Column("step_id", sa.Uuid(), nullable=True),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("ts", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.CheckConstraint(
            "event_type IN ('start_attempt', 'finish_attempt', 'abandon_attempt', 'start_step', "
            "'finish_step', 'undo', 'retry', 'hint_shown', 'join', 'leave', 'session_start', "
            "'session_end', 'reconnect')",
            name=op.f("ck_event_logs_event_type_enum"),
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_event_logs_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["multiplayer_sessions.id"],
            name=op.f("fk_event_logs_session_id_multiplayer_sessions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_event_logs_step_id_steps"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_event_logs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_logs")),
    )
    op.create_index(op.f("ix_event_logs_attempt_id"), "event_logs", ["attempt_id"])
    op.create_index(op.f("ix_event_logs_session_id_ts"), "event_logs", ["session_id", "ts"])
    op.create_index(op.f("ix_event_logs_step_id"), "event_logs", ["step_id"])
    op.create_index(op.f("ix_event_logs_ts"), "event_logs", ["ts"])
    op.create_index(op.f("ix_event_logs_user_id_ts"), "event_logs", ["user_id", "ts"])

    op.create_table(
        "strokes",
        sa.Column("id", BIGINT_KEY, autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Double(), nullable=False),
        sa.Column("points", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMPTZ, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_strokes_duration_nonnegative")),
        sa.CheckConstraint("n_points >= 0", name=op.f("ck_strokes_n_points_nonnegative")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_strokes_attempt_id_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["step_id"], ["steps.id"], name=op.f("fk_strokes_step_id_steps"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strokes")),
        sa.UniqueConstraint("attempt_id", "seq", name=op.f("uq_strokes_attempt_id_seq")),
    )
    op.create_index(op.f("ix_strokes_step_id"), "strokes", ["step_id"])


def downgrade() -> None:
    op.drop_table("strokes")
    op.drop_table("event_logs")
    op.drop_table("step_media_assets")
    op.drop_table("shared_attempts")
    op.drop_table("participants")
    op.drop_table("attempts")
    op.drop_table("steps")
    op.drop_table("progress")
    op.drop_table("multiplayer_sessions")
    op.drop_table("lesson_skill_tags")
    op.drop_table("subscriptions")
    op.drop_table("lessons")
    op.drop_table("users")
    op.drop_table("skill_tags")
    op.drop_table("media_assets")
    op.drop_table("device_capabilities")
    op.drop_table("courses")
