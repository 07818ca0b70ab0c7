#!/usr/bin/env python3
"""Benchmarks for localrds' Multi-AZ instances: failover time, lost commits, write throughput.

Everything a user would do goes through the RDS Query API with boto3, against one
`localrds serve` on a temp data dir; the primary's postmaster pid comes from
GET /_localrds/instances/<id>. Each timing sits next to a baseline measured in the same run on
the same machine (or, where the issue's baseline is a hand-made PostgreSQL figure, next to that
figure with its source, /work/shared/PG-LIMITS.md):

  0. The probe itself on a healthy instance: a new TCP connection + SCRAM + one INSERT through
     the endpoint (a small PostgreSQL wire-protocol client, bench/lib/probe.py, so one attempt
     costs a few ms instead of psql's ~30 ms start-up); also `psql -c` per attempt, and INSERTs
     on an open connection (the commit latency with and without the synchronous standby).
  1. kill -9 of the primary's postmaster -> the first INSERT that succeeds through the endpoint
     (the health monitor fails over by itself), --reps times; the time split from localrds' log
     (detect, fence, promote, serve, the probe's tail).
  2. RebootDBInstance ForceFailover=true -> the first INSERT that succeeds on the new primary
     (a probe runs from the call on; INSERTs still answered by the old primary are told apart by
     pg_postmaster_start_time()), --reps times; also the write gap (last INSERT on the old
     primary -> first on the new one).
  3. Lost commits: --writers sessions insert numbered rows in autocommit and record every
     acknowledged one; kill -9 of the primary mid-stream; after the failover every acknowledged
     row must be there. --lost-reps times. Any acknowledged row missing fails the run.
  4. Write throughput: pgbench -i -s 10, then pgbench -c 4 -j 2 -T 15 on a Multi-AZ instance and
     on a single-AZ instance of the same localrds, interleaved; tps of each and the ratio.

Needs root (the kill -9 of a PostgreSQL server that runs as `postgres`), psql, pgbench, python3
with boto3. Wall times are printed, never asserted; the exit status is 1 when a section failed,
a failover did not complete, or an acknowledged row (or probe INSERT) was lost. Output: progress
on stderr, a report on stdout, then one line `BENCH_FAILOVER_JSON {...}` with every figure.

Usage: bench/run.sh failover [--quick] [...]   or   python3 bench/bench_failover.py --help
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import skeleton  # noqa: E402
from lib.api import Rds  # noqa: E402
from lib.baselines import (AS_POSTGRES, INITDB_FLAGS, by_hand_env, pg_tool,  # noqa: E402
                           wait_postmaster)
from lib.env import MASTER_PASSWORD, PG_USER, SUPERUSER  # noqa: E402
from lib.errors import BenchError  # noqa: E402
from lib.host import kill_postmasters_under, procs_in  # noqa: E402
from lib.multi_az import MAZ, PROBE_TABLE, MultiAz  # noqa: E402
from lib.pg import parse_tps, pg_env, pgbench_argv, pgbench_init, psql  # noqa: E402
from lib.probe import PgError, classify, connect, probe_once  # noqa: E402
from lib.report import (BaselineSummary, fmt, fmt_ratio, footer, host_text, log,  # noqa: E402
                        section_errors, servers_left, stat_cols)
from lib.skeleton import run_section, section_failed  # noqa: E402
from lib.stats import median, summary  # noqa: E402

SINGLE = "bench-single"
GOAL_MEDIAN_S, GOAL_MAX_S = 1.0, 3.0
REF_RDS = "RDS: 60-120 s"
REF_PROMOTE = ("PG-LIMITS.md row 9 (plain PostgreSQL, kill -9 then pg_promote(false) at once on "
               "the sync standby, wal_retrieve_retry_interval=100ms, INSERT probe on the "
               "standby's own port): 0.026 / 0.037 / 0.133 s; promote sent 100 ms after the "
               "kill: 0.127 / 0.129 / 0.135 s; health check every 100 ms detects in 0.003 / "
               "0.046 / 0.091 s")
REF_TPS = ("PG-LIMITS.md row 9 (scale 10, -c 4 -T 15, interleaved): no standby 3890 tps, sync "
           "standby 2312 (medians): ratio 0.59 (-41%)")
PLAIN_PROMOTE_S = 0.037  # PG-LIMITS row 9 median, for the ratio column

COMMITS_TABLE = ("CREATE TABLE IF NOT EXISTS bench_commits (run int NOT NULL, writer int NOT NULL,"
                 " n int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), "
                 "PRIMARY KEY (run, writer, n))")


# --------------------------------------------------------------------------------------------
# the baseline: the same failover by hand, plain PostgreSQL

class Handmade:
    """A primary and a synchronous hot standby by hand (as user `postgres`, same binaries, the
    settings localrds gives its servers that matter here: shared_buffers=16MB,
    max_connections=40, wal_retrieve_retry_interval=100ms, scram-sha-256 over TCP; no
    archiving), in two data directories that swap roles at every failover like localrds' hosts
    a and b. The probe is the same (new TCP connection + SCRAM + INSERT) as `rdsadmin`, whose
    password is the master password."""

    def __init__(self, root, ports, timeout):
        self.root, self.ports, self.timeout = root, list(ports), timeout
        self.dirs = [os.path.join(root, "a"), os.path.join(root, "b")]
        self.env = by_hand_env()
        self.primary = 0  # index into dirs; the standby is 1 - primary
        self.port_of = {}  # dir index -> TCP port
        self.procs = {}  # dir index -> Popen of `runuser ... postgres -D`, reaped by us: a
        #                  postmaster daemonized by pg_ctl stays a zombie here after kill -9, and
        #                  its socket lock file then looks held

    def pg(self, *argv, timeout=120):
        r = subprocess.run([*AS_POSTGRES, *argv], env=self.env, cwd="/", capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise BenchError(f"by hand: {' '.join(argv[:2])} failed: "
                             f"{(r.stdout + r.stderr)[-800:]}")
        return r.stdout

    def pid(self, i):
        with open(os.path.join(self.dirs[i], "postmaster.pid")) as f:
            return int(f.readline())

    def start(self, i, wait=True):
        """Starts the server of dirs[i] as our child; wait: until postmaster.pid says ready
        (or standby), polled every ms."""
        with open(self.dirs[i] + ".log", "ab") as logf:
            self.procs[i] = subprocess.Popen(
                [*AS_POSTGRES, pg_tool("postgres"), "-D", self.dirs[i]], env=self.env, cwd="/",
                stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        if not wait or wait_postmaster(self.dirs[i], self.procs[i], ("ready", "standby")):
            return
        raise BenchError(f"by hand: the server of {self.dirs[i]} did not start: "
                         f"{open(self.dirs[i] + '.log', errors='replace').read()[-800:]}")

    def reap(self, i, timeout=30):
        """Waits until the server of dirs[i] (and runuser) exited."""
        proc = self.procs.pop(i, None)
        if proc is not None:
            proc.wait(timeout=timeout)

    def set_port(self, i, port):
        with open(os.path.join(self.dirs[i], "bench_port.conf"), "w") as f:
            f.write(f"port = {port}\n")
        shutil.chown(os.path.join(self.dirs[i], "bench_port.conf"), PG_USER, PG_USER)
        self.port_of[i] = port

    def conn(self, i):
        return connect(("127.0.0.1", self.port_of[i]), 5, SUPERUSER, "postgres")

    def sql(self, i, q):
        c = self.conn(i)
        try:
            return c.query(q)
        finally:
            c.close()

    def wait_value(self, i, q, want, what, timeout=60):
        deadline = time.perf_counter() + timeout
        last = None
        while time.perf_counter() < deadline:
            try:
                rows = self.sql(i, q)
                last = rows[0][0] if rows else None
                if last == want:
                    return
            except (OSError, EOFError, PgError) as e:
                last = classify(e)
            time.sleep(0.01)
        raise BenchError(f"by hand: {what}: still {last!r} after {timeout} s")

    def setup(self):
        os.makedirs(self.root)
        shutil.chown(self.root, PG_USER, PG_USER)
        os.chmod(self.root, 0o700)
        a = self.dirs[0]
        self.pg(pg_tool("initdb"), "-D", a, *INITDB_FLAGS)
        with open(os.path.join(a, "postgresql.conf"), "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                    "shared_buffers = 16MB\nmax_connections = 40\n"
                    "password_encryption = 'scram-sha-256'\nwal_retrieve_retry_interval = 100ms\n"
                    "max_wal_senders = 10\ncluster_name = 's1'\n"
                    "include_if_exists = 'bench_port.conf'\n")
        self.set_port(0, self.ports[0])
        self.start(0)
        self.pg("psql", "-h", self.root, "-p", str(self.ports[0]), "-U", SUPERUSER,
                "-d", "postgres", "-Xq", "-v", "ON_ERROR_STOP=1",
                "-c", f"ALTER ROLE {SUPERUSER} PASSWORD '{MASTER_PASSWORD}'",
                "-c", PROBE_TABLE)
        self.build_standby(1, self.ports[1])

    def build_standby(self, i, port):
        """pg_basebackup of the primary into dirs[i] (wiped first), started as its synchronous
        standby (application_name s1 from cluster_name) on `port`."""
        p = self.primary
        d = self.dirs[i]
        shutil.rmtree(d, ignore_errors=True)
        self.pg(pg_tool("pg_basebackup"), "-h", self.root, "-p",
                str(self.port_of[p]), "-U", SUPERUSER, "-D", d, "-X", "stream", "-c", "fast",
                "--no-sync", "-R")
        with open(os.path.join(d, "postgresql.auto.conf"), "a") as f:
            f.write("synchronous_standby_names = ''\n")  # it is not a primary (yet)
        self.set_port(i, port)
        self.start(i)
        self.wait_value(p, "SELECT count(*) FROM pg_stat_replication WHERE application_name = "
                           "'s1' AND state = 'streaming'", "1", "the standby streams")
        self.sql(p, "ALTER SYSTEM SET synchronous_standby_names = 's1'")
        self.sql(p, "SELECT pg_reload_conf()")
        self.wait_value(p, "SELECT sync_state FROM pg_stat_replication WHERE application_name = "
                           "'s1'", "sync", "the standby is synchronous")

    def failover(self, restart, probe_gap, attempt_timeout):
        """kill -9 of the primary's postmaster, at once pg_promote(false) on the standby (over
        a connection opened before), then the probe until an INSERT succeeds: on the standby's
        own port, or (restart) on the old primary's port once the promoted standby was
        restarted there (poll pg_is_in_recovery() every 2 ms, SIGINT, wait until the postmaster
        exits, start it with the old port). Then a new standby in the old primary's directory."""
        p, s = self.primary, 1 - self.primary
        old_port, sb_port = self.port_of[p], self.port_of[s]
        target = old_port if restart else sb_port
        sql = "INSERT INTO bench_failover_probe (tag) VALUES ('handmade') RETURNING id"
        admin = self.conn(s)
        pid, sb_pid = self.pid(p), self.pid(s)
        row = {"restart": restart, "outcomes": {}, "attempts": 0}
        t0 = time.perf_counter()
        os.kill(pid, signal.SIGKILL)
        admin.query("SELECT pg_promote(false)")
        row["promote_sent_s"] = time.perf_counter() - t0
        if restart:
            while admin.query("SELECT pg_is_in_recovery()") != [["f"]]:
                time.sleep(0.002)
            row["promoted_s"] = time.perf_counter() - t0
            admin.close()
            os.kill(sb_pid, signal.SIGINT)  # fast shutdown
            proc = self.procs.pop(s)
            while proc.poll() is None:
                time.sleep(0.002)
            row["stopped_s"] = time.perf_counter() - t0
            self.set_port(s, old_port)
            self.start(s, wait=False)
            row["start_called_s"] = time.perf_counter() - t0
        else:
            admin.close()
        while True:
            outcome, _, _ = probe_once(("127.0.0.1", target), sql, attempt_timeout,
                                       SUPERUSER, "postgres")
            row["attempts"] += 1
            if outcome == "ok":
                break
            row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + 1
            if time.perf_counter() - t0 > self.timeout:
                raise BenchError(f"by hand: no INSERT on port {target} within {self.timeout} s "
                                 f"({row['outcomes']})")
            time.sleep(probe_gap)
        row["to_insert_s"] = time.perf_counter() - t0
        # wait until the old primary's processes are gone, then the old directory becomes the
        # new standby (on the port the new primary does not use)
        self.reap(p)
        deadline = time.time() + 30
        while procs_in(self.dirs[p]) and time.time() < deadline:
            time.sleep(0.01)
        self.primary = s
        if restart:
            self.port_of[s] = old_port
        t1 = time.perf_counter()
        self.build_standby(p, sb_port if restart else old_port)
        row["rebuild_s"] = time.perf_counter() - t1
        return row

    def stop(self):
        kill_postmasters_under(self.root)
        for i in list(self.procs):
            try:
                self.reap(i, timeout=10)
            except subprocess.TimeoutExpired:
                self.procs.get(i) and self.procs[i].kill()
        shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the benchmark

class FailoverBench:
    """One run: the server's API (self.rds: the instances cleanup must delete), its Multi-AZ
    instance (self.maz: create, wait for the standby, one failover with the probe) and a
    single-AZ one, and the sections."""

    def __init__(self, args, server):
        self.args = args
        self.server = server
        self.rds = Rds(server, args.timeout)
        self.maz = MultiAz(self.rds, args)
        self.single_ep = None

    # ---- setup

    def setup(self, res):
        self.rds.data_dir = self.server.health().get("data_dir")
        res["maz"] = self.maz.create(MAZ, True)
        res["single"] = self.maz.create(SINGLE, False)
        self.maz.ep, self.single_ep = res["maz"]["ep"], res["single"]["ep"]
        if not res["maz"]["multi_az"]:
            raise BenchError(f"{MAZ}: DescribeDBInstances says MultiAZ "
                             f"{res['maz']['multi_az']}")
        for ep in (self.maz.ep, self.single_ep):
            psql(ep, PROBE_TABLE + ";" + COMMITS_TABLE)
        info = self.server.inspect(MAZ)
        res["inspect"] = {k: info.get(k) for k in ("port", "server", "multi_az")}
        q = ("SELECT current_setting('synchronous_standby_names'), "
             "current_setting('synchronous_commit'), current_setting('archive_mode'), "
             "(SELECT string_agg(application_name || ':' || sync_state || ':' || state, ',') "
             "FROM pg_stat_replication)")
        for key, ep in (("maz", self.maz.ep), ("single", self.single_ep)):
            res[f"settings_{key}"] = psql(ep, q)
        log(f"settings (synchronous_standby_names|synchronous_commit|archive_mode|"
            f"pg_stat_replication): {MAZ} {res['settings_maz']}; {SINGLE} "
            f"{res['settings_single']}")

    # ---- 0. the probe on a healthy instance

    def measure_probe(self, out):
        a = self.args
        for key, ep in (("maz", self.maz.ep), ("single", self.single_ep)):
            sql = "INSERT INTO bench_failover_probe (tag) VALUES ('baseline') RETURNING id"
            probe_once(ep, sql, a.attempt_timeout)  # warm: caches, the salted password
            times, errors = [], []
            for _ in range(a.probe_samples):
                t0 = time.perf_counter()
                outcome, _, err = probe_once(ep, sql, a.attempt_timeout)
                t1 = time.perf_counter()
                if outcome == "ok":
                    times.append(t1 - t0)
                else:
                    errors.append(f"{outcome} {err or ''}")
                time.sleep(0.005)
            out[f"probe_{key}_s"] = summary(times)
            out[f"probe_{key}_errors"] = errors[:5]
            # psql per attempt (what a shell loop would use)
            if key == "maz":
                ptimes = []
                for _ in range(a.psql_samples):
                    t0 = time.perf_counter()
                    psql(ep, "INSERT INTO bench_failover_probe (tag) VALUES ('psql') RETURNING id")
                    ptimes.append(time.perf_counter() - t0)
                out["psql_maz_s"] = summary(ptimes)
            # INSERT on an open connection: the commit latency (sync standby or none)
            c = connect(ep, a.attempt_timeout)
            try:
                itimes = []
                for _ in range(a.insert_samples):
                    t0 = time.perf_counter()
                    c.query("INSERT INTO bench_failover_probe (tag) VALUES ('open') RETURNING id")
                    itimes.append(time.perf_counter() - t0)
            finally:
                c.close()
            out[f"insert_open_{key}_s"] = summary(itimes)
        p = out["probe_maz_s"]
        log(f"probe on a healthy {MAZ}: median {p['median'] * 1000:.1f} ms, max "
            f"{p['max'] * 1000:.1f} ms; psql per attempt median "
            f"{out['psql_maz_s']['median'] * 1000:.1f} ms; INSERT on an open connection median "
            f"{out['insert_open_maz_s']['median'] * 1000:.2f} ms (Multi-AZ) / "
            f"{out['insert_open_single_s']['median'] * 1000:.2f} ms (single-AZ)")

    # ---- 1 + 2. failover time

    def measure_failovers(self, out, mode):
        a = self.args
        rows = out["reps"] = []
        out["load_avg_before"] = os.getloadavg()
        for i in range(a.reps):
            try:
                rows.append(self.maz.failover_rep(mode, i))
            finally:
                out["to_insert_s"] = summary([r["to_insert_s"] for r in rows])
        out["load_avg_after"] = os.getloadavg()
        out["ready_again_s"] = summary([r.get("ready_again_s") for r in rows])
        out["write_gap_s"] = summary([r.get("write_gap_s") for r in rows])
        out["call_s"] = summary([r.get("call_s") for r in rows])
        for k in ("monitor_ms", "detect_ms", "fence_ms", "promote_ms", "serve_ms", "rebuild_ms",
                  "standby_ms"):
            out[k] = summary([r["log"].get(k) for r in rows])
        out["tail_ms"] = summary([r.get("tail_ms") for r in rows])
        out["lost_probe_inserts"] = sum(r.get("lost_probe_inserts") or 0 for r in rows)
        out["extra_failover_ops"] = sum(max(0, r["log"]["failover_ops"] - 1) for r in rows)

    # ---- 1b. the same by hand

    def measure_handmade(self, out):
        a = self.args
        hm = Handmade(os.path.join(self.server.tmp, "handmade"),
                      (self.server.next_port(), self.server.next_port()), a.failover_timeout)
        try:
            t0 = time.perf_counter()
            hm.setup()
            out["setup_s"] = time.perf_counter() - t0
            ep = ("127.0.0.1", hm.port_of[hm.primary])
            sql = "INSERT INTO bench_failover_probe (tag) VALUES ('baseline') RETURNING id"
            probe_once(ep, sql, a.attempt_timeout, SUPERUSER, "postgres")
            times = []
            for _ in range(a.probe_samples):
                t = time.perf_counter()
                if probe_once(ep, sql, a.attempt_timeout, SUPERUSER, "postgres")[0] == "ok":
                    times.append(time.perf_counter() - t)
                time.sleep(0.005)
            out["probe_s"] = summary(times)
            for key, restart in (("own_port", False), ("same_port", True)):
                rows = out[key] = []
                for i in range(a.handmade_reps):
                    r = hm.failover(restart, a.probe_gap, a.attempt_timeout)
                    rows.append(r)
                    log(f"by hand, {key} {i + 1}: first INSERT after {r['to_insert_s']:.3f} s "
                        + (f"(promoted {r['promoted_s']:.3f}, stopped {r['stopped_s']:.3f}, "
                           f"start called {r['start_called_s']:.3f}) " if restart else "")
                        + f"{r['attempts']} attempts {r['outcomes']}; standby rebuilt in "
                        f"{r['rebuild_s']:.2f} s")
                out[f"{key}_s"] = summary([r["to_insert_s"] for r in rows])
            sp = out["same_port"]
            out["promoted_s"] = summary([r["promoted_s"] for r in sp])
            out["stop_s"] = summary([r["stopped_s"] - r["promoted_s"] for r in sp])
            out["start_s"] = summary([r["to_insert_s"] - r["stopped_s"] for r in sp])
        finally:
            hm.stop()

    # ---- 3. lost commits

    def lost_rep(self, run):
        """--writers sessions insert (run, writer, n) in autocommit, each on one connection
        (reconnecting after an error), recording every acknowledged n; kill -9 of the primary
        after --kill-after s; each writer goes on until it has --rows-after acknowledged rows on
        the new primary. Then every acknowledged row must be there."""
        a, ep = self.args, self.maz.ep
        self.maz.wait_ready(MAZ)
        if a.settle:
            time.sleep(a.settle)
        pid, _ = self.maz.primary_pid(MAZ)
        offset = self.server.log_size()
        killed = threading.Event()
        stop = threading.Event()
        t_kill = [None]
        writers = []

        def writer(wid, st):
            conn, n, since = None, 0, None
            while not stop.is_set():
                if time.perf_counter() - t_start > a.failover_timeout + a.kill_after:
                    st["gave_up"] = True
                    break
                if conn is None:
                    try:
                        since = time.perf_counter()
                        conn = connect(ep, a.attempt_timeout)
                        st["connects"] += 1
                    except (OSError, EOFError, PgError) as e:
                        k = classify(e)
                        st["connect_errors"][k] = st["connect_errors"].get(k, 0) + 1
                        time.sleep(a.probe_gap)
                        continue
                n += 1
                try:
                    rows = conn.query(f"INSERT INTO bench_commits (run, writer, n) VALUES "
                                      f"({run}, {wid}, {n}) RETURNING n")
                except (OSError, EOFError, PgError) as e:
                    st["unacked"].append(n)
                    k = classify(e)
                    st["insert_errors"][k] = st["insert_errors"].get(k, 0) + 1
                    if isinstance(e, PgError) and len(st["pg_errors"]) < 3:
                        st["pg_errors"].append(str(e))
                    try:
                        conn.sock.close()
                    except OSError:
                        pass
                    conn = None
                    continue
                now = time.perf_counter()
                if rows != [[str(n)]]:
                    st["bad_answers"] += 1
                    continue
                st["acked"].append(n)
                # On a connection opened after the kill: the new primary (the old one's
                # listener died with its postmaster). An answer on an older connection comes
                # from the old primary, possibly a few ms after the kill (a commit the standby
                # had already confirmed).
                if killed.is_set() and since > t_kill[0]:
                    if st["first_after"] is None:
                        st["first_after"] = now - t_kill[0]
                    st["after"] += 1
                    if st["after"] >= a.rows_after:
                        break
                else:
                    st["last_old"] = now
            if conn is not None:
                conn.close()

        t_start = time.perf_counter()
        for wid in range(1, a.writers + 1):
            st = {"writer": wid, "acked": [], "unacked": [], "connects": 0, "connect_errors": {},
                  "insert_errors": {}, "pg_errors": [], "bad_answers": 0, "after": 0,
                  "first_after": None, "last_old": None}
            th = threading.Thread(target=writer, args=(wid, st), daemon=True)
            writers.append((th, st))
            th.start()
        time.sleep(a.kill_after)
        acked_at_kill = sum(len(st["acked"]) for _, st in writers)
        t_kill[0], w0 = time.perf_counter(), time.time()
        killed.set()
        os.kill(pid, signal.SIGKILL)
        for th, _ in writers:
            th.join(timeout=max(1.0, a.failover_timeout + a.kill_after
                                - (time.perf_counter() - t_start)))
        stop.set()
        for th, _ in writers:
            th.join(timeout=10)
        row = {"run": run, "writers": a.writers, "acked_at_kill_approx": acked_at_kill}
        try:
            row["ready_again_s"] = self.maz.wait_ready(MAZ)["s"] + time.perf_counter() - t_kill[0]
        except BenchError as e:
            row["ready_error"] = str(e)
        row["log"] = self.maz.failover_log(MAZ, offset, w0)
        acked = {(st["writer"], n) for _, st in writers for n in st["acked"]}
        unacked = {(st["writer"], n) for _, st in writers for n in st["unacked"]}
        rows = psql(ep, f"SELECT writer, n FROM bench_commits WHERE run = {run}", timeout=60)
        present = {tuple(map(int, ln.split("|"))) for ln in rows.split("\n") if ln}
        lost = sorted(acked - present)
        row.update({
            "acked": len(acked), "present": len(present), "lost": len(lost), "lost_rows": lost[:20],
            "in_doubt_attempts": len(unacked),
            "in_doubt_committed": len(unacked & present),
            "unexpected_rows": len(present - acked - unacked),
            "writers_gave_up": sum(1 for _, st in writers if st.get("gave_up")),
            "bad_answers": sum(st["bad_answers"] for _, st in writers),
            "insert_errors": {}, "connect_errors": {},
            "pg_errors": sorted({e for _, st in writers for e in st["pg_errors"]})[:5]})
        for _, st in writers:
            for key in ("insert_errors", "connect_errors"):
                for k, v in st[key].items():
                    row[key][k] = row[key].get(k, 0) + v
        firsts = [st["first_after"] for _, st in writers if st["first_after"] is not None]
        lasts = [st["last_old"] for _, st in writers if st["last_old"] is not None]
        row["first_ack_after_kill_s"] = min(firsts) if firsts else None
        row["all_writers_acked_after_kill_s"] = (max(firsts) if len(firsts) == a.writers
                                                 else None)
        # the last answer from the old primary, relative to the kill (> 0: after it)
        row["last_old_ack_s"] = (max(lasts) - t_kill[0]) if lasts else None
        log(f"lost-commits run {run}: {row['acked']} acknowledged ({acked_at_kill} before the "
            f"kill), {row['present']} rows present, LOST {row['lost']}, "
            f"{row['in_doubt_committed']}/{row['in_doubt_attempts']} unacknowledged attempts "
            f"committed anyway; first ack after the kill {fmt(row['first_ack_after_kill_s'])} s, "
            f"all writers {fmt(row['all_writers_acked_after_kill_s'])} s; insert errors "
            f"{row['insert_errors']}; split ms: detect {fmt(row['log'].get('detect_ms'), '.0f')}"
            f" fence {row['log'].get('fence_ms')} promote {row['log'].get('promote_ms')} serve "
            f"{row['log'].get('serve_ms')}")
        if row["acked"] == 0 or row["first_ack_after_kill_s"] is None:
            raise BenchError(f"lost-commits run {run}: no write succeeded after the kill "
                             f"({row['connect_errors']}); localrds log:\n  "
                             + "\n  ".join(row["log"]["lines"]))
        if "ready_error" in row:
            raise BenchError(f"lost-commits run {run}: {row['ready_error']}")
        return row

    def measure_lost(self, out):
        rows = out["runs"] = []
        for run in range(1, self.args.lost_reps + 1):
            try:
                rows.append(self.lost_rep(run))
            finally:
                out["runs_with_loss"] = sum(1 for r in rows if r["lost"])
                out["lost_total"] = sum(r["lost"] for r in rows)
                out["acked_total"] = sum(r["acked"] for r in rows)
        out["first_ack_after_kill_s"] = summary([r["first_ack_after_kill_s"] for r in rows])
        out["all_writers_acked_after_kill_s"] = summary([r["all_writers_acked_after_kill_s"]
                                                         for r in rows])
        out["last_old_ack_s"] = summary([r["last_old_ack_s"] for r in rows])
        for k in ("detect_ms", "fence_ms", "promote_ms", "serve_ms"):
            out[k] = summary([r["log"].get(k) for r in rows])

    # ---- 4. throughput

    def measure_tps(self, out):
        a = self.args
        eps = {"multi": (MAZ, self.maz.ep), "single": (SINGLE, self.single_ep)}
        self.maz.wait_ready(MAZ)
        for side, (ident, ep) in eps.items():
            log(f"{ident}: pgbench -i -s {a.scale}")
            out[f"init_{side}_s"] = pgbench_init(ep, a.scale, 1800, ident)
        out["settings_maz"] = psql(self.maz.ep, "SELECT current_setting('synchronous_standby_names'"
                                   "), (SELECT string_agg(application_name || ':' || sync_state, "
                                   "',') FROM pg_stat_replication)")
        runs = out["runs"] = []
        out["load_avg_before"] = os.getloadavg()
        for rnd in range(a.tps_rounds):
            order = ("single", "multi") if rnd % 2 == 0 else ("multi", "single")
            for side in order:
                ident, ep = eps[side]
                if side == "multi":
                    self.maz.wait_ready(MAZ)
                time.sleep(a.tps_settle)
                offset = self.server.log_size()
                argv = pgbench_argv(ep, "-c", str(a.clients), "-j", str(a.threads),
                                    "-T", str(a.duration))
                log(f"{ident}: {' '.join(argv)}")
                la = os.getloadavg()[0]
                r = subprocess.run(argv, env=pg_env(), capture_output=True, text=True,
                                   timeout=a.duration + 600)
                if r.returncode != 0:
                    raise BenchError(f"pgbench on {ident} failed: {(r.stdout + r.stderr)[-1500:]}")
                tps = parse_tps(r.stdout)
                lat = re.search(r"^latency average = ([0-9.]+) ms", r.stdout, re.M)
                failovers = sum(1 for ln in self.server.log_since(offset)
                                if " kind=failover " in ln and " step=fence " in ln)
                runs.append({"round": rnd + 1, "side": side, "tps": tps,
                             "latency_ms": float(lat.group(1)) if lat else None,
                             "load_avg_before": la, "failovers_during": failovers})
                log(f"{ident}: {tps} tps" + (f" !! {failovers} failover(s) during the run"
                                             if failovers else ""))
        out["load_avg_after"] = os.getloadavg()
        for side in ("multi", "single"):
            out[f"tps_{side}"] = median(r["tps"] for r in runs if r["side"] == side)
        if out.get("tps_multi") and out.get("tps_single"):
            out["ratio"] = out["tps_multi"] / out["tps_single"]
        out["failovers_during"] = sum(r["failovers_during"] for r in runs)

    # ---- cleanup through the API

    def api_cleanup(self, out):
        self.rds.delete_all(out)


def run(args, res):
    res.update({"reps": args.reps, "lost_reps": args.lost_reps, "scale": args.scale,
                "options": {k: getattr(args, k) for k in
                            ("probe_gap", "pre_probe", "attempt_timeout", "settle", "writers",
                             "kill_after", "rows_after", "duration", "clients", "threads",
                             "tps_rounds")}})

    def sections(server):
        bench = FailoverBench(args, server)
        if run_section(res, "setup", bench.setup):
            run_section(res, "probe", bench.measure_probe)
            if not args.no_failover:
                if not args.no_handmade:
                    run_section(res, "handmade", bench.measure_handmade)
                run_section(res, "kill", bench.measure_failovers, "kill")
                run_section(res, "forced", bench.measure_failovers, "forced")
            if not args.no_lost:
                run_section(res, "lost", bench.measure_lost)
            if not args.no_tps:
                run_section(res, "tps", bench.measure_tps)
        run_section(res, "api_cleanup", bench.api_cleanup)
    skeleton.with_server(args, "failover", res, sections)


# --------------------------------------------------------------------------------------------
# report

def report(res):
    w = sys.stdout.write
    w(f"\n=== localrds Multi-AZ failover benchmark ({res['mode']} mode, {res['reps']} failovers "
      f"of each kind, {res['lost_reps']} lost-commit runs, {host_text(res)}) ===\n")
    section_errors(w, res, ("setup", "probe", "handmade", "kill", "forced", "lost", "tps",
                            "api_cleanup"))

    su = res.get("setup", {})
    if "maz" in su:
        m, s = su["maz"], su.get("single") or {}
        w(f"\ninstances: {MAZ} (MultiAZ {m['multi_az']}, {m['az']} + {m['secondary_az']}) "
          f"available after {m['available_s']:.2f} s, standby ready after "
          f"{fmt(m.get('standby_ready_s'), '.2f')} s; {SINGLE} (MultiAZ {s.get('multi_az')}) "
          f"available after {fmt(s.get('available_s'), '.2f')} s; BackupRetentionPeriod "
          f"{m['backup_retention_period']} / {s.get('backup_retention_period')}\n")
        w(f"settings (synchronous_standby_names|synchronous_commit|archive_mode|"
          f"pg_stat_replication app:sync_state:state): {MAZ} '{su.get('settings_maz')}', "
          f"{SINGLE} '{su.get('settings_single')}'\n")
    o = res.get("options", {})

    pr = res.get("probe", {})
    probe_med = (pr.get("probe_maz_s") or {}).get("median")
    if pr.get("probe_maz_s"):
        w("\n-- 0. the probe on a healthy instance (baseline, seconds)\n")
        w(f"{'series':<58}{'n':>4}{'min':>9}{'median':>9}{'max':>9}\n")
        for label, key in (("probe: new connection + SCRAM + INSERT, Multi-AZ", "probe_maz_s"),
                           ("probe: new connection + SCRAM + INSERT, single-AZ",
                            "probe_single_s"),
                           ("psql -c INSERT per attempt, Multi-AZ", "psql_maz_s"),
                           ("INSERT on an open connection, Multi-AZ (sync standby)",
                            "insert_open_maz_s"),
                           ("INSERT on an open connection, single-AZ", "insert_open_single_s")):
            st = pr.get(key)
            if st:
                w(f"{label:<58}{stat_cols(st, 4, 9, '.4f')}\n")
        w(f"the failover probes below are the first row: after a failed attempt they wait "
          f"{o.get('probe_gap', 0) * 1000:g} ms (--probe-gap), so a failover time is late by at "
          f"most about gap + one attempt; attempt timeout {o.get('attempt_timeout')} s\n")

    def failover_table(sec, title, mode):
        rows = sec.get("reps", [])
        if not rows:
            return
        w(f"\n-- {title}\n")
        head = (f"{'rep':>3}{'INSERT s':>10}" + (f"{'call s':>8}{'gap s':>8}{'old ok':>7}"
                                                 if mode == "forced" else "")
                + f"{'detect':>8}{'fence':>7}{'promote':>8}{'serve':>7}{'tail':>7}"
                f"{'tries':>7}  {'host':<6}{'ready s':>8}  errors seen by the probe\n")
        w(head)
        for r in rows:
            fl = r["log"]
            w(f"{r['rep']:>3}{fmt(r['to_insert_s']):>10}"
              + (f"{fmt(r.get('call_s')):>8}{fmt(r.get('write_gap_s')):>8}{r['ok_old']:>7}"
                 if mode == "forced" else "")
              + f"{fmt(fl.get('detect_ms'), '.0f'):>8}{fmt(fl.get('fence_ms'), 'd'):>7}"
              f"{fmt(fl.get('promote_ms'), 'd'):>8}{fmt(fl.get('serve_ms'), 'd'):>7}"
              f"{fmt(r.get('tail_ms'), '.0f'):>7}{r['attempts']:>7}  "
              f"{str(r['old_host']) + '->' + str(r.get('new_host')):<6}"
              f"{fmt(r.get('ready_again_s'), '.2f'):>8}  "
              f"{', '.join(f'{k} {v}' for k, v in sorted(r['outcomes'].items()))}\n")
        w("(detect/fence/promote/serve/tail in ms; detect = " +
          ("kill" if mode == "kill" else "call sent") + " -> fence step start, from localrds' "
          "log (ms timestamps); tail = serve step logged -> probe's INSERT acknowledged (< 0: "
          "the probe got in before the log line); ready s = until the old host is the new "
          "standby, `ready`)\n")
        st = sec.get("to_insert_s")
        if st:
            w(f"{'series':<50}{'n':>3}{'min':>8}{'median':>8}{'max':>8}{'vs probe':>10}\n")
            lines = [(("kill -9 -> first INSERT" if mode == "kill" else
                       "call -> first INSERT on the new primary"), st)]
            if mode == "forced":
                lines += [("write gap: last INSERT on old -> first on new", sec.get("write_gap_s")),
                          ("call -> call answered (standby rebuilt)", sec.get("call_s"))]
            lines.append(("-> standby ready again", sec.get("ready_again_s")))
            for label, s in lines:
                if s:
                    w(f"{label:<50}{stat_cols(s)}{fmt_ratio(s['median'], probe_med):>10}\n")
            w(f"goal: median <= {GOAL_MEDIAN_S:g} s: "
              f"{'met' if st['median'] <= GOAL_MEDIAN_S else 'NOT met'} ({st['median']:.3f} s); "
              f"max <= {GOAL_MAX_S:g} s: {'met' if st['max'] <= GOAL_MAX_S else 'NOT met'} "
              f"({st['max']:.3f} s). {REF_RDS}\n")
            w(f"ratio to the probe's healthy round-trip "
              f"({fmt(probe_med and probe_med * 1000, '.1f')} ms): median "
              f"{fmt_ratio(st['median'], probe_med)}, max "
              f"{fmt_ratio(st['max'], probe_med)}; to plain promotion (PG-LIMITS median "
              f"{PLAIN_PROMOTE_S} s): median {fmt_ratio(st['median'], PLAIN_PROMOTE_S)}\n")
            parts = []
            for k, label in (("monitor_ms", "monitor logged"), ("detect_ms", "detect"),
                             ("fence_ms", "fence"), ("promote_ms", "promote"),
                             ("serve_ms", "serve"), ("tail_ms", "tail"),
                             ("rebuild_ms", "rebuild"), ("standby_ms", "standby")):
                s = sec.get(k)
                if s:
                    parts.append(f"{label} {s['median']:.0f} (max {s['max']:.0f})")
            w("time split, median ms: " + ", ".join(parts) + "\n")
        lost = sec.get("lost_probe_inserts")
        acked = sum(r.get("acked", 0) for r in rows)
        w(f"acknowledged probe INSERTs missing after the failover: {lost} of {acked}"
          + (f"; extra failover operations started: {sec['extra_failover_ops']}"
             if sec.get("extra_failover_ops") else "") + "\n")
        seen = {}
        for r in rows:
            for e in r.get("pg_errors", []):
                seen[e] = seen.get(e, 0) + 1
        if seen:
            w("server errors seen by the probe: " + "; ".join(f"{e} (x{n})" for e, n in
                                                              sorted(seen.items())) + "\n")
        la, lb = sec.get("load_avg_before"), sec.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after: {la[0]:.2f} / {lb[0]:.2f}\n")
        for r in rows:
            if (r.get("to_insert_s") or 0) > GOAL_MAX_S or r["log"].get("failed_steps") \
                    or r["log"]["failover_ops"] != 1:
                w(f"!! rep {r['rep']}: {fmt(r['to_insert_s'])} s, failover ops "
                  f"{r['log']['failover_ops']}, failed steps {r['log'].get('failed_steps')}; "
                  f"probe sequence (start, end, outcome) {r.get('sequence', [])[-12:]}; "
                  f"localrds log of the rep:\n")
                for ln in r["log"]["lines"]:
                    w(f"   {ln}\n")
        if sec.get("error") and sec["error"].count("\n"):
            w(f"!! the failing rep:\n   {sec['error']}\n")
    hm = res.get("handmade", {})
    if hm.get("own_port_s") or hm.get("same_port_s"):
        w("\n-- 1b. baseline: the same failover by hand, plain PostgreSQL 15 (same run, same "
          "probe; a primary and a synchronous hot standby made with initdb + pg_basebackup as "
          "user postgres, shared_buffers=16MB, wal_retrieve_retry_interval=100ms; no "
          "detection: pg_promote(false) is sent at once over a connection opened before)\n")
        w(f"{'series':<58}{'n':>3}{'min':>8}{'median':>8}{'max':>8}\n")
        for label, key in (("probe round-trip on the hand-made primary (healthy)", "probe_s"),
                           ("kill -9 -> promote -> INSERT on the standby's own port",
                            "own_port_s"),
                           ("kill -9 -> promote -> restart on the primary's port -> INSERT",
                            "same_port_s"),
                           ("  of which kill -> promotion ended (pg_is_in_recovery f)",
                            "promoted_s"),
                           ("  of which fast shutdown of the promoted standby", "stop_s"),
                           ("  of which pg_ctl start -W on the old port -> INSERT", "start_s")):
            st = hm.get(key)
            if st:
                w(f"{label:<58}{stat_cols(st)}\n")
        w(f"the second row is what the endpoint-keeping failover of localrds does (its serve "
          f"step), minus detection and bookkeeping. Reference: {REF_PROMOTE}\n")

    failover_table(res.get("kill", {}), "1. kill -9 of the primary postmaster -> first INSERT "
                   "through the endpoint (new connection per attempt)", "kill")
    failover_table(res.get("forced", {}), "2. RebootDBInstance ForceFailover=true -> first "
                   "INSERT on the new primary (probe from the call on)", "forced")

    lo = res.get("lost", {})
    if lo.get("runs"):
        w(f"\n-- 3. lost commits: {o.get('writers')} writers insert numbered rows in autocommit "
          f"(one connection each), kill -9 of the primary after {o.get('kill_after')} s, "
          f"{o.get('rows_after')} more rows each after the failover\n")
        w(f"{'run':>3}{'acked':>8}{'at kill':>9}{'present':>9}{'LOST':>6}{'in doubt':>10}"
          f"{'last old':>10}{'1st new':>9}{'all new':>9}{'detect':>8}{'promote':>8}{'serve':>7}"
          f"  insert errors / connect errors\n")
        for r in lo["runs"]:
            fl = r["log"]
            w(f"{r['run']:>3}{r['acked']:>8}{r['acked_at_kill_approx']:>9}{r['present']:>9}"
              f"{r['lost']:>6}{'%d/%d' % (r['in_doubt_committed'], r['in_doubt_attempts']):>10}"
              f"{fmt(r.get('last_old_ack_s')):>10}{fmt(r['first_ack_after_kill_s']):>9}"
              f"{fmt(r['all_writers_acked_after_kill_s']):>9}"
              f"{fmt(fl.get('detect_ms'), '.0f'):>8}{fmt(fl.get('promote_ms'), 'd'):>8}"
              f"{fmt(fl.get('serve_ms'), 'd'):>7}  {r['insert_errors']} / {r['connect_errors']}\n")
        w("(acked: INSERTs whose answer came back; at kill: acknowledged when the kill was sent;"
          " in doubt: attempts without an answer that committed anyway / all such attempts "
          "(allowed); seconds from the kill: last old = the last answer from the old primary "
          "(a commit the standby had confirmed can still be answered after the kill), 1st new ="
          " the first acknowledged INSERT on the new primary (a connection opened after the "
          "kill), all new = every writer has one; detect/promote/serve ms from localrds' log)\n")
        n = len(lo["runs"])
        w(f"lost commits: {lo['runs_with_loss']}/{n} runs lost any ({lo['lost_total']} of "
          f"{lo['acked_total']} acknowledged rows missing)"
          + ("" if not lo["runs_with_loss"] else " !! FAILED") + "\n")
        for r in lo["runs"]:
            if r["lost"]:
                w(f"!! run {r['run']}: lost rows (writer, n) {r['lost_rows']}; localrds log:\n")
                for ln in r["log"]["lines"]:
                    w(f"   {ln}\n")
            if r.get("unexpected_rows") or r.get("bad_answers") or r.get("writers_gave_up"):
                w(f"!! run {r['run']}: {r['unexpected_rows']} rows nobody inserted, "
                  f"{r['bad_answers']} wrong answers, {r['writers_gave_up']} writers gave up\n")
        errs = sorted({e for r in lo["runs"] for e in r.get("pg_errors", [])})
        if errs:
            w("server errors seen by the writers: " + "; ".join(errs) + "\n")
        s = lo.get("first_ack_after_kill_s")
        if s:
            w(f"kill -> first acknowledged write on the new primary, under load: median "
              f"{s['median']:.3f} s, max {s['max']:.3f} s\n")

    tp = res.get("tps", {})
    if tp.get("runs"):
        w(f"\n-- 4. write throughput: pgbench -c {o.get('clients')} -j {o.get('threads')} -T "
          f"{o.get('duration')} (tpcb-like, scale {res['scale']}), interleaved, same localrds\n")
        w(f"pgbench -i -s {res['scale']}: Multi-AZ {fmt(tp.get('init_multi_s'), '.1f')} s, "
          f"single-AZ {fmt(tp.get('init_single_s'), '.1f')} s; Multi-AZ "
          f"synchronous_standby_names|pg_stat_replication: '{tp.get('settings_maz')}'\n")
        w(f"{'round':>5}  {'instance':<14}{'tps':>9}{'lat ms':>9}{'load1':>7}\n")
        for r in tp["runs"]:
            w(f"{r['round']:>5}  {(MAZ if r['side'] == 'multi' else SINGLE):<14}"
              f"{fmt(r['tps'], '.0f'):>9}{fmt(r['latency_ms'], '.3f'):>9}"
              f"{r['load_avg_before']:>7.2f}"
              + (f"  !! {r['failovers_during']} failover(s) during the run"
                 if r["failovers_during"] else "") + "\n")
        ratio = tp.get("ratio")
        w(f"tps Multi-AZ {fmt(tp.get('tps_multi'), '.0f')} / single-AZ "
          f"{fmt(tp.get('tps_single'), '.0f')} = {fmt(ratio, '.2f')} "
          f"({fmt(ratio and (ratio - 1) * 100, '+.0f')}%); reference {REF_TPS}\n")

    cl = res.get("api_cleanup", {})
    for e in cl.get("errors", []):
        w(f"!! cleanup: {e}\n")
    servers_left(w, res)

    line = BaselineSummary(w, ratio_width=9).line

    hm_same = (hm.get("same_port_s") or {}).get("median")
    hm_own = (hm.get("own_port_s") or {}).get("median")
    for key, label in (("kill", "kill -9 -> first INSERT"),
                       ("forced", "ForceFailover -> first INSERT")):
        st = res.get(key, {}).get("to_insert_s")
        if st:
            line(f"{label}, s (median)", st["median"], probe_med,
                 f"probe round-trip, same run; goal <= {GOAL_MEDIAN_S:g} s")
            line(f"{label}, s (max)", st["max"], probe_med,
                 f"probe round-trip, same run; goal <= {GOAL_MAX_S:g} s")
            if hm_same:
                line("  median vs by hand, same port", st["median"], hm_same,
                     "kill -9, promote, restart on the port, by hand, same run")
            if hm_own:
                line("  median vs by hand, standby's own port", st["median"], hm_own,
                     "kill -9, promote, by hand, same run (PG-LIMITS 0.037)")
        elif key in res:
            line(f"{label}, s", "error")
    fg = res.get("forced", {}).get("write_gap_s")
    if fg:
        line("ForceFailover write gap, s (median)", fg["median"], probe_med,
             "probe round-trip, same run")
    if lo.get("runs"):
        line("lost commits (runs that lost any)", f"{lo['runs_with_loss']}/{len(lo['runs'])}",
             None, f"{lo['lost_total']} of {lo['acked_total']} acknowledged rows; must be 0")
        s = lo.get("first_ack_after_kill_s")
        if s:
            line("kill -9 -> first write under load, s (med)", s["median"], probe_med,
                 "probe round-trip, same run")
    elif "lost" in res:
        line("lost commits", "error")
    if tp.get("ratio"):
        line("pgbench tps, Multi-AZ", tp["tps_multi"], tp["tps_single"],
             "single-AZ, same run; PG-LIMITS sync standby 0.59", ".0f")
    elif "tps" in res:
        line("pgbench tps, Multi-AZ", "error")
    footer(w, res)


def failed(res):
    """True when a section failed, an acknowledged row or probe INSERT was lost."""
    if section_failed(res):
        return True
    if res.get("lost", {}).get("runs_with_loss"):
        return True
    for key in ("kill", "forced"):
        if res.get(key, {}).get("lost_probe_inserts"):
            return True
    return False


def main():
    ap = skeleton.parser(__doc__, "smoke run: 3 reps, pgbench -T 5")
    ap.add_argument("--reps", type=int, help="failovers of each kind, kill -9 and forced "
                                             "(default 10, quick 3)")
    ap.add_argument("--lost-reps", type=int, help="lost-commit runs (default 10, quick 3)")
    ap.add_argument("--writers", type=int, default=4, help="writer sessions of the lost-commit "
                                                           "test (default 4)")
    ap.add_argument("--kill-after", type=float, default=1.0,
                    help="seconds of writing before the kill (default 1)")
    ap.add_argument("--rows-after", type=int, default=20,
                    help="acknowledged rows each writer adds after the failover (default 20)")
    ap.add_argument("--probe-gap", type=float, default=0.005,
                    help="seconds between a failed probe attempt and the next (default 0.005)")
    ap.add_argument("--pre-probe", type=float, default=0.2,
                    help="seconds the forced-failover probe runs before the call (default 0.2)")
    ap.add_argument("--attempt-timeout", type=float, default=3.0,
                    help="socket timeout of one probe attempt / write (default 3 s)")
    ap.add_argument("--failover-timeout", type=float, default=60.0,
                    help="how long the probe tries before the failover counts as failed")
    ap.add_argument("--ready-timeout", type=float, default=180.0,
                    help="how long to wait for `available` with a ready standby")
    ap.add_argument("--settle", type=float, default=0.3,
                    help="seconds between `ready` and the next failover (default 0.3)")
    ap.add_argument("--probe-samples", type=int, help="healthy probe attempts (default 50, "
                                                      "quick 20)")
    ap.add_argument("--psql-samples", type=int, help="psql attempts (default 10, quick 5)")
    ap.add_argument("--insert-samples", type=int, help="INSERTs on an open connection "
                                                       "(default 200, quick 50)")
    ap.add_argument("--scale", type=int, default=10, help="pgbench scale (default 10)")
    ap.add_argument("--duration", type=int, help="pgbench -T (default 15, quick 5)")
    ap.add_argument("--clients", type=int, default=4, help="pgbench -c (default 4)")
    ap.add_argument("--threads", type=int, default=2, help="pgbench -j (default 2)")
    ap.add_argument("--tps-rounds", type=int, help="pgbench rounds, each on both instances in "
                                                   "alternating order (default 2, quick 1)")
    ap.add_argument("--tps-settle", type=float, default=2.0,
                    help="seconds of quiet before each pgbench run (default 2)")
    ap.add_argument("--no-failover", action="store_true", help="skip sections 1 and 2")
    ap.add_argument("--handmade-reps", type=int,
                    help="failovers by hand of each kind (default 5, quick 2)")
    ap.add_argument("--no-handmade", action="store_true",
                    help="skip the plain-PostgreSQL failover by hand")
    ap.add_argument("--no-lost", action="store_true", help="skip the lost-commit test")
    ap.add_argument("--no-tps", action="store_true", help="skip the throughput test")
    ap.add_argument("--timeout", type=float, default=600.0, help="limit of API waits, seconds")
    ap.add_argument("--pool-size", type=int, default=0,
                    help="localrds --pool-size (default 0: no initdb in the background while "
                         "measuring)")
    args = skeleton.parse(ap, (("reps", 10, 3), ("lost_reps", 10, 3), ("duration", 15, 5),
                               ("tps_rounds", 2, 1), ("probe_samples", 50, 20),
                               ("handmade_reps", 5, 2), ("psql_samples", 10, 5),
                               ("insert_samples", 200, 50)))
    if min(args.reps, args.lost_reps, args.writers, args.tps_rounds, args.probe_samples,
           args.psql_samples, args.insert_samples, args.scale, args.duration) < 1:
        sys.exit("counts, --scale and --duration must be at least 1")
    skeleton.require(args, "bench_failover.py", ("psql", "pgbench", "runuser"))
    if os.geteuid() != 0:
        sys.exit("bench_failover.py must run as root: it kills PostgreSQL servers that run as "
                 "the user postgres")

    skeleton.measure(args, run, report, failed, "BENCH_FAILOVER_JSON")


if __name__ == "__main__":
    main()
