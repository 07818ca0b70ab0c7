#!/usr/bin/env python3
"""Benchmarks for localrds' read replicas: creation, replication lag, promotion.

Everything goes through the RDS Query API with boto3 (as a user would), against one
`localrds serve` on a temp data dir. Each timing sits next to a baseline measured in the same
run on the same machine, or, where the issue's baseline is a hand-made PostgreSQL figure, next to
that figure with its source (/work/shared/PG-LIMITS.md):

  1. CreateDBInstanceReadReplica -> replica `available`, of a ~150 MiB database
     (pgbench -i -s 10), against `cp -a` + `sync -f` of the source's pgdata (and the same without
     pg_wal, and pg_basebackup -X stream -c fast by hand, which is what localrds runs).
     Each replica must be in recovery, hold every pgbench_accounts row and refuse writes.
  2. Replication lag under `pgbench -c 4 -j 2 -T 20` on the source: replay_lag and byte lag
     sampled every 100 ms on the source's pg_stat_replication over one persistent psql session;
     pgbench tps with the replica against the same source alone; time to catch up after the load.
  3. PromoteReadReplica -> first successful INSERT on the replica, and -> `available`
     (each replica of section 1, right after its creation was checked).

Needs root (the pgdata directories belong to `postgres`; the pg_basebackup baseline logs in as
rdsadmin by peer authentication, which the servers allow only to localrds' OS user), psql, pgbench and pg_basebackup, python3 with boto3. Wall times are
printed, never asserted; the exit status is 1 when a section failed or a check failed (rows,
a replica accepting a write, replica contents after the load). Output: progress on stderr, a
report on stdout, then one line `BENCH_REPLICAS_JSON {...}` with every figure.

Usage: bench/run.sh replicas [--quick] [...]   or   python3 bench/bench_replicas.py --help
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import skeleton  # noqa: E402
from lib.api import INSTANCE_FAILED, Rds, endpoint  # noqa: E402
from lib.baselines import cp_baseline, pg_tool, postmaster_socket  # noqa: E402
from lib.env import SUPERUSER  # noqa: E402
from lib.errors import BenchError  # noqa: E402
from lib.host import du_bytes  # noqa: E402
from lib.pg import (PsqlSession, parse_tps, pg_env, pgbench_argv, pgbench_init,  # noqa: E402
                    psql, sql_check, wait_archiver)
from lib.report import (BaselineSummary, fmt, fmt_mb, fmt_ratio, footer, host_text,  # noqa: E402
                        log, section_errors, servers_left, stat_cols)
from lib.skeleton import run_section, section_failed  # noqa: E402
from lib.stats import dist, median, step_medians, summary  # noqa: E402

# The plain-PostgreSQL figures the issue compares with (PG-LIMITS.md, same machine type).
REF_CREATE = ("PG-LIMITS.md row 7 (plain PostgreSQL, 157 MiB database, n=15): pg_basebackup -R -C "
              "-S + start + first read-only connection 0.51 / 0.89 / 1.03 s (min/median/max)")
REF_LAG = ("PG-LIMITS.md row 7 (plain PostgreSQL, pgbench -c 4 -T 20, 3.2-3.4k tps, n=5): "
           "replay_lag median 0.3-0.4 ms, p95 0.9-1.1 ms, max 1.4-8.3 ms; byte lag median "
           "716-904 B, p95 1.9-27 kB, max 5-386 kB; caught up <= 16 ms after the load")
REF_TPS = ("PG-LIMITS.md row 9 (scale 10, -c 4 -T 15): no standby 3890 tps, async standby 2585 "
           "(medians)")
REF_PROMOTE = ("PG-LIMITS.md row 8: pg_promote(false) + INSERT probe every 1 ms 0.017 / 0.022 / "
               "0.028 s; pg_ctl promote -w 0.102 s")
LAG_GOAL_MS = 50.0

# Created on the source before any replica, so every replica has it: true once the server
# accepts writes, false while it refuses them (read_only_sql_transaction, SQLSTATE 25006, which
# also covers nextval() in a read-only transaction). Never raises, so a persistent psql session
# can call it in a loop.
PROBE_SQL = """
CREATE TABLE IF NOT EXISTS bench_promote_probe (
  id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE OR REPLACE FUNCTION bench_try_write() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO bench_promote_probe DEFAULT VALUES;
  RETURN true;
EXCEPTION WHEN read_only_sql_transaction THEN
  RETURN false;
END $$;
"""


# --------------------------------------------------------------------------------------------
# the hand-made pg_basebackup baseline

def basebackup_baseline(pgdata, scratch_parent):
    """What localrds' copy step runs, by hand: `pg_basebackup -X stream -c fast --no-sync -Fp`
    of the source over its Unix socket as the superuser, then `sync -f`. It runs as the OS user
    of this bench, which is localrds' own (root): the servers let only that user log in as
    rdsadmin, by peer authentication. No slot (creating one takes a few ms). The copy is deleted
    afterwards (untimed)."""
    sock, port = postmaster_socket(pgdata)
    root = tempfile.mkdtemp(prefix="basebackup-baseline-", dir=scratch_parent)
    dst = os.path.join(root, "pgdata")
    try:
        argv = [pg_tool("pg_basebackup"), "-h", sock, "-p", str(port),
                "-U", SUPERUSER, "-D", dst, "-X", "stream", "-c", "fast", "--no-sync", "-Fp"]
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        t1 = time.perf_counter()
        if r.returncode != 0:
            raise BenchError(f"pg_basebackup baseline failed: {(r.stdout + r.stderr)[-500:]}")
        subprocess.run(["sync", "-f", root], check=True, timeout=600)
        t2 = time.perf_counter()
        return {"basebackup_s": t1 - t0, "sync_s": t2 - t1, "total_s": t2 - t0,
                "bytes": du_bytes(dst)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["sync", "-f", scratch_parent], timeout=600)


# --------------------------------------------------------------------------------------------
# the benchmark

class ReplicasBench:
    """One run: the server's API (self.rds: the instances cleanup must delete), the source
    instance, and the replica sections."""

    def __init__(self, args, server):
        self.args = args
        self.server = server
        self.rds = Rds(server, args.timeout)
        self.src = None  # {"id", "ep", "rid", "pgdata"}

    def steps(self, kind, ident):
        """{step: ms} parsed from localrds' log lines `op=N kind=<kind> id=<ident> step=S ok Nms`
        (the last operation of that kind on that identifier wins)."""
        return self.server.op_steps(kind).get(ident, {})

    def source_slots(self):
        rows = psql(self.src["ep"], "SELECT slot_name FROM pg_replication_slots ORDER BY 1")
        return [s for s in rows.split("\n") if s]

    # ---- setup

    def setup(self, res):
        self.rds.read_data_dir()
        inst = self.rds.create_instance("bench-src", BackupRetentionPeriod=7)
        ident = inst["DBInstanceIdentifier"]
        res["backup_retention_period"] = inst.get("BackupRetentionPeriod")
        pgdata = (self.server.inspect(ident).get("server") or {}).get("pgdata")
        if not pgdata or not os.path.isdir(pgdata):
            raise BenchError(f"GET /_localrds/instances/{ident} gives no usable server.pgdata: "
                             f"{pgdata}")
        self.src = {"id": ident, "ep": endpoint(inst), "rid": inst["DbiResourceId"],
                    "pgdata": pgdata}
        if sql_check(self.src["ep"][1]) is None:
            raise BenchError("bench-src: `select 1` as the master user fails")
        ep = self.src["ep"]
        log(f"bench-src: pgbench -i -s {self.args.scale}")
        res["load_s"] = pgbench_init(ep, self.args.scale, max(1800, 4 * self.args.timeout))
        psql(ep, PROBE_SQL)
        res["db_size_bytes"] = int(psql(ep, "SELECT pg_database_size(current_database())"))
        res["archive_mode"] = psql(ep, "SELECT current_setting('archive_mode')")
        res["archiver_caught_up_s"] = (wait_archiver(ep, "bench-src")
                                       if res["archive_mode"] != "off" else None)
        res["pgdata_bytes"] = du_bytes(pgdata)
        res["pg_wal_bytes"] = du_bytes(os.path.join(pgdata, "pg_wal"))
        res["monitor_ok"] = psql(ep, "SELECT pg_has_role(current_user, 'pg_monitor', 'MEMBER')")
        log(f"bench-src: loaded in {res['load_s']:.1f} s; database "
            f"{fmt_mb(res['db_size_bytes'])} MiB, pgdata {fmt_mb(res['pgdata_bytes'])} MiB "
            f"(pg_wal {fmt_mb(res['pg_wal_bytes'])} MiB); master user in pg_monitor: "
            f"{res['monitor_ok']}")

    # ---- 1. create (and 3. promote)

    def create_replica(self, ident):
        """CreateDBInstanceReadReplica, then DescribeDBInstances every --poll s until
        `available`. Returns a row with the times from sending the call."""
        port = self.server.next_port()
        t0 = time.perf_counter()
        resp = self.rds.api("create_db_instance_read_replica", DBInstanceIdentifier=ident,
                            SourceDBInstanceIdentifier=self.src["id"], Port=port)
        t1 = time.perf_counter()
        self.rds.instances.append(ident)
        t_av, inst, polls = self.rds.wait_status(
            f"replica {ident}", lambda: self.rds.instance_status(ident), "available",
            INSTANCE_FAILED, self.args.poll)
        return {"id": ident, "call_s": t1 - t0, "to_available_s": t_av - t0, "polls": polls,
                "status_in_response": resp["DBInstance"].get("DBInstanceStatus"),
                "rid": inst.get("DbiResourceId"), "ep": endpoint(inst),
                "source_in_describe": inst.get("ReadReplicaSourceDBInstanceIdentifier"),
                "status_infos": inst.get("StatusInfos")}

    def check_replica(self, row):
        """select 1 works, the server is in recovery, every row is there, writes are refused."""
        ep = row["ep"]
        sql_ok = sql_check(ep[1])
        if sql_ok is None:
            raise BenchError(f"{row['id']} is available but `select 1` as the master user on "
                             f"{ep[0]}:{ep[1]} failed for 30 s")
        row["sql_ok_after_s"] = sql_ok
        row["in_recovery"] = psql(ep, "SELECT pg_is_in_recovery()")
        row["accounts"] = int(psql(ep, "SELECT count(*) FROM pgbench_accounts"))
        row["rows_ok"] = row["accounts"] == self.args.scale * 100000
        row["write_refused"] = psql(ep, "SELECT bench_try_write()") == "f"
        row["bytes"] = du_bytes((self.server.inspect(row["id"]).get("server") or {}).get("pgdata")
                                or "/nonexistent")

    def promote(self, row):
        """PromoteReadReplica while a persistent session on the replica calls bench_try_write()
        every 2 ms: times to the call's answer, the first successful write, and `available`."""
        ident, ep = row["id"], row["ep"]
        sess = PsqlSession(ep, ident)
        probes, errors, stop = [], [], threading.Event()
        first_write, th = [], None
        try:
            if sess.value("SELECT bench_try_write()") != "f":
                raise BenchError(f"{ident} accepts writes before PromoteReadReplica")

            def prober():
                while not stop.is_set():
                    try:
                        v = sess.value("SELECT bench_try_write()", timeout=60)
                    except EOFError as e:  # the connection was lost: note it, reconnect
                        errors.append(f"{time.perf_counter() - t0:.3f} s: {e}")
                        if len(errors) > 200 or stop.is_set():
                            return
                        sess.open()
                        time.sleep(0.005)
                        continue
                    except BenchError as e:
                        errors.append(f"{time.perf_counter() - t0:.3f} s: {e}")
                        if len(errors) > 200:
                            return
                        time.sleep(0.005)
                        continue
                    probes.append(1)
                    if v == "t":
                        first_write.append(time.perf_counter())
                        return
                    time.sleep(0.002)

            th = threading.Thread(target=prober, daemon=True)
            t0 = time.perf_counter()
            th.start()
            resp = self.rds.api("promote_read_replica", DBInstanceIdentifier=ident)
            t1 = time.perf_counter()
            seen = []

            def fetch():
                status, inst = self.rds.instance_status(ident)
                if not seen or seen[-1] != status:
                    seen.append(status)
                return status, inst
            t_av, inst, polls = self.rds.wait_status(f"promoted {ident}", fetch, "available",
                                                     INSTANCE_FAILED, self.args.poll)
            th.join(timeout=60)
        finally:
            stop.set()
            if th is not None:
                th.join(timeout=10)
            sess.close()
        out = {"call_s": t1 - t0, "to_available_s": t_av - t0, "polls": polls,
               "status_in_response": resp["DBInstance"].get("DBInstanceStatus"),
               "statuses_seen_after_call": seen,
               "writable_s": first_write[0] - t0 if first_write else None,
               "probes": len(probes), "probe_errors": errors[:5],
               "probe_reconnects": sess.opens - 1,
               "still_replica": bool(inst.get("ReadReplicaSourceDBInstanceIdentifier")),
               "backup_retention_period": inst.get("BackupRetentionPeriod")}
        out["in_recovery_after"] = psql(ep, "SELECT pg_is_in_recovery()")
        return out

    def measure_creates(self, out):
        a = self.args
        rows = out["replicas"] = []
        base = out["baselines"] = {"cp_full": [], "cp_without_wal": [], "basebackup": []}
        out["load_avg_before"] = os.getloadavg()
        for i in range(a.reps):
            # the baselines first, then the replica: same order every rep
            for kind in ("full", "without_wal"):
                r = cp_baseline(self.src["pgdata"], self.server.tmp, kind == "without_wal")
                base[f"cp_{kind}"].append(r)
                note = f" !! {r['cp_stderr']}" if "cp_stderr" in r else ""
                log(f"baseline cp -a {kind}: {r['total_s']:.3f} s (cp {r['cp_s']:.3f} + sync "
                    f"{r['sync_s']:.3f}), {fmt_mb(r['bytes'])} MiB{note}")
            if not a.no_basebackup:
                try:
                    r = basebackup_baseline(self.src["pgdata"], self.server.tmp)
                    base["basebackup"].append(r)
                    log(f"baseline pg_basebackup: {r['total_s']:.3f} s (basebackup "
                        f"{r['basebackup_s']:.3f} + sync {r['sync_s']:.3f}), "
                        f"{fmt_mb(r['bytes'])} MiB")
                except BenchError as e:  # a baseline that cannot run: note it, go on
                    out.setdefault("basebackup_error", str(e))
                    log(f"!! {e}")
            for k, v in base.items():
                out[f"{k}_s"] = summary([r["total_s"] for r in v])

            ident = f"bench-replica-{i + 1}"
            row = self.create_replica(ident)
            rows.append(row)
            row["steps_ms"] = self.steps("create-replica", ident)
            self.check_replica(row)
            out["create_s"] = summary([r["to_available_s"] for r in rows])
            log(f"{ident}: available after {row['to_available_s']:.3f} s (call "
                f"{row['call_s']:.3f} s, {row['polls']} polls), steps {row['steps_ms']}; "
                f"in recovery {row['in_recovery']}, accounts {row['accounts']}, write refused "
                f"{row['write_refused']}, {fmt_mb(row['bytes'])} MiB")
            if not a.no_promote:
                p = row["promote"] = self.promote(row)
                p["steps_ms"] = self.steps("promote", ident)
                log(f"{ident}: promoted: writable after {fmt(p['writable_s'])} s, call answered "
                    f"{p['call_s']:.3f} s, available {p['to_available_s']:.3f} s "
                    f"({' -> '.join(p['statuses_seen_after_call'])}); steps {p['steps_ms']}"
                    + (f"; probe errors {p['probe_errors']}" if p["probe_errors"] else ""))
                row["slots_after_promote"] = self.source_slots()
            row["delete_s"] = self.rds.delete_instance(ident)
            self.rds.wait_trash_empty()
            row["slots_after_delete"] = self.source_slots()
            if row["slots_after_delete"]:
                log(f"!! slots left on bench-src after deleting {ident}: "
                    f"{row['slots_after_delete']}")
        out["load_avg_after"] = os.getloadavg()
        out["rows_ok"] = all(r["rows_ok"] for r in rows)
        out["write_refused_all"] = all(r["write_refused"] for r in rows)
        out["in_recovery_all"] = all(r["in_recovery"] == "t" for r in rows)
        med = out["create_s"]["median"]
        for k in ("cp_full", "cp_without_wal", "basebackup"):
            b = out.get(f"{k}_s")
            out[f"ratio_vs_{k}"] = med / b["median"] if b else None
        promos = [r["promote"] for r in rows if "promote" in r]
        if promos:
            out["promote_writable_s"] = summary([p["writable_s"] for p in promos
                                                 if p["writable_s"] is not None])
            out["promote_call_s"] = summary([p["call_s"] for p in promos])
            out["promote_available_s"] = summary([p["to_available_s"] for p in promos])

    # ---- 2. replication lag under load

    def run_pgbench(self, label):
        a = self.args
        argv = pgbench_argv(self.src["ep"], "-n", "-c", str(a.clients), "-j", str(a.threads),
                            "-T", str(a.duration))
        log(f"{label}: {' '.join(argv)}")
        return subprocess.Popen(argv, env=pg_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def measure_lag(self, out):
        a, ep = self.args, self.src["ep"]
        out.update({"clients": a.clients, "threads": a.threads, "duration_s": a.duration,
                    "interval_s": a.sample_interval})
        # The same load on the same source without a replica: the tps cost of the replica.
        if not a.no_tps_baseline:
            proc = self.run_pgbench("source alone")
            output, _ = proc.communicate(timeout=a.duration + 300)
            if proc.returncode != 0:
                raise BenchError(f"pgbench (source alone) failed: {output[-1500:]}")
            out["tps_source_alone"] = parse_tps(output)
            log(f"source alone: {out['tps_source_alone']} tps")

        ident = "bench-lag-replica"
        row = self.create_replica(ident)
        row["steps_ms"] = self.steps("create-replica", ident)
        out["replica_create_s"] = row["to_available_s"]
        out["replica_rid"] = rid = row["rid"]
        log(f"{ident}: available after {row['to_available_s']:.3f} s ({rid})")
        src = PsqlSession(ep, "bench-src")
        rep = PsqlSession(row["ep"], ident)
        try:
            found = src.query("SELECT application_name, state, sync_state FROM "
                              "pg_stat_replication")
            names = [r[0] for r in found]
            out["pg_stat_replication_rows"] = ["|".join(r) for r in found]
            if rid in names:
                match = f"r.application_name = '{rid}'"
                out["matched_by"] = "application_name = DbiResourceId"
            elif len(names) == 1:
                match = "true"
                out["matched_by"] = f"the single row (application_name {names[0]!r})"
                log(f"!! pg_stat_replication has no application_name {rid}; using its single "
                    f"row ({names[0]!r})")
            else:
                raise BenchError(f"pg_stat_replication rows {names}: none is {rid}")
            time.sleep(a.settle)
            # The source's WAL position before the load: while the replica has not reported
            # replaying past it, replay_lag still describes WAL written before the load (e.g.
            # an idle-time record whose feedback waited for the walreceiver's 100 ms nap).
            start_lsn = src.value("SELECT pg_current_wal_lsn()")
            seg_size = int(src.value("SELECT pg_size_bytes(current_setting('wal_segment_size'))"))
            out["load_avg_before"] = os.getloadavg()
            archived0 = src.value("SELECT archived_count FROM pg_stat_archiver")
            sample_sql = (
                "SELECT extract(epoch FROM clock_timestamp()), "
                "1000 * extract(epoch FROM r.write_lag), 1000 * extract(epoch FROM r.flush_lag), "
                "1000 * extract(epoch FROM r.replay_lag), "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn), r.state, "
                f"r.replay_lsn > '{start_lsn}', "
                "pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0'), "
                "pg_wal_lsn_diff(r.replay_lsn, '0/0') "
                f"FROM (SELECT 1) one LEFT JOIN pg_stat_replication r ON {match}")
            src.query(sample_sql)  # warm: plan cache, catalog

            samples, inspects = [], []
            proc = self.run_pgbench("with the replica")
            t_start = time.perf_counter()
            nxt = t_start
            k = 0
            try:
                while True:
                    wait = nxt - time.perf_counter()
                    if wait > 0:
                        try:  # returns at once when pgbench exits
                            proc.wait(timeout=wait)
                        except subprocess.TimeoutExpired:
                            pass
                    if proc.poll() is not None:
                        break
                    t = time.perf_counter()
                    f = src.query(sample_sql)[0]
                    nbytes = int(float(f[4])) if f[4] else None
                    # A WAL switch in progress: the source's insert position is already in the
                    # next segment while replay_lsn is not, or replay_lsn is ahead of the
                    # source's write position (see below).
                    switching = nbytes is not None and (
                        nbytes < 0 or int(float(f[7])) // seg_size != int(float(f[8])) // seg_size)
                    samples.append({"t_s": t - t_start,
                                    "write_ms": float(f[1]) if f[1] else None,
                                    "flush_ms": float(f[2]) if f[2] else None,
                                    "replay_ms": float(f[3]) if f[3] else None,
                                    "bytes": nbytes, "state": f[5], "fresh": f[6] == "t",
                                    "wal_switch": switching})
                    k += 1
                    if k % round(1 / a.sample_interval) == 0:  # localrds' own figure, 1/s
                        try:
                            r = (self.server.inspect(ident).get("replication") or {})
                            inspects.append({"t_s": time.perf_counter() - t_start,
                                             "lag_s": r.get("replica_lag_seconds"),
                                             "bytes": r.get("replay_lag_bytes"),
                                             "status": r.get("status")})
                        except Exception as e:  # noqa: BLE001 - an extra, never fatal
                            inspects.append({"error": str(e)})
                    nxt += a.sample_interval
                    if nxt < time.perf_counter():  # late (the machine is busy): no burst
                        nxt = time.perf_counter() + a.sample_interval
            finally:
                if proc.poll() is None:
                    proc.kill()
            t_stop = time.perf_counter()
            output = proc.communicate(timeout=60)[0]
            if proc.returncode != 0:
                raise BenchError(f"pgbench (with the replica) failed: {output[-1500:]}")
            out["tps_with_replica"] = parse_tps(output)
            out["run_s"] = t_stop - t_start
            out["load_avg_after"] = os.getloadavg()
            out["wal_bytes_run"] = int(float(src.value(
                f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{start_lsn}')")))
            archived1 = src.value("SELECT archived_count FROM pg_stat_archiver")
            out["segments_archived_during_run"] = (int(archived1) - int(archived0)
                                                   if archived0 and archived1 else None)

            # Catch-up: every commit of the run is before the source's WAL position taken now.
            end_lsn, bytes_at_stop = src.query(
                "SELECT pg_current_wal_lsn(), pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
                f"FROM pg_stat_replication r WHERE {match}")[0]
            out["bytes_at_stop"] = int(float(bytes_at_stop)) if bytes_at_stop else None
            t_reported = t_replayed = None
            deadline = t_stop + a.catchup_timeout
            while (t_reported is None or t_replayed is None) and time.perf_counter() < deadline:
                if t_replayed is None and rep.value(
                        f"SELECT pg_last_wal_replay_lsn() >= '{end_lsn}'") == "t":
                    t_replayed = time.perf_counter()
                if t_reported is None and src.value(
                        f"SELECT coalesce(bool_or(replay_lsn >= '{end_lsn}'), false) "
                        f"FROM pg_stat_replication r WHERE {match}") == "t":
                    t_reported = time.perf_counter()
                time.sleep(0.002)
            out["catchup_reported_s"] = None if t_reported is None else t_reported - t_stop
            out["catchup_replayed_s"] = None if t_replayed is None else t_replayed - t_stop
            out["catchup_timeout_s"] = a.catchup_timeout

            # The replica holds what the source holds.
            q = "SELECT count(*), coalesce(sum(delta), 0) FROM pgbench_history"
            now_lsn = src.value("SELECT pg_current_wal_lsn()")
            for _ in range(int(a.catchup_timeout / 0.01)):
                if rep.value(f"SELECT pg_last_wal_replay_lsn() >= '{now_lsn}'") == "t":
                    break
                time.sleep(0.01)
            out["history_source"] = "|".join(src.query(q)[0])
            out["history_replica"] = "|".join(rep.query(q)[0])
            out["contents_ok"] = out["history_source"] == out["history_replica"]
            out["replica_in_recovery"] = rep.value("SELECT pg_is_in_recovery()")
        finally:
            src.close()
            rep.close()

        during = [s for s in samples if s["state"]]
        out["samples"] = len(samples)
        out["samples_without_row"] = len(samples) - len(during)
        out["states"] = sorted({s["state"] for s in during})
        # Used: a row, replay_lsn past the start position (else the figures are about WAL from
        # before the load), and for the time lags a non-NULL value (NULL = nothing to wait for).
        fresh = [s for s in during if s["fresh"]]
        out["samples_pre_load"] = len(during) - len(fresh)
        out["pre_load_replay_ms"] = [s["replay_ms"] for s in during if not s["fresh"]]
        out["samples_replay_null"] = sum(1 for s in fresh if s["replay_ms"] is None)
        for key in ("write_ms", "flush_ms", "replay_ms", "bytes"):
            out[key] = dist([s[key] for s in fresh if s[key] is not None])
        # A WAL switch (localrds calls pg_switch_wal() at most every --wal-ship-seconds while
        # commits come in, so that the archive is current): the source then writes the rest of
        # the segment (pg_current_wal_lsn() runs through it within a few ms) and the replica's
        # replay_lsn jumps to the segment's end when it replays the switch record, possibly
        # before the source has written that far. Meanwhile the byte lag is up to +16 MiB or
        # negative, counting the segment's unused rest rather than records.
        sw = [s for s in fresh if s["wal_switch"]]
        out["samples_wal_switch"] = len(sw)
        out["bytes_no_switch"] = dist([s["bytes"] for s in fresh if s["bytes"] is not None
                                       and not s["wal_switch"]])
        out["replay_ms_wal_switch"] = dist([s["replay_ms"] for s in sw
                                            if s["replay_ms"] is not None])
        out["replay_ms_no_switch"] = dist([s["replay_ms"] for s in fresh
                                           if s["replay_ms"] is not None and not s["wal_switch"]])
        out["localrds_inspect"] = inspects
        lags = [x["lag_s"] for x in inspects if x.get("lag_s") is not None]
        out["localrds_lag_s"] = {"n": len(lags), "max": max(lags) if lags else None,
                                 "values": sorted(set(lags))}
        if out.get("tps_source_alone") and out.get("tps_with_replica"):
            out["tps_ratio"] = out["tps_with_replica"] / out["tps_source_alone"]
        out["samples_series"] = samples
        rp = out["replay_ms"]
        log(f"lag: {len(samples)} samples, {len(samples) - out['samples_replay_null']} with "
            f"replay_lag; replay_lag p50 {fmt(rp and rp['p50'])} p99 {fmt(rp and rp['p99'])} max "
            f"{fmt(rp and rp['max'])} ms; tps {out['tps_with_replica']}; caught up "
            f"{fmt(out['catchup_reported_s'])} s (reported), {fmt(out['catchup_replayed_s'])} s "
            f"(replayed); contents ok {out['contents_ok']}")

    # ---- cleanup through the API

    def api_cleanup(self, out):
        self.rds.delete_all(out, newest_first=True)  # replicas before their source


def run(args, res):
    res.update({"scale": args.scale, "reps": args.reps})

    def sections(server):
        bench = ReplicasBench(args, server)
        if run_section(res, "setup", bench.setup):
            run_section(res, "create", bench.measure_creates)
            run_section(res, "lag", bench.measure_lag)
        run_section(res, "api_cleanup", bench.api_cleanup)
    skeleton.with_server(args, "replicas", res, sections)


# --------------------------------------------------------------------------------------------
# report

def report(res):
    w = sys.stdout.write
    w(f"\n=== localrds read-replica benchmark ({res['mode']} mode, pgbench scale {res['scale']}, "
      f"{host_text(res)}) ===\n")
    section_errors(w, res, ("setup", "create", "lag", "api_cleanup"))

    su = res.get("setup", {})
    if "load_s" in su:
        w(f"\nsource: pgbench -i -s {res['scale']} in {su['load_s']:.1f} s; database "
          f"{fmt_mb(su['db_size_bytes'])} MiB (pg_database_size), pgdata "
          f"{fmt_mb(su['pgdata_bytes'])} MiB of which pg_wal {fmt_mb(su['pg_wal_bytes'])} MiB; "
          f"BackupRetentionPeriod {su.get('backup_retention_period')}; master user in pg_monitor:"
          f" {su.get('monitor_ok')}\n")

    cr = res.get("create", {})
    cp_med = (cr.get("cp_full_s") or {}).get("median")
    rows = cr.get("replicas", [])
    if cr.get("create_s"):
        w(f"\n-- 1. CreateDBInstanceReadReplica -> available vs `cp -a` of the source's data "
          f"directory (seconds, {res['reps']} reps, interleaved)\n")
        w(f"{'series':<46}{'n':>3}{'min':>8}{'median':>8}{'max':>8}{'vs cp -a':>10}{'MiB':>7}\n")
        base = cr.get("baselines", {})
        table = [("CreateDBInstanceReadReplica -> available", cr.get("create_s"),
                  median(r.get("bytes") for r in rows)),
                 ("baseline: cp -a pgdata + sync -f", cr.get("cp_full_s"),
                  median(r["bytes"] for r in base.get("cp_full", []))),
                 ("  cp -a pgdata without pg_wal + sync -f", cr.get("cp_without_wal_s"),
                  median(r["bytes"] for r in base.get("cp_without_wal", []))),
                 ("  pg_basebackup -X stream -c fast + sync -f", cr.get("basebackup_s"),
                  median(r["bytes"] for r in base.get("basebackup", [])))]
        for label, st, size in table:
            if not st:
                continue
            w(f"{label:<46}{stat_cols(st)}{fmt_ratio(st['median'], cp_med):>10}"
              f"{fmt_mb(size):>7}\n")
        if cr.get("basebackup_error"):
            w(f"!! pg_basebackup baseline: {cr['basebackup_error']}\n")
        w(f"reference: {REF_CREATE}\n")
        w(f"ratios of medians: vs cp -a {fmt(cr.get('ratio_vs_cp_full'), '.2f')}x, vs cp -a "
          f"without pg_wal {fmt(cr.get('ratio_vs_cp_without_wal'), '.2f')}x, vs pg_basebackup by "
          f"hand {fmt(cr.get('ratio_vs_basebackup'), '.2f')}x. MiB: the replica's pgdata / "
          f"bytes copied\n")
        steps = step_medians(r.get("steps_ms", {}) for r in rows)
        if steps:
            w("server steps, median ms: " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items())
              + "\n")
        w(f"the call answered in {median(r['call_s'] for r in rows):.3f} s (median) with status "
          f"{sorted({r['status_in_response'] for r in rows})}; polls to available: "
          f"{max(r['polls'] for r in rows)} at most; `select 1` ok "
          f"{median(r.get('sql_ok_after_s') for r in rows) or 0:.3f} s after available\n")
        expected = res["scale"] * 100000
        left = [r["slots_after_delete"] for r in rows if r.get("slots_after_delete")]
        w(f"checks: in recovery {sum(r.get('in_recovery') == 't' for r in rows)}/{len(rows)}, "
          f"pgbench_accounts = {expected} {sum(bool(r.get('rows_ok')) for r in rows)}/{len(rows)},"
          f" INSERT refused {sum(bool(r.get('write_refused')) for r in rows)}/{len(rows)}, "
          f"source slots left after DeleteDBInstance: "
          f"{'none' if not left else left}\n")
        la, lb = cr.get("load_avg_before"), cr.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after this section: {la[0]:.2f} / {lb[0]:.2f}\n")

    lg = res.get("lag", {})
    if lg.get("samples"):
        rp, by, fl = lg.get("replay_ms"), lg.get("bytes"), lg.get("flush_ms")
        used = (rp or {}).get("n", 0)
        w(f"\n-- 2. replication lag under pgbench -c {lg['clients']} -j {lg['threads']} "
          f"-T {lg['duration_s']} on the source (pg_stat_replication on the source every "
          f"{lg['interval_s'] * 1000:.0f} ms, one psql session)\n")
        pre = ", ".join(fmt(v, ".2f", "NULL") for v in lg.get("pre_load_replay_ms", []))
        w(f"samples: {lg['samples']} taken, {used} used for replay_lag; skipped: "
          f"{lg['samples_pre_load']} before the replica reported WAL of the load (their "
          f"replay_lag: {pre or '-'} ms), {lg['samples_replay_null']} NULL replay_lag, "
          f"{lg['samples_without_row']} without a pg_stat_replication row. States "
          f"{lg['states']}; row {lg.get('pg_stat_replication_rows')} matched by "
          f"{lg.get('matched_by')}\n")
        w(f"{'figure':<22}{'n':>5}{'min':>10}{'p50':>10}{'p95':>10}{'p99':>10}{'max':>10}"
          f"{'mean':>10}\n")
        for label, d, spec in (("replay_lag, ms", rp, ".2f"), ("flush_lag, ms", fl, ".2f"),
                               ("write_lag, ms", lg.get("write_ms"), ".2f"),
                               ("byte lag, B", by, ".0f"),
                               ("  no WAL switch", lg.get("bytes_no_switch"), ".0f"),
                               ("replay_lag, no switch", lg.get("replay_ms_no_switch"), ".2f"),
                               ("  during a switch", lg.get("replay_ms_wal_switch"), ".2f")):
            if d:
                w(f"{label:<22}{d['n']:>5}" + "".join(f"{fmt(d[k], spec):>10}" for k in
                                                      ("min", "p50", "p95", "p99", "max",
                                                       "mean"))
                  + "\n")
        w(f"byte lag = pg_current_wal_lsn() - replay_lsn on the source. {lg['samples_wal_switch']}"
          f" sample(s) fell in a WAL switch (source's insert position in another segment than "
          f"replay_lsn, or replay_lsn ahead of the source's write position): after "
          f"pg_switch_wal() the source writes the segment's unused rest and the replica's "
          f"replay_lsn jumps to the segment end, so the byte lag is then up to +16 MiB or "
          f"negative. localrds switches at most every --wal-ship-seconds (5 s) while commits come"
          f" in; {fmt_mb(lg.get('wal_bytes_run'))} MiB of WAL in the run, "
          f"{lg.get('segments_archived_during_run')} segment(s) archived during it\n")
        la, lb = lg.get("load_avg_before"), lg.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after the run: {la[0]:.2f} / {lb[0]:.2f} "
              f"({os.cpu_count()} CPUs; anything above ~2 + the bench itself is other work)\n")
        w(f"reference: {REF_LAG}\n")
        if rp:
            w(f"goal: replay_lag p99 <= {LAG_GOAL_MS:.0f} ms: "
              f"{'met' if rp['p99'] <= LAG_GOAL_MS else 'NOT met'} ({rp['p99']:.2f} ms); "
              f"p50 vs plain PostgreSQL's 0.4 ms: {rp['p50'] / 0.4:.1f}x\n")
        alone, with_ = lg.get("tps_source_alone"), lg.get("tps_with_replica")
        w(f"pgbench tps: with the replica {fmt(with_, '.0f')}, same source alone (same run, "
          f"before the replica was created) {fmt(alone, '.0f')}, ratio "
          f"{fmt(lg.get('tps_ratio'), '.2f')}; reference {REF_TPS}\n")
        w(f"catch-up after pgbench exited (byte lag then {fmt(lg.get('bytes_at_stop'), 'd')} B):"
          f" pg_stat_replication.replay_lsn reached the source's position in "
          f"{fmt(lg.get('catchup_reported_s') and lg['catchup_reported_s'] * 1000, '.1f', 'never')}"
          f" ms, the replica's pg_last_wal_replay_lsn() in "
          f"{fmt(lg.get('catchup_replayed_s') and lg['catchup_replayed_s'] * 1000, '.1f', 'never')}"
          f" ms (polled every ~2 ms; limit {lg['catchup_timeout_s']:g} s)\n")
        w(f"replica afterwards: pgbench_history count|sum(delta) source {lg.get('history_source')}"
          f", replica {lg.get('history_replica')}: "
          f"{'same' if lg.get('contents_ok') else 'DIFFERENT'}; in recovery "
          f"{lg.get('replica_in_recovery')}\n")
        ll = lg.get("localrds_lag_s") or {}
        w(f"localrds' own replication.replica_lag_seconds (GET /_localrds/instances, read 1/s): "
          f"{ll.get('n')} readings, values {ll.get('values')}\n")
        w(f"replica creation (no load) for this test: {fmt(lg.get('replica_create_s'))} s\n")

    promos = [r["promote"] for r in rows if "promote" in r]
    if promos:
        w("\n-- 3. PromoteReadReplica (each replica above, right after its checks; a session on "
          "the replica calls an INSERT every 2 ms)\n")
        w(f"{'series':<46}{'n':>3}{'min':>8}{'median':>8}{'max':>8}\n")
        for label, key in (("call -> first INSERT that succeeds", "promote_writable_s"),
                           ("call -> the call's answer", "promote_call_s"),
                           ("call -> available", "promote_available_s")):
            st = cr.get(key)
            if st:
                w(f"{label:<46}{stat_cols(st)}\n")
        w(f"reference: {REF_PROMOTE}\n")
        steps = step_medians(p.get("steps_ms", {}) for p in promos)
        if steps:
            w("server steps, median ms: " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items())
              + "\n")
        seen = sorted({" -> ".join(p["statuses_seen_after_call"]) for p in promos})
        errs = sum(len(p["probe_errors"]) for p in promos)
        w(f"statuses after the call: {seen}; status in the response "
          f"{sorted({p['status_in_response'] for p in promos})}; in recovery afterwards: "
          f"{sorted({p['in_recovery_after'] for p in promos})}; probe session errors {errs}, "
          f"reconnects {sum(p['probe_reconnects'] for p in promos)}; BackupRetentionPeriod "
          f"after: {sorted({str(p['backup_retention_period']) for p in promos})}\n")

    cl = res.get("api_cleanup", {})
    if cl.get("errors"):
        for e in cl["errors"]:
            w(f"!! cleanup: {e}\n")
    servers_left(w, res)

    line = BaselineSummary(w, ratio_width=8).line

    if cr.get("create_s"):
        line("create replica -> available, s (median)", cr["create_s"]["median"], cp_med,
             "cp -a + sync -f, same run")
        nw = (cr.get("cp_without_wal_s") or {}).get("median")
        line("  same, vs cp -a without pg_wal", cr["create_s"]["median"], nw,
             "cp -a without pg_wal + sync -f, same run")
        bbm = (cr.get("basebackup_s") or {}).get("median")
        if bbm:
            line("  same, vs pg_basebackup by hand", cr["create_s"]["median"], bbm,
                 "pg_basebackup -X stream -c fast + sync -f, same run")
    else:
        line("create replica -> available, s", "error")
    if lg.get("replay_ms"):
        rp = lg["replay_ms"]
        line("replay_lag p50, ms", rp["p50"], 0.4, "PG-LIMITS row 7 median 0.4 ms", ".2f")
        line("replay_lag p95, ms", rp["p95"], 1.0, "PG-LIMITS row 7 p95 ~1 ms", ".2f")
        line("replay_lag p99, ms", rp["p99"], None, f"goal <= {LAG_GOAL_MS:.0f} ms", ".2f")
        line("replay_lag max, ms", rp["max"], None, "PG-LIMITS row 7 max 1.4-8.3 ms", ".2f")
    elif "lag" in res:
        line("replay_lag, ms", "error")
    if lg.get("bytes"):
        by = lg.get("bytes_no_switch") or lg["bytes"]
        line("byte lag p50, B (no WAL switch)", by["p50"], None,
             "PG-LIMITS row 7: median 716-904 B", ".0f")
        line("byte lag p99, B (no WAL switch)", by["p99"], None, "", ".0f")
        line("byte lag max, B (no WAL switch)", by["max"], None, "PG-LIMITS row 7: max 5-386 kB",
             ".0f")
    if lg.get("tps_with_replica"):
        line("pgbench tps with the replica", lg["tps_with_replica"], lg.get("tps_source_alone"),
             "same source alone, same run", ".0f")
    if lg.get("catchup_reported_s") is not None:
        line("catch-up after the load, ms", lg["catchup_reported_s"] * 1000, None,
             "PG-LIMITS row 7: <= 16 ms", ".1f")
    if cr.get("promote_writable_s"):
        line("promote -> writable, s (median)", cr["promote_writable_s"]["median"], 0.022,
             "PG-LIMITS row 8 pg_promote(false) + probe")
        line("promote -> available, s (median)", cr["promote_available_s"]["median"])
    footer(w, res)


def failed(res):
    """True when a section failed or a check did."""
    if section_failed(res):
        return True
    cr, lg = res.get("create", {}), res.get("lag", {})
    for key in ("rows_ok", "write_refused_all", "in_recovery_all"):
        if cr.get(key) is False:
            return True
    if lg.get("contents_ok") is False:
        return True
    return False


def main():
    ap = skeleton.parser(__doc__, "smoke run on a small database")
    ap.add_argument("--scale", type=int, help="pgbench scale (default 10 = ~150 MiB, quick 3)")
    ap.add_argument("--reps", type=int, help="replica creations, each with its copy baselines "
                                             "and a promotion (default 5, quick 2)")
    ap.add_argument("--duration", type=int, help="pgbench -T of the lag test (default 20, "
                                                 "quick 5)")
    ap.add_argument("--clients", type=int, default=4, help="pgbench -c (default 4)")
    ap.add_argument("--threads", type=int, default=2, help="pgbench -j (default 2)")
    ap.add_argument("--sample-interval", type=float, default=0.1,
                    help="lag sample interval, seconds (default 0.1)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the lag replica's `available` and the load")
    ap.add_argument("--catchup-timeout", type=float, default=60.0,
                    help="how long to wait for the replica to catch up after the load")
    ap.add_argument("--poll", type=float, default=0.02,
                    help="DescribeDBInstances poll interval while creating/promoting "
                         "(default 0.02)")
    ap.add_argument("--no-promote", action="store_true", help="do not promote the replicas")
    ap.add_argument("--no-basebackup", action="store_true",
                    help="skip the pg_basebackup-by-hand baseline")
    ap.add_argument("--no-tps-baseline", action="store_true",
                    help="skip the pgbench run on the source alone")
    ap.add_argument("--timeout", type=float, default=600.0, help="limit of every wait, seconds")
    ap.add_argument("--pool-size", type=int, default=0,
                    help="localrds --pool-size (default 0: no initdb in the background while "
                         "measuring)")
    args = skeleton.parse(ap, (("scale", 10, 3), ("reps", 5, 2), ("duration", 20, 5)))
    if args.reps < 1 or args.scale < 1 or args.duration < 1:
        sys.exit("--reps, --scale and --duration must be at least 1")
    if not 0.01 <= args.sample_interval <= 1:
        sys.exit("--sample-interval must be within 0.01..1 s")
    skeleton.require(args, "bench_replicas.py", ("psql", "pgbench", "cp", "du", "sync", "runuser"))
    if os.geteuid() != 0:
        log("not root: reading the instances' pgdata and the pg_basebackup baseline will fail")

    skeleton.measure(args, run, report, failed, "BENCH_REPLICAS_JSON")


if __name__ == "__main__":
    main()
