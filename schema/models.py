"""The tables of the seed data model, as typed SQLAlchemy 2.0 models.

Rules that hold across the file:
- learner data goes with its user (ON DELETE CASCADE); catalog rows are soft-deleted
  (`deleted_at`), so what learner data points at is never deleted under it (RESTRICT);
- enums are strings with a CHECK constraint, and scores are floats in 0..1, checked too;
- relationships are `lazy="raise"`: every query says what it loads (`selectinload`).
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schema.base import (
    Audited,
    Base,
    BigIntKey,
    CreatedAt,
    Json,
    PortableJSON,
    Score,
    Slug,
    Timestamp,
    UpdatedAt,
    UuidPK,
    enum_check,
    score_check,
)

USER_ROLES: Final = ("player", "coach", "admin")
SUBSCRIPTION_STATUSES: Final = ("active", "trialing", "past_due", "canceled")
PUBLICATION_STATUSES: Final = ("draft", "published", "archived")
STEP_MODES: Final = ("trace", "copy")
TOLERANCE_UNITS: Final = ("px", "relative")
MEDIA_TYPES: Final = ("image", "svg", "video", "animation")
DEVICE_KINDS: Final = ("stylus", "touch", "mouse")
ATTEMPT_STATUSES: Final = ("in_progress", "finished", "abandoned")
SESSION_STATES: Final = ("waiting", "active", "finished")
OPEN_SESSION_STATES: Final = ("waiting", "active")
PARTICIPANT_ROLES: Final = ("host", "guest", "spectator")
EVENT_TYPES: Final = (
    "start_attempt",
    "finish_attempt",
    "abandon_attempt",
    "start_step",
    "finish_step",
    "undo",
    "retry",
    "hint_shown",
    "join",
    "leave",
    "session_start",
    "session_end",
    "reconnect",
)


def _fk(target: str, ondelete: str) -> ForeignKey:
    return ForeignKey(target, ondelete=ondelete)


# --- people -----------------------------------------------------------------------------------


class User(Audited, Base):
    __tablename__ = "users"
    __table_args__ = (enum_check("role", USER_ROLES),)

    id: Mapped[UuidPK]
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    role: Mapped[str] = mapped_column(String(16), default="player", server_default="player")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    last_active_at: Mapped[Timestamp | None]


class CoachLink(Base):
    """A learner lets a coach read their attempts and replays (the learner makes and ends it)."""

    __tablename__ = "coach_links"
    __table_args__ = (
        CheckConstraint("learner_id <> coach_id", name="not_self"),
        Index(None, "coach_id"),
    )

    learner_id: Mapped[uuid.UUID] = mapped_column(_fk("users.id", "CASCADE"), primary_key=True)
    coach_id: Mapped[uuid.UUID] = mapped_column(_fk("users.id", "CASCADE"), primary_key=True)
    created_at: Mapped[CreatedAt]


class Subscription(Audited, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        enum_check("status", SUBSCRIPTION_STATUSES),
        CheckConstraint("period_end >= period_start", name="period_order"),
        Index(None, "user_id", "status"),
    )

    id: Mapped[UuidPK]
    user_id: Mapped[uuid.UUID] = mapped_column(_fk("users.id", "CASCADE"))
    plan: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[Timestamp]
    period_end: Mapped[Timestamp]
    trial_end: Mapped[Timestamp | None]
    platform: Mapped[str] = mapped_column(String(20))
    cancel_at_period_end: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


# --- catalog ----------------------------------------------------------------------------------


class Course(Audited, Base):
    __tablename__ = "courses"
    __table_args__ = (enum_check("status", PUBLICATION_STATUSES), Index(None, "status"))

    id: Mapped[UuidPK]
    slug: Mapped[Slug] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    deleted_at: Mapped[Timestamp | None]

    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", lazy="raise", order_by="Lesson.position"
    )


lesson_skill_tags: Final = Table(
    "lesson_skill_tags",
    Base.metadata,
    Column("lesson_id", _fk("lessons.id", "CASCADE"), primary_key=True),
    Column("skill_tag_id", _fk("skill_tags.id", "CASCADE"), primary_key=True),
    Index(None, "skill_tag_id"),
)


class Lesson(Audited, Base):
    __tablename__ = "lessons"
    __table_args__ = (
        enum_check("status", PUBLICATION_STATUSES),
        CheckConstraint("difficulty >= 1 AND difficulty <= 5", name="difficulty_range"),
        CheckConstraint("canvas_width > 0 AND canvas_height > 0", name="canvas_positive"),
        CheckConstraint("est_duration_s >= 0", name="est_duration_nonnegative"),
        Index(None, "course_id", "position"),
    )

    id: Mapped[UuidPK]
    course_id: Mapped[uuid.UUID] = mapped_column(_fk("courses.id", "RESTRICT"))
    slug: Mapped[Slug] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(String(200))
    difficulty: Mapped[int] = mapped_column(SmallInteger)
    est_duration_s: Mapped[int] = mapped_column(Integer)
    steps_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_free: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    canvas_width: Mapped[int] = mapped_column(Integer)
    canvas_height: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    deleted_at: Mapped[Timestamp | None]

    course: Mapped[Course] = relationship(back_populates="lessons", lazy="raise")
    steps: Mapped[list[Step]] = relationship(
        back_populates="lesson", lazy="raise", order_by="Step.order", passive_deletes=True
    )
    skill_tags: Mapped[list[SkillTag]] = relationship(
        secondary=lesson_skill_tags, lazy="raise", order_by="SkillTag.slug"
    )


step_media_assets: Final = Table(
    "step_media_assets",
    Base.metadata,
    Column("step_id", _fk("steps.id", "CASCADE"), primary_key=True),
    Column("media_asset_id", _fk("media_assets.id", "CASCADE"), primary_key=True),
    Index(None, "media_asset_id"),
)


class Step(Audited, Base):
    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("lesson_id", "order"),
        enum_check("mode", STEP_MODES),
        enum_check("tolerance_unit", TOLERANCE_UNITS),
        CheckConstraint("tolerance > 0", name="tolerance_positive"),
        CheckConstraint('"order" >= 0', name="order_nonnegative"),
    )

    id: Mapped[UuidPK]
    lesson_id: Mapped[uuid.UUID] = mapped_column(_fk("lessons.id", "CASCADE"))
    order: Mapped[int] = mapped_column(Integer)
    # [[[x, y], ...], ...]: one polyline per target, in canvas units
    targets: Mapped[Json]
    tolerance: Mapped[float]
    tolerance_unit: Mapped[str] = mapped_column(String(16))
    scoring_weights: Mapped[Json]
    mode: Mapped[str] = mapped_column(String(16))
    directional: Mapped[bool] = mapped_column(Boolean)
    ordered: Mapped[bool] = mapped_column(Boolean)
    pressure_profile: Mapped[Json | None]
    hint_text: Mapped[str | None] = mapped_column(Text)
    # sha256 of the step's content as seeded; `inkroom seed` compares it to detect changes
    content_hash: Mapped[str] = mapped_column(String(64))

    lesson: Mapped[Lesson] = relationship(back_populates="steps", lazy="raise")
    media_assets: Mapped[list[MediaAsset]] = relationship(
        secondary=step_media_assets, lazy="raise", order_by="MediaAsset.uri"
    )


class MediaAsset(Audited, Base):
    __tablename__ = "media_assets"
    __table_args__ = (
        enum_check("type", MEDIA_TYPES),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[UuidPK]
    type: Mapped[str] = mapped_column(String(16))
    uri: Mapped[str] = mapped_column(String(500), unique=True)
    checksum: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # small assets (a step's SVG guide) are kept inline; large ones live behind `uri`
    content: Mapped[bytes | None] = mapped_column(LargeBinary)


class SkillTag(Base):
    __tablename__ = "skill_tags"

    id: Mapped[UuidPK]
    slug: Mapped[Slug] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(100))


# --- attempts and strokes -----------------------------------------------------------------------


class DeviceCapability(Base):
    """A kind of input device, stored once however many connections declare it."""

    __tablename__ = "device_capabilities"
    __table_args__ = (
        enum_check("kind", DEVICE_KINDS),
        CheckConstraint("max_rate_hz IS NULL OR max_rate_hz > 0", name="max_rate_positive"),
    )

    id: Mapped[UuidPK]
    # the deduplication key: every other column, normalised (see repository.device_key)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    pressure: Mapped[bool] = mapped_column(Boolean)
    tilt: Mapped[bool] = mapped_column(Boolean)
    model: Mapped[str | None] = mapped_column(String(200))
    max_rate_hz: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]


class Attempt(Audited, Base):
    __tablename__ = "attempts"
    __table_args__ = (
        enum_check("status", ATTEMPT_STATUSES),
        score_check("score"),
        score_check("score_accuracy"),
        score_check("score_quality"),
        CheckConstraint(
            "(status = 'in_progress') = (finished_at IS NULL)", name="finished_at_matches_status"
        ),
        Index(None, "user_id", "started_at"),
        Index(None, "user_id", "lesson_id", "started_at"),
        Index(None, "lesson_id", "started_at"),
        Index(None, "session_id"),
        Index(None, "device_capability_id"),
    )

    id: Mapped[UuidPK]
    user_id: Mapped[uuid.UUID] = mapped_column(_fk("users.id", "CASCADE"))
    lesson_id: Mapped[uuid.UUID] = mapped_column(_fk("lessons.id", "RESTRICT"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(_fk("multiplayer_sessions.id", "SET NULL"))
    device_capability_id: Mapped[uuid.UUID | None] = mapped_column(
        _fk("device_capabilities.id", "SET NULL")
    )
    status: Mapped[str] = mapped_column(
        String(16), default="in_progress", server_default="in_progress"
    )
    started_at: Mapped[CreatedAt]
    finished_at: Mapped[Timestamp | None]
    score: Mapped[Score | None]
    score_accuracy: Mapped[Score | None]
    score_quality: Mapped[Score | None]
    scorer_version: Mapped[str] = mapped_column(String(32))

    strokes: Mapped[list[Stroke]] = relationship(
        back_populates="attempt", lazy="raise", order_by="Stroke.seq", passive_deletes=True
    )


class Stroke(Base):
    __tablename__ = "strokes"
    __table_args__ = (
        UniqueConstraint("attempt_id", "seq"),
        CheckConstraint("n_points >= 0", name="n_points_nonnegative"),
        CheckConstraint("duration_ms >= 0", name="duration_nonnegative"),
        Index(None, "step_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    attempt_id: Mapped[uuid.UUID] = mapped_column(_fk("attempts.id", "CASCADE"))
    step_id: Mapped[uuid.UUID] = mapped_column(_fk("steps.id", "RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    n_points: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float]
    # replay.points_codec: versioned, compressed, columnar float32 x, y, t, pressure, tilts
    points: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[CreatedAt]

    attempt: Mapped[Attempt] = relationship(back_populates="strokes", lazy="raise")


class Progress(Base):
    __tablename__ = "progress"
    __table_args__ = (
        score_check("best_score"),
        score_check("last_score"),
        CheckConstraint("attempts_count >= 0", name="attempts_count_nonnegative"),
        Index(None, "lesson_id"),
        Index(None, "user_id", "last_attempt_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(_fk("users.id", "CASCADE"), primary_key=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(_fk("lessons.id", "CASCADE"), primary_key=True)
    best_score: Mapped[Score]
    last_score: Mapped[Score]
    attempts_count: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[Timestamp]
    updated_at: Mapped[UpdatedAt]


# --- multiplayer ------------------------------------------------------------------------------


class MultiplayerSession(Audited, Base):
    __tablename__ = "multiplayer_sessions"
    __table_args__ = (
        enum_check("state", SESSION_STATES),
        Index(None, "lesson_id"),
        Index(None, "created_by"),
        Index(None, "state", "created_at"),
        # a join code is unique among open sessions only: finished sessions free their code
        Index(
            "uq_multiplayer_sessions_join_code_open",
            "join_code",
            unique=True,
            postgresql_where=text("state IN ('waiting', 'active')"),
            sqlite_where=text("state IN ('waiting', 'active')"),
        ),
    )

    id: Mapped[UuidPK]
    lesson_id: Mapped[uuid.UUID] = mapped_column(_fk("lessons.id", "RESTRICT"))
    state: Mapped[str] = mapped_column(String(16), default="waiting", server_default="waiting")
    join_code: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(_fk("users.id", "SET NULL"))
    started_at: Mapped[Timestamp | None]
    ended_at: Mapped[Timestamp | None]

    participants: Mapped[list[Participant]] = relationship(
        back_populates="session", lazy="raise", order_by="Participant.join_at"
    )


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id"),
        enum_check("role", PARTICIPANT_ROLES),
        score_check("result_score"),
        Index(None, "user_id", "join_at"),
    )

    id: Mapped[UuidPK]
    session_id: Mapped[uuid.UUID] = mapped_column(_fk("multiplayer_sessions.id", "CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(_fk("users.id", "CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    join_at: Mapped[CreatedAt]
    leave_at: Mapped[Timestamp | None]
    result_score: Mapped[Score | None]

    session: Mapped[MultiplayerSession] = relationship(back_populates="participants", lazy="raise")


class SharedAttempt(Base):
    __tablename__ = "shared_attempts"
    __table_args__ = (
        score_check("aggregated_score"),
        Index(None, "session_id", "created_at"),
        Index(None, "session_id", "step_id", unique=True),  # one shared result per room step
        Index(None, "step_id"),
    )

    id: Mapped[UuidPK]
    session_id: Mapped[uuid.UUID] = mapped_column(_fk("multiplayer_sessions.id", "CASCADE"))
    step_id: Mapped[uuid.UUID] = mapped_column(_fk("steps.id", "RESTRICT"))
    aggregated_score: Mapped[Score]
    # {"<user uuid>": score, ...}
    participant_scores: Mapped[Json]
    replay_ref: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]


# --- analytics --------------------------------------------------------------------------------


class EventLog(Base):
    __tablename__ = "event_logs"
    __table_args__ = (
        enum_check("event_type", EVENT_TYPES),
        Index(None, "user_id", "ts"),
        Index(None, "session_id", "ts"),
        Index(None, "attempt_id"),
        Index(None, "step_id"),
        Index(None, "ts"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(_fk("users.id", "CASCADE"))
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(_fk("attempts.id", "SET NULL"))
    step_id: Mapped[uuid.UUID | None] = mapped_column(_fk("steps.id", "SET NULL"))
    session_id: Mapped[uuid.UUID | None] = mapped_column(_fk("multiplayer_sessions.id", "SET NULL"))
    event_type: Mapped[str] = mapped_column(String(32))
    ts: Mapped[CreatedAt]
    payload: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
