from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.routing import Route

from schema.database import make_engine
from server.app import routes

if TYPE_CHECKING:
    from http_harness import Api

pytest_plugins = ["http_harness"]


def test_healthz_reports_the_database_reachable(api: Api) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(api: Api, tmp_path: Path) -> None:
    services = api.services
    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    app_state = api.client.app.state  # type: ignore[attr-defined]
    app_state.services = dataclasses.replace(services, engine=broken)
    try:
        response = api.client.get("/healthz")
    finally:
        app_state.services = services
        portal = api.client.portal
        assert portal is not None
        portal.call(broken.dispose)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


def test_metrics_are_prometheus_text_with_http_counts(api: Api) -> None:
    api.client.get("/api/courses")
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE inkroom_connections gauge" in text
    assert "# TYPE inkroom_scoring_latency_seconds histogram" in text
    count = re.search(
        r'inkroom_http_requests_total\{route="/api/courses",status="200"\} (\d+)', text
    )
    assert count is not None and int(count.group(1)) >= 1
    # every sample line is "name{labels} value"
    for line in text.splitlines():
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+(\{.*\})? \S+", line), line


def test_openapi_describes_exactly_the_apps_routes(api: Api) -> None:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in schema["paths"].items() for method in ops}
    served = {
        (route.path, method)
        for route in routes()
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert documented == served


def test_unknown_path_and_wrong_method_are_json_errors(api: Api) -> None:
    missing = api.client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = api.client.delete("/api/courses")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


def test_a_started_app_keeps_start_up_objects_out_of_the_collector(api: Api) -> None:
    import gc

    from server.app import GC_YOUNG_THRESHOLD

    assert api.client.get("/healthz").status_code == 200  # the app has started
    assert gc.get_freeze_count() > 50_000  # numba, SQLAlchemy, the catalog...
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
