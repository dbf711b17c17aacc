"""Files are found through the database only, and only inside the configured data roots."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.datalink.files import DataRoots
from tests.datalink.conftest import BASE_URL, DL3, FACT, World


@pytest.mark.parametrize("name", [
    "traps:1#dotdot",  # <root>/../outside/secret.fits
    "traps:1#absolute",  # an absolute path outside every root
    "traps:1#etc",  # /etc/passwd
    "traps:1#symlink-out",  # a symlink in the root pointing out of it
    "traps:1#dir-link-out",  # a path through a symlinked directory that points out
    "traps:1#relative",  # a relative path (whatever the working directory)
    "traps:1#directory",  # the root itself
    "traps:1#missing",  # inside the root, but gone
])
def test_paths_outside_the_roots_are_refused(client: TestClient, world: World, name: str) -> None:
    response = client.get(world.url(name))
    assert response.status_code == 404
    assert 'value="ERROR"' in response.text
    assert "secret" not in response.text and str(world.outside) not in response.text


def test_symlink_inside_the_roots_is_served(client: TestClient, world: World) -> None:
    response = client.get(world.url("traps:1#symlink-in"))
    assert response.status_code == 200
    assert response.content == FACT.read_bytes()


@pytest.mark.parametrize("path", [
    "/files/..%2F..%2F..%2Fetc%2Fpasswd",
    "/files/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/files/%2Fetc%2Fpasswd",
    "/files//etc/passwd",
    "/files/" + quote(str(FACT), safe=""),
    "/files/" + quote(str(FACT)),
    "/files/" + quote("file://" + str(FACT), safe=""),
    "/files/",
])
def test_request_text_never_becomes_a_path(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, path


def test_no_data_roots_serve_nothing(world: World) -> None:
    app = create_app(world.settings.model_copy(update={"data_roots": []}))
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get(world.url("fact:103#events")).status_code == 404
        links = client.get("/datalink/links", params={"ID": world.products["fact:103#events"].dataset})
        assert links.status_code == 200  # metadata is still there


def test_a_root_given_through_a_symlink(world: World, tmp_path: Path) -> None:
    link = tmp_path / "dl3-link"
    os.symlink(DL3, link)
    app = create_app(world.settings.model_copy(update={"data_roots": [link]}))
    with TestClient(app, base_url=BASE_URL) as client:
        assert client.get(world.url("fact:103#events")).status_code == 200
        assert client.get(world.url("traps:1#inner")).status_code == 404  # not under this root


def test_root_prefix_is_not_a_parent(tmp_path: Path) -> None:
    root = tmp_path / "data"
    sibling = tmp_path / "data-other"
    root.mkdir()
    sibling.mkdir()
    (sibling / "f.fits").write_bytes(b"x")
    (root / "f.fits").write_bytes(b"x")
    roots = DataRoots([root])
    assert roots.resolve(str(sibling / "f.fits")) is None
    assert roots.resolve(str(root / "f.fits")) == os.path.realpath(root / "f.fits")
    assert roots.resolve(str(root / "sub" / ".." / ".." / "data-other" / "f.fits")) is None
    assert roots.resolve("f.fits") is None
    assert roots.resolve(str(root / "f.fits") + "\x00") is None
    assert not DataRoots([])
    assert DataRoots([]).resolve(str(root / "f.fits")) is None


def test_open_refuses_a_final_symlink_and_non_files(tmp_path: Path) -> None:
    (tmp_path / "real.fits").write_bytes(b"x")
    os.symlink(tmp_path / "real.fits", tmp_path / "link.fits")
    roots = DataRoots([tmp_path])
    with pytest.raises(OSError):
        roots.open_descriptor(str(tmp_path / "link.fits"))  # O_NOFOLLOW: a swapped-in link is refused
    with pytest.raises(OSError):
        roots.open_descriptor(str(tmp_path))
    fd = roots.open_descriptor(str(tmp_path / "real.fits"))
    os.close(fd)
    with pytest.raises(PermissionError):
        DataRoots([tmp_path / "elsewhere"]).open_descriptor(str(tmp_path / "real.fits"))


def test_open_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    """A FIFO with no writer: a blocking open() would wait for one forever."""
    os.mkfifo(tmp_path / "pipe.fits")
    outcome: list[BaseException | int] = []
    thread = threading.Thread(target=lambda: outcome.append(_catch(DataRoots([tmp_path]).open_descriptor,
                                                                   str(tmp_path / "pipe.fits"))), daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # unblock the thread by opening the other end, then fail
        os.close(os.open(tmp_path / "pipe.fits", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("opening a FIFO blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], PermissionError)


def _catch(function: Callable[..., int], *args: object) -> BaseException | int:
    try:
        return function(*args)
    except BaseException as exc:
        return exc


def _trap_tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """A data root with every kind of path a bundle may hold, and the paths."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "f.fits").write_bytes(b"x")
    (root / "sub" / "g.fits").write_bytes(b"y")
    (outside / "secret.fits").write_bytes(b"s")
    os.symlink(outside / "secret.fits", root / "link-out.fits")
    os.symlink(root / "f.fits", root / "link-in.fits")
    os.symlink(root / "link-in.fits", root / "sub" / "chain.fits")  # a link to a link inside
    os.symlink(outside, root / "dir-out")
    os.symlink(root / "sub", root / "dir-in")
    os.symlink(root, outside / "back-in")  # a directory outside that leads back into the root
    paths = [root / "f.fits", root / "sub" / "g.fits", root / "link-out.fits", root / "link-in.fits",
             root / "sub" / "chain.fits", root / "dir-out" / "secret.fits", root / "dir-in" / "g.fits",
             outside / "back-in" / "f.fits", outside / "secret.fits", root / "missing.fits",
             root / "dir-out" / "missing.fits", root, root / "sub" / ".." / "f.fits", root / ".." / "outside"]
    texts = [str(p) for p in paths]
    texts += [str(root / "sub") + "/", str(root / "sub") + "/.", str(root / "sub") + "/..", "f.fits", "",
              str(root / "f.fits") + "\x00", "/", str(root / "sub" / "g.fits").replace("/sub/", "//sub//")]
    return root, texts


def test_real_paths_resolve_each_path_as_resolve_does(tmp_path: Path) -> None:
    """The resolver of a bundle gives DataRoots.resolve's answer for every path (symlinks out of the roots,
    at the end or in a directory, are refused), and os.stat of the file it names."""
    root, paths = _trap_tree(tmp_path)
    roots = DataRoots([root])
    resolver = roots.resolver()
    for stored in paths + paths:  # the second round from the resolver's directories
        expected = roots.resolve(stored)
        assert resolver.resolve(stored) == expected, stored
        found = resolver.status(stored)
        if expected is None or not os.path.exists(expected):
            assert found is None, stored
        else:
            assert found is not None and found[0] == expected, stored
            assert (found[1].st_ino, found[1].st_size) == (os.stat(expected).st_ino, os.stat(expected).st_size)
    assert resolver.resolve(str(root / "link-out.fits")) is None
    assert resolver.resolve(str(root / "dir-out" / "secret.fits")) is None
    assert resolver.resolve(str(root / "link-in.fits")) == os.path.realpath(root / "f.fits")


def test_real_paths_resolve_a_directory_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").mkdir()
    for i in range(5):
        (tmp_path / "a" / f"{i}.fits").write_bytes(b"x")
    resolver = DataRoots([tmp_path]).resolver()
    calls: list[str] = []
    realpath = os.path.realpath
    monkeypatch.setattr(os.path, "realpath", lambda path: calls.append(str(path)) or realpath(path))
    assert all(resolver.status(str(tmp_path / "a" / f"{i}.fits")) is not None for i in range(5))
    assert calls == [str(tmp_path / "a")]
