"""Clock faults for a process under libfaketime (Debian package `faketime`).

A FakeClock is a file holding a member's wall-clock offset ("+3600", "-3600",
"+0"); a process started with FakeClock.env() reads it through libfaketime, and
set() steps that process's wall clock while it runs (seen within ~1 s: the
library caches the file for FAKETIME_CACHE_DURATION seconds; rereading it on
every clock call would slow a busy node down). The monotonic clock is left
alone (FAKETIME_DONT_FAKE_MONOTONIC=1): a real NTP step or an operator's
`date -s` moves the wall clock only, and libfaketime would otherwise shift
CLOCK_MONOTONIC too, which no real clock fault does.

Used by scripts/chaos (--clock, clockstep faults) and test/cluster/time_faults_test.py.
"""
import glob
import os
import subprocess

CACHE_S = 1  # FAKETIME_CACHE_DURATION: a step is seen within this long


def library():
    """Path of libfaketime.so.1, or None when the package is not installed."""
    try:
        listed = subprocess.run(["dpkg", "-L", "libfaketime"], capture_output=True, text=True,
                                check=False).stdout.split()
    except OSError:
        listed = []
    candidates = [p for p in listed if p.endswith("/libfaketime.so.1")]
    candidates += glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    candidates += glob.glob("/usr/local/lib/faketime/libfaketime.so.1")
    return next((p for p in candidates if os.path.exists(p)), None)


class FakeClock:
    def __init__(self, path, offset_s=0):
        self.path = path
        self.offset_s = None
        self.set(offset_s)

    def set(self, offset_s):
        """Steps the wall clock of every process reading this file to real time + offset_s."""
        temp = self.path + ".tmp"
        with open(temp, "w") as f:
            f.write(f"{int(offset_s):+d}\n")
        os.replace(temp, self.path)  # never a half-written file for the library to read
        self.offset_s = offset_s

    def env(self, base=None):
        lib = library()
        if not lib:
            raise RuntimeError("libfaketime is not installed (scripts/deps installs faketime)")
        env = dict(os.environ if base is None else base)
        env.update({
            "LD_PRELOAD": lib,
            "FAKETIME_TIMESTAMP_FILE": self.path,
            "FAKETIME_CACHE_DURATION": str(CACHE_S),
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        })
        return env
