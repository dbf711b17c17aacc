"""The wheel install starts as soon as the tests are collected, when a selected test asks for it."""

from __future__ import annotations

import pytest

from tests.packaging.install import Installed, WheelInstall

_INSTALL = pytest.StashKey[WheelInstall]()


def pytest_collection_finish(session: pytest.Session) -> None:
    # A pytest-xdist worker collects every test but runs only some: it installs when a test asks for it
    # (the other workers keep the CPU meanwhile), so that the wheel is not built once per worker.
    if hasattr(session.config, "workerinput"):
        return
    if any("installed" in getattr(item, "fixturenames", ()) for item in session.items):
        session.config.stash[_INSTALL] = WheelInstall().start()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    install = config.stash.get(_INSTALL, None)
    if install is not None and install.installed.seconds:
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in install.installed.seconds.items())
        terminalreporter.write_line(f"wheel install (in the background): {steps}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    install = session.config.stash.get(_INSTALL, None)
    if install is not None:
        install.close()


@pytest.fixture(scope="session")
def installed(request: pytest.FixtureRequest) -> Installed:
    """The tapserver wheel installed without extras in a fresh virtual environment."""
    install = request.config.stash.get(_INSTALL, None)
    if install is None:
        install = request.config.stash[_INSTALL] = WheelInstall()
    return install.result()
