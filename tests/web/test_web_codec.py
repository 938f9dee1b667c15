"""The web client's msgpack vectors against the real msgpack, and its JavaScript tests under Node.

clients/web/test/vectors.json is made by clients/web/test/make_vectors.py from the Python msgpack
package; the JavaScript codec must encode and decode every vector byte for byte (`node --test`,
run here). Without node the JavaScript half is skipped with the reason, except with CI=true.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from server.codec import decode
from server.protocol_errors import ProtocolError

WEB = Path(__file__).resolve().parents[2] / "clients" / "web"
VECTORS = json.loads((WEB / "test" / "vectors.json").read_text(encoding="utf-8"))


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_vectors", WEB / "test" / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _float(value: float | str) -> float:
    if isinstance(value, str):
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[value]
    return value


def _untag(tagged: list[Any]) -> Any:  # noqa: PLR0911 - one return per msgpack family
    kind, *rest = tagged
    if kind == "nil":
        return None
    if kind in ("bool", "str"):
        return rest[0]
    if kind == "int":
        return int(rest[0])
    if kind in ("f64", "f32"):
        return _float(rest[0])
    if kind == "bin":
        return bytes.fromhex(rest[0])
    if kind == "arr":
        return [_untag(v) for v in rest[0]]
    assert kind == "map"
    return {_untag(k): _untag(v) for k, v in rest[0]}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b) and type(a) is type(b)


def test_vectors_file_is_what_msgpack_makes_now() -> None:
    assert (WEB / "test" / "vectors.json").read_text(encoding="utf-8") == _generator().render()


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_python_msgpack_agrees_with_each_vector(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    value = _untag(vector["value"])
    assert _same(msgpack.unpackb(frame, raw=False, strict_map_key=False), value)
    if vector["encode"]:
        assert msgpack.packb(value, use_bin_type=True) == frame


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_server_codec_refuses_each_invalid_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as refused:
        decode(bytes.fromhex(vector["hex"]), sent_by="server")
    assert refused.value.code in {"bad_frame", "too_large"}


def test_javascript_codec_and_protocol_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is not installed (CI=true: the web client's tests need it)")
        pytest.skip("node is not installed: the web client's JavaScript tests did not run")
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(WEB / "test")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
    passed = int(result.stdout.split("# pass ")[1].split()[0])
    assert passed >= 100, result.stdout[-2000:]
