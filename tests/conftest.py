"""Fixtures: a real fake Devin API on 127.0.0.1 for each test, an HTTP session holding the key,
and an output folder."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from pipeline.fake_api import FakeApiServer, FakeDevin, Faults
from tests.helpers import KEY

# A suite started in the background by a script (`make test &`, nohup) inherits Ctrl-C ignored,
# and so would every process a test starts: the tests that stop the exporter or the fake API
# with SIGINT would wait for their watchdogs and fail. The suite's processes take it back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def devin() -> FakeDevin:
    return FakeDevin(sessions=120, seed=7)


@pytest.fixture
def server(devin: FakeDevin) -> Iterator[FakeApiServer]:
    """A fresh fake API for each test, so faults and request logs never leak between tests."""
    with FakeApiServer(devin, key=KEY, faults=Faults(retry_after=0)) as srv:
        yield srv


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session that sends the tests' key, for asking the fake API directly."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {KEY}"
        yield session
