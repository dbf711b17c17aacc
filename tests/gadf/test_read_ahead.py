"""read_ahead: bundle batches made in a worker thread, one batch ahead of the consumer; batched: the batches."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
from collections.abc import Iterator

import pytest

from tapserver.errors import FatalFault
from tapserver.gadf.bundle import SMALL, batched, read_ahead

pytestmark = pytest.mark.nodb


def test_chunks_in_order_made_off_the_loop_one_ahead() -> None:
    made: list[tuple[int, int]] = []  # (chunk, chunks the consumer was done with when it was made)
    taken: list[bytes] = []
    done = [0]
    threads: set[int] = set()

    def chunks() -> Iterator[list[bytes]]:
        for i in range(6):
            threads.add(threading.get_ident())
            made.append((i, done[0]))
            yield [bytes([i]) * 10]

    async def consume() -> None:
        async for chunk in read_ahead(chunks()):
            taken.append(chunk)
            await asyncio.sleep(0.01)  # a slow socket: the next chunk is made meanwhile
            done[0] += 1

    asyncio.run(consume())
    assert taken == [bytes([i]) * 10 for i in range(6)]
    assert threading.get_ident() not in threads
    assert all(i - finished <= 1 for i, finished in made), made  # never more than one chunk ahead
    assert all(i - finished == 1 for i, finished in made[1:]), made  # made while the one before is sent


def test_an_error_reaches_the_consumer() -> None:
    def chunks() -> Iterator[list[bytes]]:
        yield [b"first"]
        raise FatalFault("data/x.fits became shorter while the bundle was sent")

    async def consume() -> list[bytes]:
        return [chunk async for chunk in read_ahead(chunks())]

    with pytest.raises(FatalFault, match="became shorter"):
        asyncio.run(consume())


def test_a_download_cut_short_drops_the_chunk_being_made(recwarn: pytest.WarningsRecorder) -> None:
    made: list[int] = []
    release = threading.Event()

    def chunks() -> Iterator[list[bytes]]:
        for i in range(100):
            if i == 1:
                release.wait(5)
            made.append(i)
            if i == 1:
                raise FatalFault("an error nobody waits for")
            yield [b"x"]

    errors: list[dict[str, object]] = []

    async def consume() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        stream = read_ahead(chunks())
        assert await stream.__anext__() == b"x"
        await stream.aclose()  # the client went away while chunk 1 was being made
        release.set()
        await asyncio.sleep(0.1)

    asyncio.run(consume())
    gc.collect()
    assert made == [0, 1] and errors == [], (made, errors)


def test_pieces_of_a_batch_are_sent_one_by_one() -> None:
    async def consume() -> list[bytes]:
        return [piece async for piece in read_ahead(iter([[b"a", b"b"], [b"c"]]))]

    assert asyncio.run(consume()) == [b"a", b"b", b"c"]


def test_batches_hold_the_file_bytes_as_read_and_join_the_small_pieces() -> None:
    header, pad = b"h" * 512, b"\0" * 100
    files = [bytes([i]) * (300_000 + i) for i in range(10)]
    pieces = [p for data in files for p in (header, data, pad)]
    batches = list(batched(iter(pieces), size=1 << 20))
    flat = [p for batch in batches for p in batch]
    assert b"".join(flat) == b"".join(pieces)
    assert all(any(p is data for p in flat) for data in files)  # not copied
    for batch in batches:  # small pieces side by side are one message
        assert not any(len(a) < SMALL and len(b) < SMALL for a, b in itertools.pairwise(batch))
    assert all(sum(map(len, batch)) >= 1 << 20 for batch in batches[:-1]) and len(batches) == 3
