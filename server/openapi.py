"""The OpenAPI 3.1 description of the HTTP API, written by hand and served at /openapi.json.

tests/server/test_http_ops.py checks that it names exactly the app's routes and methods.
"""

from __future__ import annotations

from functools import cache
from typing import Any

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str], **props: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": props}


_STR: Schema = {"type": "string"}
_INT: Schema = {"type": "integer"}
_BOOL: Schema = {"type": "boolean"}
_UUID: Schema = {"type": "string", "format": "uuid"}
_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
_SCORE: Schema = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_ANY: Schema = {}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    return {str(s): {"description": "error", **_json(_ref("Error"))} for s in statuses}


def _op(
    summary: str,
    ok: tuple[int, Schema],
    errors: tuple[int, ...] = (),
    *,
    auth: bool = True,
    body: Schema | None = None,
    params: list[Schema] | None = None,
) -> Schema:
    op: Schema = {
        "summary": summary,
        "responses": {str(ok[0]): {"description": "ok", **_json(ok[1])}, **_errors(*errors)},
    }
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"].update(_errors(401))
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _no_content(op: Schema) -> Schema:
    op["responses"]["204"] = {"description": "done, no body"}
    return op


def _path_param(name: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema}


_COMPONENTS: Schema = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
        "Error": _obj(
            ["error"],
            error=_obj(["code", "message"], code=_STR, message=_STR, details=_ANY),
        ),
        "User": _obj(
            ["id", "email", "display_name", "role"],
            id=_UUID,
            email=_STR,
            display_name=_STR,
            role={"enum": ["player", "coach", "admin"]},
            locale=_STR,
            created_at=_TIME,
            subscribed=_BOOL,
        ),
        "TokenAnswer": _obj(["token", "user"], token=_STR, user=_ref("User")),
        "LessonSummary": _obj(
            ["id", "slug", "title", "is_free", "access"],
            id=_UUID,
            slug=_STR,
            title=_STR,
            difficulty=_INT,
            est_duration_s=_INT,
            steps_count=_INT,
            is_free=_BOOL,
            access={"enum": ["free", "vip"]},
            canvas=_obj(["width", "height"], width=_INT, height=_INT),
            position=_INT,
            skill_tags={"type": "array", "items": _STR},
        ),
        "Attempt": _obj(
            ["id", "lesson_id", "status"],
            id=_UUID,
            lesson_id=_UUID,
            session_id={"type": ["string", "null"], "format": "uuid"},
            status={"enum": ["in_progress", "finished", "abandoned"]},
            started_at=_TIME,
            finished_at=_TIME,
            score=_SCORE,
            score_accuracy=_SCORE,
            score_quality=_SCORE,
            scorer_version=_STR,
        ),
        "Session": _obj(
            ["id", "lesson", "state", "participants"],
            id=_UUID,
            lesson=_obj(["id", "slug"], id=_UUID, slug=_STR),
            state={"enum": ["waiting", "active", "finished"]},
            join_code={"type": ["string", "null"]},
            created_by={"type": ["string", "null"], "format": "uuid"},
            created_at=_TIME,
            started_at=_TIME,
            ended_at=_TIME,
            participants={"type": "array", "items": _ANY},
            shared_results={"type": "array", "items": _ANY},
        ),
    },
}


@cache
def openapi_schema() -> Schema:
    lesson = {**_ref("LessonSummary")}
    courses = _obj(
        ["courses"],
        courses={
            "type": "array",
            "items": _obj(
                ["slug", "lessons"],
                id=_UUID,
                slug=_STR,
                title=_STR,
                level=_STR,
                lessons={"type": "array", "items": lesson},
            ),
        },
    )
    signup_body = _obj(
        ["email", "password", "display_name"],
        email={"type": "string", "maxLength": 320},
        password={"type": "string", "minLength": 10, "maxLength": 256},
        display_name={"type": "string", "minLength": 1, "maxLength": 100},
    )
    login_body = _obj(["email", "password"], email=_STR, password=_STR)
    list_params = [
        {"name": "limit", "in": "query", "schema": {**_INT, "minimum": 1, "maximum": 100}},
        {"name": "lesson_id", "in": "query", "schema": _UUID},
    ]
    progress_entry = _obj(
        ["lesson_id", "best_score", "last_score", "attempts_count"],
        lesson_id=_UUID,
        lesson_slug=_STR,
        lesson_title=_STR,
        best_score=_SCORE,
        last_score=_SCORE,
        attempts_count=_INT,
        last_attempt_at=_TIME,
    )
    stroke = _obj(
        ["seq", "step_id", "n_points", "points"],
        seq=_INT,
        step_id=_UUID,
        n_points=_INT,
        duration_ms={"type": "number"},
        created_at=_TIME,
        score=_SCORE,
        points={"type": "string", "contentEncoding": "base64"},
    )
    strokes = {"type": "array", "items": stroke}
    replay = _obj(
        ["attempt", "points_format", "strokes", "events"],
        attempt=_ref("Attempt"),
        steps={"type": "array", "items": _UUID},
        points_format=_ANY,
        strokes=strokes,
        events={"type": "array", "items": _ANY},
    )
    my_session = _obj(
        ["id", "lesson", "state", "role"],
        id=_UUID,
        lesson=_obj(["id", "slug"], id=_UUID, slug=_STR, title=_STR),
        state={"enum": ["waiting", "active", "finished"]},
        join_code={"type": ["string", "null"]},
        role=_STR,
        created_at=_TIME,
        started_at=_TIME,
        ended_at=_TIME,
        shared_results=_INT,
    )
    step_replay = _obj(
        ["session", "step", "step_id", "players"],
        session=_ANY,
        step=_INT,
        step_id=_UUID,
        steps_count=_INT,
        points_format=_ANY,
        players={
            "type": "array",
            "items": _obj(
                ["user_id", "display_name", "strokes"],
                user_id=_UUID,
                display_name=_STR,
                role=_STR,
                strokes=strokes,
            ),
        },
        shared_result=_ANY,
    )
    coach = _obj(
        ["id", "display_name"],
        id=_UUID,
        display_name=_STR,
        email=_STR,
        linked_at=_TIME,
    )
    learner = _obj(
        ["id", "display_name", "attempts_count"],
        id=_UUID,
        display_name=_STR,
        linked_at=_TIME,
        attempts_count=_INT,
        last_attempt_at=_TIME,
    )
    attempts = _obj(["attempts"], attempts={"type": "array", "items": _ref("Attempt")})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Inkroom HTTP API", "version": "1"},
        "components": _COMPONENTS,
        "paths": {
            "/api/auth/signup": {
                "post": _op(
                    "create an account",
                    (201, _ref("TokenAnswer")),
                    (400, 409, 413, 415),
                    auth=False,
                    body=signup_body,
                )
            },
            "/api/auth/login": {
                "post": _op(
                    "log in",
                    (200, _ref("TokenAnswer")),
                    (400, 401, 413, 415),
                    auth=False,
                    body=login_body,
                )
            },
            "/api/me": {
                "get": _op("the caller's account", (200, _obj(["user"], user=_ref("User"))))
            },
            "/api/courses": {
                "get": _op("published courses and lessons", (200, courses), auth=False)
            },
            "/api/lessons/{slug}": {
                "get": _op(
                    "a lesson with its steps and guides",
                    (200, _obj(["lesson"], lesson=_ANY)),
                    (402, 404),
                    params=[_path_param("slug", _STR)],
                )
            },
            "/api/sessions": {
                "post": _op(
                    "create a multiplayer session for a lesson",
                    (201, _obj(["session"], session=_ref("Session"))),
                    (400, 402, 404, 409),
                    body=_obj(["lesson"], lesson={"type": "string", "description": "lesson slug"}),
                )
            },
            "/api/sessions/{session_id}": {
                "get": _op(
                    "a session the caller takes part in",
                    (200, _obj(["session"], session=_ref("Session"))),
                    (404,),
                    params=[_path_param("session_id", _UUID)],
                )
            },
            "/api/me/sessions": {
                "get": _op(
                    "the sessions the caller took part in, newest first",
                    (200, _obj(["sessions"], sessions={"type": "array", "items": my_session})),
                    (400,),
                    params=list_params[:1],
                )
            },
            "/api/sessions/{session_id}/steps/{step}/replay": {
                "get": _op(
                    "every player's strokes of one step of a session the caller took part in",
                    (200, step_replay),
                    (404,),
                    params=[
                        _path_param("session_id", _UUID),
                        _path_param("step", {**_INT, "minimum": 0}),
                    ],
                )
            },
            "/api/me/attempts": {
                "get": _op(
                    "the caller's attempts, newest first",
                    (200, _obj(["attempts"], attempts={"type": "array", "items": _ref("Attempt")})),
                    (400,),
                    params=list_params,
                )
            },
            "/api/me/progress": {
                "get": _op(
                    "the caller's progress per lesson",
                    (200, _obj(["progress"], progress={"type": "array", "items": progress_entry})),
                )
            },
            "/api/attempts/{attempt_id}/replay": {
                "get": _op(
                    "an attempt with every stroke and event, for its owner or a coach they linked",
                    (200, replay),
                    (404,),
                    params=[_path_param("attempt_id", _UUID)],
                )
            },
            "/api/me/coaches": {
                "get": _op(
                    "the coaches the caller linked",
                    (200, _obj(["coaches"], coaches={"type": "array", "items": coach})),
                ),
                "post": _op(
                    "link a coach by email (201; 200 if already linked)",
                    (201, _obj(["coach"], coach=coach)),
                    (400, 404, 413, 415),
                    body=_obj(["email"], email={"type": "string", "maxLength": 320}),
                ),
            },
            "/api/me/coaches/{coach_id}": {
                "delete": _no_content(
                    _op(
                        "unlink a coach",
                        (204, _ANY),
                        (404,),
                        params=[_path_param("coach_id", _UUID)],
                    )
                )
            },
            "/api/coach/learners": {
                "get": _op(
                    "the learners who linked the caller (a coach or admin)",
                    (200, _obj(["learners"], learners={"type": "array", "items": learner})),
                    (403,),
                )
            },
            "/api/learners/{learner_id}/attempts": {
                "get": _op(
                    "a learner's attempts, for a coach they linked, newest first",
                    (200, attempts),
                    (400, 404),
                    params=[_path_param("learner_id", _UUID), *list_params[:1]],
                )
            },
            "/healthz": {"get": _op("database reachable", (200, _ANY), (503,), auth=False)},
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text format 0.0.4)",
                    "responses": {
                        "200": {"description": "ok", "content": {"text/plain": {"schema": _STR}}}
                    },
                }
            },
            "/openapi.json": {"get": _op("this document", (200, _ANY), auth=False)},
            "/": {
                "get": {
                    "summary": "the web client (its other files are under /js, /css, /img)",
                    "responses": {
                        "200": {"description": "ok", "content": {"text/html": {"schema": _STR}}}
                    },
                }
            },
        },
    }
