"""Ask the kernel to bring many files into its page cache ahead of the processes that read them.

A first read of 50,000 case files from a cold page cache waited on the disk one small file at a
time: 24 s against 9–10 s warm (bench/RESULTS.md). Threads here open each file and tell the
kernel it will be needed (posix_fadvise WILLNEED), which starts the disk read and returns; the
readers then find the file in memory. The threads read nothing themselves, hold the GIL only
between system calls, and stop when the reading is done. Every failure is ignored: the reader
that opens the file for real reports it.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence

#: Never follow a link (the reader decides about links) and never wait on a FIFO or device.
_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def reading_order(paths: Sequence[str]) -> list[str]:
    """First, last, second, second to last, ...: this process reads a batch from its start while
    the helper processes take chunks from its end (engine/reading.py)."""
    order: list[str] = []
    low, high = 0, len(paths) - 1
    while low <= high:
        order.append(paths[low])
        if low != high:
            order.append(paths[high])
        low, high = low + 1, high - 1
    return order


#: Threads asking at once. Opening a file whose directory entry and inode are not cached waits on
#: the disk too; four at a time took a cold validate of 55,000 files from 12–18 s (one thread)
#: to 9.3–10.4 s, eight did no better (bench/RESULTS.md, fifth session).
THREADS = 4


class Prefetch:
    """`with Prefetch(paths):` the kernel is asked for each file, in reading order, while the body runs."""

    def __init__(self, paths: Sequence[str], threads: int = THREADS) -> None:
        ordered = reading_order(paths)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i, ordered[i::threads]), name="prefetch",
                                          daemon=True) for i in range(threads)]
        self._asked = [0] * threads

    @property
    def asked(self) -> int:
        """How many files the kernel was asked for so far."""
        return sum(self._asked)

    def __enter__(self) -> Prefetch:
        if hasattr(os, "posix_fadvise"):
            for thread in self._threads:
                thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.wait()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the threads to finish; whether they all have."""
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        return not any(thread.is_alive() for thread in self._threads)

    def _run(self, mine: int, paths: list[str]) -> None:
        for path in paths:
            if self._stop.is_set():
                return
            if _ask(path):
                self._asked[mine] += 1


def _ask(path: str) -> bool:
    try:
        descriptor = os.open(path, _FLAGS)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return False
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)
