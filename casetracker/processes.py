"""Is the process doing a long piece of work still there?

Work that runs for minutes or hours outside a web request (an import, an evidence check)
records the host and process id that run it, so that a process that died without a word
(``kill -9``, a crash, a reboot) is shown as interrupted rather than as running for ever. On the
host that ran it the process id tells at once. From another host (several app servers on one
PostgreSQL database) only a heartbeat can: work not seen for longer than a threshold counts as
gone. Hosts' clocks must agree (NTP) to well within that threshold.

A process id can be reused once its process has ended; a job on this host whose id now
belongs to another process would be taken for alive. Linux hands ids out in turn up to
``pid_max`` (4 million on 64-bit systems), so that takes a long time on a quiet server.
"""

import os
import socket
from datetime import datetime, timedelta

# Where names are cut: the columns and log details that keep them.
HOST_MAX_LENGTH = 255


def this_host() -> str:
    """This machine's name, as recorded beside a process id."""
    return socket.gethostname()[:HOST_MAX_LENGTH]


def pid_running(pid: int | None) -> bool | None:
    """Whether a process with this id exists on this host: True, False, or None where this
    cannot be asked (not a POSIX system). A zombie, ended but not yet reaped by its parent,
    has ended."""
    if not pid or pid <= 0:
        return False
    if os.name != "posix":
        # os.kill(pid, 0) would terminate the process on Windows, not ask about it.
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return False  # no /proc (macOS), or it ended just now: the next look will say
    # "pid (name) S …": the name may hold spaces and brackets; the state follows the last ")".
    end = text.rfind(b")")
    return text[end + 2 : end + 3] == b"Z"


def is_gone(
    host: str, pid: int | None, last_seen: datetime | None, *, now: datetime, stale_after: timedelta
) -> bool:
    """Whether the process recorded as ``host`` and ``pid``, last seen alive at ``last_seen``,
    has gone: on this host, if its id is no longer running; elsewhere (or where ids cannot be
    asked about), if it has not been seen for longer than ``stale_after``."""
    if host and pid and host == this_host():
        running = pid_running(pid)
        if running is not None:
            return not running
    return last_seen is None or now - last_seen > stale_after
