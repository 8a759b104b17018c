"""Fixtures every integration test uses: real nginx (with the built module),
a real Gunicorn + Flask upstream, and a strict test Datadog Agent."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.agent import TestAgent  # noqa: E402
from harness.nginx import Nginx, module_path  # noqa: E402
from harness.upstream import Upstream  # noqa: E402


@pytest.fixture(scope="session")
def built_module():
    """The module under test; a missing build is a failure, never a skip."""
    return module_path()


@pytest.fixture(scope="session")
def upstream():
    up = Upstream()
    up.start()
    yield up
    up.stop()


@pytest.fixture
def make_agent():
    """Starts test agents (TestAgent's arguments); at the end stops them and
    fails the test on any protocol violation one of them saw."""
    agents = []

    def make(**kwargs):
        a = TestAgent(**kwargs).start()
        agents.append(a)
        return a

    yield make
    for a in agents:
        a.stop()
    for a in agents:
        a.assert_clean()


@pytest.fixture
def agent():
    """A fresh test agent on 127.0.0.1; any protocol violation it saw fails the test."""
    a = TestAgent(listen="127.0.0.1")
    a.start()
    yield a
    a.stop()
    a.assert_clean()


@pytest.fixture
def nginx_factory(built_module, request):
    """Builds Nginx instances (see harness/nginx.py); stops them at the end and
    fails the test if a worker crashed or nginx logged an alert."""
    instances = []

    def make(http=None, **kwargs):
        instance = Nginx(http, **kwargs)
        instances.append(instance)
        return instance

    yield make
    crashes = []
    for instance in instances:
        instance.stop(fast=True)
        crashes += instance.crash_lines()
    assert not crashes, "nginx logged crashes or alerts:\n" + "\n".join(crashes)


@pytest.fixture
def nginx(nginx_factory):
    """Shortcut: nginx_factory(http_block, **kwargs) already started."""

    def start(http=None, **kwargs):
        return nginx_factory(http, **kwargs).start()

    return start
