#!/usr/bin/env python3
"""A FUSE volume that hangs on demand, for tests/it/stuck_reads.rs.

    /usr/bin/python3 tests/it/hung_volume.py MOUNTPOINT SOURCE

(Debian's python3-fusepy, installed by scripts/test.sh.)

Serves two read-only files at MOUNTPOINT: wp-config.php (the bytes of SOURCE,
read once at start) and gate. Reading gate hangs the volume for good: the
daemon is single-threaded and its read of gate never returns, so every request
after it (an open or read of wp-config.php) is queued in the kernel and never
answered, as on a network share whose server went away. Prints "hung" when the
read of gate starts (the test waits for that line). The test ends it with SIGKILL, which fails every request still
queued, and then unmounts.
"""

import errno
import os
import stat
import sys
import threading

try:
    # Debian's python3-fusepy names the module fusepy; PyPI's fusepy names it fuse.
    from fusepy import FUSE, FuseOSError, Operations
except ImportError:
    from fuse import FUSE, FuseOSError, Operations


class HungVolume(Operations):
    def __init__(self, source: bytes):
        self.files = {"/wp-config.php": source, "/gate": b"gate\n"}

    def getattr(self, path, fh=None):
        if path == "/":
            return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
        if path in self.files:
            return {
                "st_mode": stat.S_IFREG | 0o644,
                "st_nlink": 1,
                "st_size": len(self.files[path]),
            }
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", ".."] + [name[1:] for name in self.files]

    def open(self, path, flags):
        if path not in self.files:
            raise FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        if path == "/gate":
            print("hung", flush=True)
            threading.Event().wait()
        return self.files[path][offset : offset + size]


def main() -> None:
    mountpoint, source = sys.argv[1], sys.argv[2]
    with open(source, "rb") as file:
        data = file.read()
    # direct_io: every read goes to the daemon, none is served from the page cache.
    FUSE(HungVolume(data), mountpoint, foreground=True, nothreads=True, ro=True, direct_io=True)


if __name__ == "__main__":
    os.umask(0o022)
    main()
