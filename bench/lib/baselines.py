"""The baselines made by hand: plain PostgreSQL run as the OS user postgres with the binaries,
initdb flags and settings localrds uses, and a `cp -a` of a data directory."""

import os
import shutil
import subprocess
import tempfile
import time

from .env import PG_BIN, PG_USER, SUPERUSER
from .host import du_bytes

AS_POSTGRES = ["runuser", "-u", PG_USER, "--"]
# initdb's flags after -D <pgdata>, as localrds runs it
INITDB_FLAGS = ["-U", SUPERUSER, "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust",
                "--auth-host=scram-sha-256", "-N"]


def pg_tool(name):
    """The path of a PostgreSQL program (initdb, postgres, pg_basebackup) of PG_BIN."""
    return os.path.join(PG_BIN, name)


def by_hand_env():
    """The environment of the programs run as postgres (initdb's locale)."""
    return dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")


def postmaster_pid_lines(pgdata):
    """The lines of <pgdata>/postmaster.pid (OSError when there is none)."""
    with open(os.path.join(pgdata, "postmaster.pid")) as f:
        return f.read().split("\n")


def wait_postmaster(pgdata, proc, states=("ready",), timeout=60):
    """Polls postmaster.pid every ms until its status line is one of `states` (`ready`,
    `standby`), while `proc` (the server, or runuser around it) runs. -> True, or False when
    the server exited or `timeout` s passed."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            lines = postmaster_pid_lines(pgdata)
            if len(lines) >= 8 and lines[7].strip() in states:
                return True
        except OSError:
            pass
        time.sleep(0.001)
    return False


def postmaster_socket(pgdata):
    """(socket directory, port) from the server's postmaster.pid (lines 5 and 4)."""
    lines = postmaster_pid_lines(pgdata)
    return lines[4].strip(), int(lines[3])


def cp_baseline(pgdata, scratch_parent, without_wal=False):
    """`cp -a` of a (live) pgdata into a temp dir on the same filesystem, then one `sync -f`;
    the copy is deleted afterwards (untimed). without_wal: every entry but pg_wal, in one cp."""
    root = tempfile.mkdtemp(prefix="cp-baseline-", dir=scratch_parent)
    dst = os.path.join(root, "pgdata")
    try:
        if without_wal:
            os.mkdir(dst)
            srcs = [os.path.join(pgdata, n) for n in sorted(os.listdir(pgdata)) if n != "pg_wal"]
            argv = ["cp", "-a", "--", *srcs, dst + "/"]
        else:
            argv = ["cp", "-a", "--", pgdata, dst]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        t1 = time.perf_counter()
        subprocess.run(["sync", "-f", root], check=True, timeout=600)
        t2 = time.perf_counter()
        row = {"cp_s": t1 - t0, "sync_s": t2 - t1, "total_s": t2 - t0, "bytes": du_bytes(dst)}
        if r.returncode != 0:  # files that vanish under a live server: worth a note, not fatal
            row["cp_stderr"] = r.stderr.strip()[:500]
        return row
    finally:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["sync", "-f", scratch_parent], timeout=600)  # settle the delete's I/O
