"""Connecting: hello and welcome, a refused token, closing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from inkroom_client import DeviceInfo, InkroomClient, ServerError

from server.protocol import Hello, Welcome

if TYPE_CHECKING:
    from fake_inkroom import FakeServer

pytest_plugins = ["fake_inkroom"]
GOOD_TOKEN = "good-token"


async def test_connect_sends_hello_and_keeps_welcome(fake_server: FakeServer) -> None:
    device = DeviceInfo(kind="stylus", pressure=True, tilt=False, model="Pencil 2")
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN, device=device) as client:
        assert fake_server.received == [Hello(GOOD_TOKEN, device)]
        assert client.welcome is not None
        assert (client.welcome.user, client.welcome.name) == (7, "Ann")
        assert client.session.resume_token == "resume-1"
        # the welcome's limits win over the defaults
        assert client.session.max_points_per_batch == 8
        # the welcome is also the first message of the inbox
        assert isinstance(await client.wait_for(Welcome), Welcome)


async def test_connect_with_a_bad_token_raises_auth_failed(fake_server: FakeServer) -> None:
    with pytest.raises(ServerError) as caught:
        async with InkroomClient.connect(fake_server.url, "stale-token"):
            pytest.fail("connected with a bad token")
    assert caught.value.code == "auth_failed"
    assert caught.value.closes
    assert caught.value.seq is None


async def test_leaving_the_block_closes_the_socket(fake_server: FakeServer) -> None:
    async with InkroomClient.connect(fake_server.url, GOOD_TOKEN) as client:
        assert client.connected
    await fake_server.until(lambda: fake_server.last.ws.state.name == "CLOSED")
    assert not client.connected
