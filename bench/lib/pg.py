"""PostgreSQL through psql and pgbench over TCP as the master user, like an application: one
statement per psql, pgbench, and a persistent psql session for cheap sampling."""

import os
import queue
import re
import subprocess
import threading
import time

from .env import DB_NAME, MASTER_PASSWORD, MASTER_USER
from .errors import BenchError
from .report import log


def pg_env():
    # PGTZ=UTC: pgbench_history.mtime is a timestamp without time zone written in the session's
    # time zone; with UTC everywhere, a target time can be compared with it directly.
    return dict(os.environ, PGPASSWORD=MASTER_PASSWORD, PGTZ="UTC", PGCONNECT_TIMEOUT="10")


def psql(ep, sql, timeout=300):
    """Runs one statement on ep = (host, port); returns its unaligned, tuples-only output."""
    argv = ["psql", "-h", ep[0], "-p", str(ep[1]), "-U", MASTER_USER, "-d", DB_NAME,
            "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql]
    try:
        r = subprocess.run(argv, env=pg_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"psql on {ep[0]}:{ep[1]} took more than {timeout} s: {sql}") from None
    if r.returncode != 0:
        raise BenchError(f"psql on {ep[0]}:{ep[1]} failed ({sql}): {r.stderr.strip()}")
    return r.stdout.strip()


def sql_check(port, timeout=30):
    """Seconds until `SELECT 1` as the master user over TCP succeeds (psql), or None."""
    env = dict(os.environ, PGPASSWORD=MASTER_PASSWORD, PGCONNECT_TIMEOUT="5")
    t0 = time.perf_counter()
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        r = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", MASTER_USER,
                            "-d", DB_NAME, "-XAtqc", "select 1"], env=env,
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == "1":
            return time.perf_counter() - t0
        time.sleep(0.01)
    return None


def pgbench_argv(ep, *extra):
    return ["pgbench", "-h", ep[0], "-p", str(ep[1]), "-U", MASTER_USER, *extra, DB_NAME]


def pgbench_init(ep, scale, timeout, name=None):
    """`pgbench -i -q -s <scale>`; -> seconds. name: the instance, for the error message."""
    on = f" on {name}" if name else ""
    t0 = time.perf_counter()
    try:
        r = subprocess.run(pgbench_argv(ep, "-i", "-q", "-s", str(scale)), env=pg_env(),
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"pgbench -i{on} did not finish") from None
    if r.returncode != 0:
        raise BenchError(f"pgbench -i{on} failed: {(r.stdout + r.stderr)[-1500:]}")
    return time.perf_counter() - t0


def parse_tps(output):
    m = re.search(r"^tps = ([0-9.]+)", output or "", re.M)
    return float(m.group(1)) if m else None


def wait_archiver(ep, name):
    """Waits (at most 120 s) until the archiver of the instance at `ep` has every completed WAL
    segment, so that it does not compete with the measurements. Returns seconds, or None."""
    sql = ("SELECT coalesce(last_archived_wal, '') >= pg_walfile_name(pg_current_wal_lsn() - "
           "pg_size_bytes(current_setting('wal_segment_size'))::numeric) FROM pg_stat_archiver")
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 120:
        if psql(ep, sql) == "t":
            return time.perf_counter() - t0
        time.sleep(0.5)
    log(f"!! {name}: the archiver had not caught up after 120 s")
    return None


class PsqlSession:
    """A `psql -XAtq` process fed queries on stdin: no psql start-up and no new connection per
    query. Each query is followed by `\\echo` of an end marker, so the answer is every line up
    to the marker; a reader thread puts the lines in a queue, so that every wait has a timeout.
    Queries should not fail (errors come back as lines containing ERROR:/FATAL:, and the answer
    is then an error)."""

    END = "__BENCH_END__"
    ERROR_MARKS = ("ERROR:", "FATAL:", "PANIC:", "psql:", "server closed the connection",
                   "connection to server", "could not")

    def __init__(self, ep, label):
        self.ep, self.label = ep, label
        self.proc = None
        self.opens = 0
        self.open()

    def open(self):
        self.close()
        self.lines = queue.Queue()
        self.proc = subprocess.Popen(
            ["psql", "-h", self.ep[0], "-p", str(self.ep[1]), "-U", MASTER_USER,
             "-d", DB_NAME, "-XAtq"],
            env=pg_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.opens += 1
        threading.Thread(target=self._reader, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _reader(proc, lines):
        for ln in proc.stdout:
            lines.put(ln.rstrip("\n"))
        lines.put(None)  # EOF: psql exited

    def query(self, sql, timeout=30):
        """-> list of rows (lists of fields, '' for NULL). Raises BenchError on an error answer,
        EOFError when psql exited (e.g. the connection was lost)."""
        try:
            self.proc.stdin.write(f"{sql};\n\\echo {self.END}\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            raise EOFError(f"psql session to {self.label} is closed") from None
        out = []
        deadline = time.perf_counter() + timeout
        while True:
            try:
                ln = self.lines.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                raise BenchError(f"psql session to {self.label}: no answer within {timeout} s "
                                 f"to {sql!r}") from None
            if ln is None:
                raise EOFError(f"psql session to {self.label} ended: {' / '.join(out)[-300:]}")
            if ln == self.END:
                break
            out.append(ln)
        if any(any(m in ln for m in self.ERROR_MARKS) for ln in out):
            raise BenchError(f"psql session to {self.label}: {sql!r} -> {' / '.join(out)[:300]}")
        return [ln.split("|") for ln in out]

    def value(self, sql, timeout=30):
        rows = self.query(sql, timeout)
        return rows[0][0] if rows and rows[0] else None

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
