#!/usr/bin/env python3
"""Benchmarks for localrds' Regions: cross-Region snapshot copies, cross-Region read replicas
(their lag with and without --inter-region-latency) and a Region outage followed by the
promotion of the disaster-recovery replica.

Everything goes through the RDS Query API with boto3, as a user would: a request's Region is
its signature's (the client's region_name), the source of a cross-Region call is named by its
ARN. Two `localrds serve --pool-size 0` run one after the other on temp data dirs: the first
with --inter-region-latency LAT (default 40 ms: sections 1, 2 and 3), the second with 0
(sections 2 and 3 again). Every figure sits next to a baseline measured in the same run:

  1. Cross-Region CopyDBSnapshot (us-east-1 -> us-west-2) of a ~1 GiB database
     (pgbench -i -s 70; quick -s 5) -> the copy `available` in us-west-2, against `cp -a` +
     `sync -f` of the same snapshot directory on the same disk (and the in-Region copy, which
     hard-links, for contrast). The last copy is restored in us-west-2 and its rows counted.
  2. Replica lag: a probe commits a numbered row on the source every 100 ms; on each replica a
     session waits for that row (a PL/pgSQL loop polling every 1 ms) and reports when it became
     visible. Lag = visible - commit acknowledged, for a cross-Region replica (us-west-2) and an
     in-Region one (us-east-1, the baseline) of the same source at the same time; plus
     pg_stat_replication.replay_lag on the source and localrds' own replica_lag_seconds.
  3. Region outage: while a writer commits rows back to back on the source, the source is frozen
     (POST /_localrds/instances/<id>/freeze: SIGSTOP of its whole server, what an outage of its
     Region does), then PromoteReadReplica of the cross-Region replica in us-west-2 with an
     INSERT probe (new connection each) until one succeeds: time from the freeze to the first
     write and to `available`; the acknowledged rows missing on the promoted replica (data lost;
     those acknowledged before the freeze was sent apart from those acknowledged while it ran).
     Baseline: PromoteReadReplica of the in-Region replica of the same frozen source, right
     after, and PG-LIMITS.md row 8 (pg_promote on a plain standby).

Needs root (the snapshot directories belong to `postgres`), psql, pgbench, python3 with boto3.
Wall times are printed, never asserted; the exit status is 1 when a section failed or a check
failed (rows missing after the restore, a probe row never seen on a replica, a promoted replica
missing lag probe or pgbench rows, or a row acknowledged before the freeze that the in-Region
replica has and the promoted cross-Region one lacks; asynchronous replication can lose the
last commits on both, which is counted and printed, not a failure).
Output: progress on stderr, a report on stdout, then one line `BENCH_REGIONS_JSON {...}`.

Usage: bench/run.sh regions [--quick] [...]   or   python3 bench/bench_regions.py --help
"""

import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import skeleton  # noqa: E402
from lib.api import INSTANCE_FAILED, SNAPSHOT_FAILED, Rds, endpoint  # noqa: E402
from lib.baselines import cp_baseline  # noqa: E402
from lib.errors import BenchError  # noqa: E402
from lib.host import du_bytes  # noqa: E402
from lib.pg import pgbench_init, psql, sql_check, wait_archiver  # noqa: E402
from lib.probe import PgError, classify, connect, probe_once  # noqa: E402
from lib.report import (BaselineSummary, fmt, fmt_mb, fmt_ratio, footer, host_text,  # noqa: E402
                        log, section_errors, stat_cols)
from lib.server import Localrds  # noqa: E402
from lib.skeleton import run_section, section_failed  # noqa: E402
from lib.stats import dist, step_medians, summary  # noqa: E402

COPY_STEP = re.compile(r"kind=copy-snapshot id=\S* step=(\S+) ok (\d+)ms")
SRC_REGION = "us-east-1"
DR_REGION = "us-west-2"
REF_PROMOTE = ("PG-LIMITS.md row 8: pg_promote(false) + INSERT probe every 1 ms 0.017 / 0.022 / "
               "0.028 s; pg_ctl promote -w 0.102 s")
REF_COPY = ("PG-LIMITS.md row 5c (1.08 GiB stopped directory): cp -a + sync -f 1.15 / 1.17 / "
            "1.21 s")

# Created on the source before any replica, so every replica has them.
PROBE_SQL = """
CREATE TABLE IF NOT EXISTS bench_lag_probe (
  id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS bench_outage (id bigint PRIMARY KEY);
CREATE TABLE IF NOT EXISTS bench_promote_probe (
  id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp());
-- On a replica: waits until row k of bench_lag_probe is visible (a new snapshot per statement,
-- polled every ms) and returns the epoch it saw it at, or NULL after limit_s seconds.
CREATE OR REPLACE FUNCTION bench_seen(k bigint, limit_s double precision)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + make_interval(secs => limit_s);
BEGIN
  LOOP
    PERFORM 1 FROM bench_lag_probe WHERE id = k;
    IF FOUND THEN
      RETURN extract(epoch FROM clock_timestamp());
    END IF;
    IF clock_timestamp() > deadline THEN
      RETURN NULL;
    END IF;
    PERFORM pg_sleep(0.001);
  END LOOP;
END $$;
"""


def snapshot_dirs(data_dir):
    try:
        return set(os.listdir(os.path.join(data_dir, "snapshots")))
    except OSError:
        return set()


def shared_inodes(src_dir, copy_dir):
    """(files in copy_dir, how many of them are the same inode as a file of src_dir): an
    in-Region copy hard-links, a cross-Region one must share nothing."""
    inodes = set()
    for root, _dirs, files in os.walk(src_dir):
        for f in files:
            try:
                st = os.lstat(os.path.join(root, f))
                inodes.add((st.st_dev, st.st_ino))
            except OSError:
                pass
    n = shared = 0
    for root, _dirs, files in os.walk(copy_dir):
        for f in files:
            try:
                st = os.lstat(os.path.join(root, f))
            except OSError:
                continue
            n += 1
            shared += (st.st_dev, st.st_ino) in inodes
    return n, shared


class RegionsBench:
    """One localrds (server, run with --inter-region-latency `latency_ms`): its API in both
    Regions (self.east: the source's, self.west: the DR one; each remembers what cleanup must
    delete), the source instance and the replicas of section 2 that section 3 promotes."""

    def __init__(self, args, server, latency_ms, scale):
        self.args = args
        self.server = server
        self.latency_ms = latency_ms
        self.scale = scale
        self.east = Rds(server, args.timeout, region=SRC_REGION)
        self.west = Rds(server, args.timeout, region=DR_REGION)
        self.src = None  # {"id", "ep", "arn", "rid", "pgdata"}
        self.replicas = {}  # "dr" / "rr" -> {"id", "rds", "ep", "rid", "region"}

    def rds(self, region):
        return self.west if region == DR_REGION else self.east

    # ---- setup

    def setup(self, out):
        self.east.read_data_dir()
        self.west.data_dir = self.east.data_dir
        inst = self.east.create_instance("bench-prod", BackupRetentionPeriod=1)
        ident = inst["DBInstanceIdentifier"]
        pgdata = (self.server.inspect(ident, SRC_REGION).get("server") or {}).get("pgdata")
        self.src = {"id": ident, "ep": endpoint(inst), "arn": inst["DBInstanceArn"],
                    "rid": inst["DbiResourceId"], "pgdata": pgdata}
        if sql_check(self.src["ep"][1]) is None:
            raise BenchError("bench-prod: `select 1` as the master user fails")
        log(f"bench-prod: pgbench -i -s {self.scale}")
        out["scale"] = self.scale
        out["load_s"] = pgbench_init(self.src["ep"], self.scale, max(1800, 4 * self.args.timeout))
        psql(self.src["ep"], PROBE_SQL)
        out["db_size_bytes"] = int(psql(self.src["ep"],
                                        "SELECT pg_database_size(current_database())"))
        out["pgdata_bytes"] = du_bytes(pgdata) if pgdata else None
        out["arn"] = self.src["arn"]
        out["archiver_caught_up_s"] = wait_archiver(self.src["ep"], ident)
        log(f"bench-prod ({self.src['arn']}): loaded in {out['load_s']:.1f} s; database "
            f"{fmt_mb(out['db_size_bytes'])} MiB, pgdata {fmt_mb(out['pgdata_bytes'])} MiB")

    # ---- 1. cross-Region snapshot copy

    def copy_snapshot(self, rds, source_id, target, cross):
        """CopyDBSnapshot on `rds` (its Region), then DescribeDBSnapshots every --poll s until
        `available`. -> row with the times from sending the call and the new directory."""
        before = snapshot_dirs(self.east.data_dir)
        log_at = self.server.log_size()
        kw = dict(SourceDBSnapshotIdentifier=source_id, TargetDBSnapshotIdentifier=target)
        if cross:
            kw["SourceRegion"] = SRC_REGION
        t0 = time.perf_counter()
        resp = rds.api("copy_db_snapshot", **kw)
        t1 = time.perf_counter()
        rds.snapshots.append(target)
        t_av, snap, polls = rds.wait_status(f"snapshot copy {target} ({rds.region})",
                                            lambda: rds.snapshot_status(target), "available",
                                            SNAPSHOT_FAILED, self.args.poll)
        new = sorted(snapshot_dirs(self.east.data_dir) - before)
        # The copy's step lines (`op=N kind=copy-snapshot id=... step=S ok Nms`); this localrds
        # leaves their id empty, so they are taken from the log written since the call.
        steps = {m.group(1): int(m.group(2)) for m in
                 (COPY_STEP.search(ln) for ln in self.server.log_since(log_at)) if m}
        return {"id": target, "region": rds.region, "call_s": t1 - t0, "steps_ms": steps,
                "to_available_s": t_av - t0, "polls": polls,
                "status_in_response": resp["DBSnapshot"].get("Status"),
                "source_region_in_describe": snap.get("SourceRegion"),
                "arn": snap.get("DBSnapshotArn"), "new_dirs": new}

    def measure_snapshot_copy(self, out):
        a, east, west = self.args, self.east, self.west
        snap = "bench-snap"
        before = snapshot_dirs(east.data_dir)
        t0 = time.perf_counter()
        east.api("create_db_snapshot", DBInstanceIdentifier=self.src["id"],
                 DBSnapshotIdentifier=snap)
        east.snapshots.append(snap)
        _t, s, _p = east.wait_status(f"snapshot {snap}", lambda: east.snapshot_status(snap),
                                     "available", SNAPSHOT_FAILED, a.poll)
        out["source_snapshot_s"] = time.perf_counter() - t0
        new = sorted(snapshot_dirs(east.data_dir) - before)
        if not new:
            raise BenchError(f"no new directory under {east.data_dir}/snapshots after "
                             f"CreateDBSnapshot {snap}")
        # An automated backup may have landed at the same time: the manual snapshot is the
        # largest new directory (the automated one of an idle instance is not bigger).
        snap_dir = max((os.path.join(east.data_dir, "snapshots", d) for d in new),
                       key=lambda p: du_bytes(p) or 0)
        out["snapshot_dir"] = snap_dir
        out["snapshot_bytes"] = du_bytes(snap_dir)
        out["snapshot_arn"] = s.get("DBSnapshotArn")
        log(f"{snap}: available after {out['source_snapshot_s']:.2f} s, {snap_dir}, "
            f"{fmt_mb(out['snapshot_bytes'])} MiB")

        base, cross, local = out["cp"], out["cross"], out["in_region"] = [], [], []
        out["load_avg_before"] = os.getloadavg()
        keep = None
        # The load and the snapshot left dirty pages: write them out before the first timing.
        subprocess.run(["sync", "-f", east.data_dir], timeout=600)
        for i in range(a.reps):
            # Alternate which copy goes first: the first one may read the snapshot from disk,
            # the next ones from the page cache it filled.
            cp_first = i % 2 == 0
            if cp_first:
                self.cp_rep(snap_dir, base)
            target = f"bench-snap-dr-{i + 1}"
            row = self.copy_snapshot(west, out["snapshot_arn"], target, cross=True)
            row["after_cp"] = cp_first
            self.copy_facts(row, snap_dir)
            cross.append(row)
            log(f"{target} ({DR_REGION}): available after {row['to_available_s']:.3f} s (call "
                f"{row['call_s']:.3f} s, {row['polls']} polls), {fmt_mb(row.get('bytes'))} MiB, "
                f"{row.get('shared_files')}/{row.get('files')} files shared with the source")
            if not cp_first:
                self.cp_rep(snap_dir, base)

            target_l = f"bench-snap-copy-{i + 1}"
            row_l = self.copy_snapshot(east, snap, target_l, cross=False)
            self.copy_facts(row_l, snap_dir)
            local.append(row_l)
            log(f"{target_l} ({SRC_REGION}): available after {row_l['to_available_s']:.3f} s, "
                f"{row_l.get('shared_files')}/{row_l.get('files')} files shared with the source")

            out["cp_s"] = summary([r["total_s"] for r in base])
            out["cross_s"] = summary([r["to_available_s"] for r in cross])
            out["in_region_s"] = summary([r["to_available_s"] for r in local])
            east.delete_snapshot(target_l)
            if i + 1 < a.reps:
                west.delete_snapshot(target)
            else:
                keep = target
            east.wait_trash_empty()
        out["load_avg_after"] = os.getloadavg()
        out["ratio_cross_vs_cp"] = out["cross_s"]["median"] / out["cp_s"]["median"]
        out["ratio_in_region_vs_cp"] = out["in_region_s"]["median"] / out["cp_s"]["median"]
        out["cross_shares_nothing"] = all(r.get("shared_files") == 0 for r in cross)

        if a.no_restore:
            return
        ident = "bench-dr-restore"
        t0 = time.perf_counter()
        west.api("restore_db_instance_from_db_snapshot", DBInstanceIdentifier=ident,
                 DBSnapshotIdentifier=keep, Port=self.server.next_port())
        west.instances.append(ident)
        _t, inst, _p = west.wait_status(f"restore {ident}", lambda: west.instance_status(ident),
                                        "available", INSTANCE_FAILED, a.poll)
        rs = out["restore"] = {"id": ident, "snapshot": keep, "to_available_s": _t - t0,
                               "region_in_arn": inst.get("DBInstanceArn")}
        ep = endpoint(inst)
        rs["sql_ok_after_s"] = sql_check(ep[1])
        rs["expected_accounts"] = self.scale * 100000
        rs["accounts"] = int(psql(ep, "SELECT count(*) FROM pgbench_accounts"))
        rs["rows_ok"] = rs["accounts"] == rs["expected_accounts"]
        log(f"{ident} ({DR_REGION}) from {keep}: available after {rs['to_available_s']:.2f} s, "
            f"pgbench_accounts {rs['accounts']} (expected {rs['expected_accounts']})")
        west.delete_instance(ident)
        west.delete_snapshot(keep)
        east.delete_snapshot(snap)
        east.wait_trash_empty()

    def cp_rep(self, snap_dir, base):
        r = cp_baseline(snap_dir, self.server.tmp)
        base.append(r)
        note = f" !! {r['cp_stderr']}" if "cp_stderr" in r else ""
        log(f"baseline cp -a snapshot dir: {r['total_s']:.3f} s (cp {r['cp_s']:.3f} + sync "
            f"{r['sync_s']:.3f}), {fmt_mb(r['bytes'])} MiB{note}")

    def copy_facts(self, row, snap_dir):
        """The copy's directory (the new one under snapshots/), its size, its files shared with
        the source snapshot's."""
        dirs = [os.path.join(self.east.data_dir, "snapshots", d) for d in row["new_dirs"]]
        dirs = [d for d in dirs if os.path.isdir(d)]
        if len(dirs) != 1:
            row["dir_note"] = f"new directories: {row['new_dirs']}"
            return
        row["dir"] = dirs[0]
        row["bytes"] = du_bytes(dirs[0])
        row["files"], row["shared_files"] = shared_inodes(snap_dir, dirs[0])

    # ---- 2. replica lag

    def create_replica(self, key, ident, region):
        rds = self.rds(region)
        cross = region != SRC_REGION
        port = self.server.next_port()
        t0 = time.perf_counter()
        rds.api("create_db_instance_read_replica", DBInstanceIdentifier=ident, Port=port,
                SourceDBInstanceIdentifier=self.src["arn"] if cross else self.src["id"],
                **({"SourceRegion": SRC_REGION} if cross else {}))
        rds.instances.append(ident)
        t_av, inst, _p = rds.wait_status(f"replica {ident} ({region})",
                                         lambda: rds.instance_status(ident), "available",
                                         INSTANCE_FAILED, self.args.poll)
        rep = {"id": ident, "rds": rds, "region": region, "ep": endpoint(inst),
               "rid": inst["DbiResourceId"], "create_s": t_av - t0,
               "source_in_describe": inst.get("ReadReplicaSourceDBInstanceIdentifier")}
        if sql_check(rep["ep"][1]) is None:
            raise BenchError(f"{ident} is available but `select 1` fails")
        self.replicas[key] = rep
        log(f"{ident} ({region}): available after {rep['create_s']:.2f} s, source "
            f"{rep['source_in_describe']}")
        return rep

    def measure_lag(self, out):
        a = self.args
        out.update({"latency_ms": self.latency_ms, "interval_s": a.lag_interval,
                    "duration_s": a.lag_duration})
        rr = self.create_replica("rr", "bench-rr", SRC_REGION)
        dr = self.create_replica("dr", "bench-dr", DR_REGION)
        out["create_s"] = {"in_region": rr["create_s"], "cross_region": dr["create_s"]}
        out["source_in_describe"] = {"in_region": rr["source_in_describe"],
                                     "cross_region": dr["source_in_describe"]}
        # The delay localrds set on each replica (recovery_min_apply_delay)
        out["apply_delay"] = {k: psql(r["ep"], "SELECT current_setting('recovery_min_apply_delay')")
                              for k, r in (("in_region", rr), ("cross_region", dr))}
        time.sleep(a.settle)

        reps = {"in_region": rr, "cross_region": dr}
        seen = {k: {} for k in reps}
        errors = {k: [] for k in reps}
        last = []  # the writer's last probe id, once it has stopped

        # Each reader is already waiting for row k on its replica when the writer commits it,
        # so the time it reports is the replica's (1 ms polling), not a client thread's wake-up.
        def reader(key, rep):
            try:
                c = connect(rep["ep"], 10)
            except (OSError, EOFError, PgError) as e:
                errors[key].append(f"connect: {e}")
                return
            try:
                k = 0
                while not last or k < last[0]:
                    k += 1
                    try:
                        c.sock.settimeout(a.seen_limit + 10)
                        v = c.query(f"SELECT bench_seen({k}, {a.seen_limit})")[0][0]
                        seen[key][k] = float(v) if v is not None else None
                    except (OSError, EOFError, PgError) as e:
                        errors[key].append(f"{k}: {e}")
                        return
            finally:
                c.close()

        writer = connect(self.src["ep"], 10)
        probes, stat_rows, inspects = [], [], []
        rid = {r["rid"]: k for k, r in reps.items()}
        threads = [threading.Thread(target=reader, args=(k, r), daemon=True)
                   for k, r in reps.items()]
        for th in threads:
            th.start()
        out["load_avg_before"] = os.getloadavg()
        t_start = time.perf_counter()
        nxt, k = t_start + a.lag_interval, 0
        try:
            while time.perf_counter() - t_start < a.lag_duration:
                wait = nxt - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                k += 1
                t_send = time.time()
                at = float(writer.query(f"INSERT INTO bench_lag_probe (id) VALUES ({k}) "
                                        "RETURNING extract(epoch FROM at)")[0][0])
                t_ack = time.time()
                probes.append({"id": k, "send": t_send, "at": at, "ack": t_ack})
                for name, lag in writer.query(
                        "SELECT application_name, 1000 * extract(epoch FROM replay_lag) "
                        "FROM pg_stat_replication"):
                    if name in rid:
                        stat_rows.append({"replica": rid[name], "t_s": t_ack - probes[0]["ack"],
                                          "replay_ms": float(lag) if lag is not None else None})
                if k % max(1, round(1 / a.lag_interval)) == 0:  # localrds' own figure, 1/s
                    for key, r in reps.items():
                        try:
                            rp = self.server.inspect(r["id"], r["region"]).get("replication") or {}
                            inspects.append({"replica": key, "lag_s": rp.get("replica_lag_seconds"),
                                             "bytes": rp.get("replay_lag_bytes"),
                                             "status": rp.get("status")})
                        except Exception as e:  # noqa: BLE001 - an extra, never fatal
                            inspects.append({"replica": key, "error": str(e)})
                nxt += a.lag_interval
                if nxt < time.perf_counter():  # late (the machine is busy): no burst
                    nxt = time.perf_counter() + a.lag_interval
        finally:
            # One more row, so that a reader already waiting for it returns at once.
            last.append(k + 1)
            try:
                writer.query(f"INSERT INTO bench_lag_probe (id) VALUES ({k + 1})")
            finally:
                writer.close()
                for th in threads:
                    th.join(timeout=a.seen_limit + 15)
        out["load_avg_after"] = os.getloadavg()
        out["probes"] = len(probes)
        out["run_s"] = time.perf_counter() - t_start
        for key in reps:
            lag_ack = [(seen[key][p["id"]] - p["ack"]) * 1000 for p in probes
                       if seen[key].get(p["id"]) is not None]
            lag_at = [(seen[key][p["id"]] - p["at"]) * 1000 for p in probes
                      if seen[key].get(p["id"]) is not None]
            missing = sum(1 for p in probes if seen[key].get(p["id"]) is None)
            out[key] = {"lag_ms": dist(lag_ack), "lag_from_insert_ms": dist(lag_at),
                        "missing": missing, "errors": errors[key][:5],
                        "replay_lag_ms": dist([s["replay_ms"] for s in stat_rows
                                               if s["replica"] == key]),
                        "replay_lag_null": sum(1 for s in stat_rows if s["replica"] == key
                                               and s["replay_ms"] is None),
                        "localrds_lag_s": sorted({x["lag_s"] for x in inspects
                                                  if x["replica"] == key and "lag_s" in x},
                                                 key=lambda v: (v is None, v)),
                        "series_ms": lag_ack}
            d = out[key]["lag_ms"]
            log(f"lag {key}: p50 {fmt(d and d['p50'], '.1f')} p99 {fmt(d and d['p99'], '.1f')} "
                f"max {fmt(d and d['max'], '.1f')} ms over {len(lag_ack)} probes, missing "
                f"{missing}; replay_lag p50 "
                f"{fmt((out[key]['replay_lag_ms'] or {}).get('p50'), '.1f')} ms")
        out["inspects"] = inspects
        out["missing_total"] = sum(out[k]["missing"] for k in reps)
        c, r = out["cross_region"]["lag_ms"], out["in_region"]["lag_ms"]
        if c and r:
            out["ratio_p50"] = c["p50"] / r["p50"] if r["p50"] > 0 else None
            out["ratio_p99"] = c["p99"] / r["p99"] if r["p99"] > 0 else None

    # ---- 3. Region outage

    def promote_with_probe(self, rep, t_ref, out):
        """PromoteReadReplica of rep while a thread tries an INSERT on it (new connection each,
        --probe-gap after a failure) until one succeeds. Times from t_ref (perf_counter)."""
        a, rds, ident = self.args, rep["rds"], rep["id"]
        first_ok, attempts, stop = [], [], threading.Event()

        def prober():
            while not stop.is_set():
                outcome, _rows, err = probe_once(
                    rep["ep"], "INSERT INTO bench_promote_probe DEFAULT VALUES",
                    a.attempt_timeout)
                t = time.perf_counter()
                if not attempts or attempts[-1][0] != outcome:
                    attempts.append([outcome, t - t_ref, 1])
                else:
                    attempts[-1][2] += 1
                if outcome == "ok":
                    first_ok.append(t)
                    return
                time.sleep(a.probe_gap)

        th = threading.Thread(target=prober, daemon=True)
        th.start()
        try:
            t_call = time.perf_counter()
            resp = rds.api("promote_read_replica", DBInstanceIdentifier=ident)
            t_answer = time.perf_counter()
            statuses = []

            def fetch():
                st, inst = rds.instance_status(ident)
                if not statuses or statuses[-1] != st:
                    statuses.append(st)
                return st, inst
            t_av, inst, _p = rds.wait_status(f"promoted {ident}", fetch, "available",
                                             INSTANCE_FAILED, a.poll)
            th.join(timeout=a.failover_timeout)
        finally:
            stop.set()
            th.join(timeout=10)
        out.update({"call_after_ref_s": t_call - t_ref, "call_s": t_answer - t_call,
                    "to_available_s": t_av - t_ref, "available_after_call_s": t_av - t_call,
                    "writable_s": first_ok[0] - t_ref if first_ok else None,
                    "writable_after_call_s": first_ok[0] - t_call if first_ok else None,
                    "status_in_response": resp["DBInstance"].get("DBInstanceStatus"),
                    "statuses_after_call": statuses,
                    "attempts": [tuple(x) for x in attempts],
                    "still_replica": bool(inst.get("ReadReplicaSourceDBInstanceIdentifier")),
                    "steps_ms": self.server.op_steps("promote").get(ident, {})})
        out["in_recovery_after"] = psql(rep["ep"], "SELECT pg_is_in_recovery()")

    def rows_check(self, rep, acked, lag_rows, out, ack_at=None, t_freeze=None):
        """Every row acknowledged on the source before the freeze is on rep. ack_at: the
        perf_counter of each acknowledgement, to tell rows acknowledged before the freeze was
        sent from those acknowledged while it ran."""
        ep = rep["ep"]
        present = set()
        if acked:
            got = psql(ep, f"SELECT id FROM bench_outage WHERE id BETWEEN {min(acked)} AND "
                           f"{max(acked)}")
            present = {int(x) for x in got.split("\n") if x}
        out["acked_rows"] = len(acked)
        lost = sorted(set(acked) - present)
        out["lost_rows"] = len(lost)
        out["lost_ids"] = lost[:50]
        out["_lost_before"] = lost
        if ack_at and t_freeze is not None:
            when = dict(zip(acked, ack_at))
            out["_lost_before"] = [k for k in lost if when[k] < t_freeze]
            out["lost_acked_before_freeze"] = len(out["_lost_before"])
            out["lost_acked_during_freeze"] = len(lost) - len(out["_lost_before"])
            out["lost_first_ack_before_freeze_ms"] = ((t_freeze - when[lost[0]]) * 1000
                                                      if lost else None)
            out["lost_are_the_last"] = lost == acked[len(acked) - len(lost):]
        out["lag_probe_rows"] = int(psql(ep, "SELECT count(*) FROM bench_lag_probe"))
        out["lag_probe_rows_source"] = lag_rows
        out["accounts"] = int(psql(ep, "SELECT count(*) FROM pgbench_accounts"))
        out["accounts_ok"] = out["accounts"] == self.scale * 100000
        out["rows_ok"] = out["accounts_ok"] and out["lag_probe_rows"] == lag_rows

    def measure_outage(self, out):
        """--outage-reps Region outages: the first promotes the replicas of section 2; before
        each next one the source is thawed (its Region is back), the promoted instances are
        deleted and two new replicas made (untimed)."""
        a = self.args
        if "dr" not in self.replicas or "rr" not in self.replicas:
            raise BenchError("the replicas of section 2 are missing")
        rows = out["reps"] = []
        out["load_avg_before"] = os.getloadavg()
        for i in range(a.outage_reps):
            if i > 0:
                self.server.freeze(self.src["id"], SRC_REGION, thaw=True)
                for key in ("dr", "rr"):
                    old = self.replicas.pop(key)
                    old["rds"].delete_instance(old["id"])
                self.east.wait_trash_empty()
                self.create_replica("rr", f"bench-rr-{i + 1}", SRC_REGION)
                self.create_replica("dr", f"bench-dr-{i + 1}", DR_REGION)
                time.sleep(a.settle)
            row = self.outage_rep(i)
            rows.append(row)
            out["rows_ok"] = all(r["rows_ok"] for r in rows)
            for key, path in (("freeze_call_s", ("freeze_call_s",)),
                              ("dr_writable_s", ("dr", "writable_s")),
                              ("dr_available_s", ("dr", "to_available_s")),
                              ("dr_call_s", ("dr", "call_s")),
                              ("rr_writable_s", ("rr", "writable_s")),
                              ("rr_available_s", ("rr", "to_available_s")),
                              ("rr_call_s", ("rr", "call_s"))):
                vals = []
                for r in rows:
                    v = r
                    for p in path:
                        v = (v or {}).get(p)
                    vals.append(v)
                out[key] = summary(vals)
            out["lost_rows_dr"] = sum(r["dr"]["lost_rows"] for r in rows)
            out["lost_rows_rr"] = sum(r["rr"]["lost_rows"] for r in rows)
            out["acked_rows"] = sum(r["dr"]["acked_rows"] for r in rows)
            for who in ("dr", "rr"):
                for when in ("before", "during"):
                    out[f"lost_{when}_freeze_{who}"] = sum(
                        r[who].get(f"lost_acked_{when}_freeze") or 0 for r in rows)
            out["lost_before_freeze_dr_only"] = sum(
                r["dr"]["lost_before_freeze_not_lost_in_region"] for r in rows)
            out["reps_with_loss"] = sum(1 for r in rows if r["dr"]["lost_rows"])
        out["load_avg_after"] = os.getloadavg()

    def outage_rep(self, i):
        a = self.args
        dr, rr = self.replicas["dr"], self.replicas["rr"]
        out = {"dr_id": dr["id"], "rr_id": rr["id"]}
        lag_rows = int(psql(self.src["ep"], "SELECT count(*) FROM bench_lag_probe"))
        # The writer: INSERTs back to back in autocommit on one connection; an acknowledged row
        # is committed. It stops at its first failure (the frozen server does not answer).
        acked, ack_at, writer_end = [], [], {}
        stop = threading.Event()
        base_id = (i + 1) * 10_000_000

        def writer():
            try:
                c = connect(self.src["ep"], a.attempt_timeout)
            except (OSError, EOFError, PgError) as e:
                writer_end["error"] = f"connect: {e}"
                return
            k = base_id
            try:
                while not stop.is_set():
                    k += 1
                    c.query(f"INSERT INTO bench_outage (id) VALUES ({k})")
                    ack_at.append(time.perf_counter())
                    acked.append(k)
                    writer_end["last_ack"] = ack_at[-1]
            except (OSError, EOFError, PgError) as e:
                writer_end["error"] = classify(e)
                writer_end["in_doubt"] = k
            finally:
                c.sock.close()

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        time.sleep(a.pre_outage)
        if not th.is_alive():
            raise BenchError(f"the writer on bench-prod stopped before the freeze: {writer_end}")
        t_freeze = time.perf_counter()
        self.server.freeze(self.src["id"], SRC_REGION)
        t_frozen = time.perf_counter()
        out["freeze_call_s"] = t_frozen - t_freeze
        n_at_freeze = len(acked)
        log(f"bench-prod frozen ({out['freeze_call_s'] * 1000:.0f} ms); {n_at_freeze} rows "
            f"acknowledged so far; promoting {dr['id']} in {DR_REGION}")
        if a.promote_after:
            time.sleep(a.promote_after)
        p = out["dr"] = {}
        self.promote_with_probe(dr, t_freeze, p)
        stop.set()
        th.join(timeout=a.attempt_timeout + 5)
        out["writer"] = {"acked": len(acked), "acked_at_freeze_answer": n_at_freeze,
                         "ended": writer_end.get("error"), "in_doubt": writer_end.get("in_doubt"),
                         "last_ack_after_freeze_ms": (writer_end["last_ack"] - t_freeze) * 1000
                         if "last_ack" in writer_end else None,
                         "rate_per_s": n_at_freeze / a.pre_outage}
        # Every acknowledged row counts, also one acknowledged after the freeze was sent (the
        # server committed it before it stopped).
        self.rows_check(dr, acked, lag_rows, p, ack_at, t_freeze)
        log(f"{dr['id']}: first write {fmt(p['writable_s'])} s after the freeze, available "
            f"{p['to_available_s']:.3f} s (call {p['call_s']:.3f} s, "
            f"{' -> '.join(p['statuses_after_call'])}); rows lost {p['lost_rows']} of "
            f"{p['acked_rows']}, accounts {p['accounts']}, lag probe rows "
            f"{p['lag_probe_rows']}/{lag_rows}; probe {p['attempts']}")

        # Baseline: the in-Region replica of the same frozen source, promoted right after.
        b = out["rr"] = {}
        self.promote_with_probe(rr, time.perf_counter(), b)
        self.rows_check(rr, acked, lag_rows, b, ack_at, t_freeze)
        log(f"{rr['id']}: first write {fmt(b['writable_s'])} s after the call, available "
            f"{b['to_available_s']:.3f} s; rows lost {b['lost_rows']}; probe {b['attempts']}")
        # A row acknowledged while the freeze ran (it stops the postmaster, waits, then the
        # children) was committed just before the server stopped, when each walsender may have
        # been a few ms behind, independently: in doubt. Replication is asynchronous: a row acknowledged before the freeze whose WAL the
        # source had not yet sent is on neither replica (the RPO of that moment; counted, not a
        # failure). One the in-Region replica has and the promoted DR replica lacks was lost by
        # the DR path: a failure.
        dr_only = sorted(set(p.pop("_lost_before")) - set(b.pop("_lost_before")))
        p["lost_before_freeze_not_lost_in_region"] = len(dr_only)
        out["rows_ok"] = p["rows_ok"] and b["rows_ok"] and not dr_only
        return out

    # ---- cleanup through the API

    def api_cleanup(self, out):
        if self.src:
            try:  # the Region comes back: its server must run to be deleted quickly
                self.server.freeze(self.src["id"], SRC_REGION, thaw=True)
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                out.setdefault("errors", []).append(f"thaw: {e}")
        for rds in (self.west, self.east):  # replicas (us-west-2) before the source
            for snap in list(rds.snapshots):
                try:
                    rds.delete_snapshot(snap)
                except BenchError as e:
                    out.setdefault("errors", []).append(str(e))
            rds.delete_all(out, newest_first=True, name=rds.region)


def run_server(args, res, key, latency_ms, scale, sections):
    """One `localrds serve --inter-region-latency latency_ms` and the named sections on it;
    res[key] holds each section's figures, res['cleanup'][key] what its stop found."""
    server = Localrds(args.bin, pool_size=args.pool_size, label=f"regions-{key}",
                      keep=args.keep, extra_args=["--inter-region-latency", str(latency_ms)])
    sub = res.setdefault(key, {"latency_ms": latency_ms})
    try:
        server.start()
        bench = RegionsBench(args, server, latency_ms, scale)
        if run_section(sub, "setup", bench.setup):
            for name in sections:
                fn = {"snapshot": bench.measure_snapshot_copy, "lag": bench.measure_lag,
                      "outage": bench.measure_outage}[name]
                run_section(sub, name, fn)
        run_section(sub, "api_cleanup", bench.api_cleanup)
    finally:
        server.stop()
        res.setdefault("cleanup", {})[key] = getattr(server, "cleanup_info", None)


def run(args, res):
    res.update({"scale": args.scale, "reps": args.reps, "latency_ms": args.latency,
                "outage_reps": args.outage_reps, "probe_gap": args.probe_gap,
                "promote_after_s": args.promote_after})
    on = ["lag", "outage"] if args.no_snapshot else ["snapshot", "lag", "outage"]
    run_server(args, res, "latency_on", args.latency, args.scale, on)
    if not args.no_latency_off:
        run_server(args, res, "latency_off", 0, 1, ["lag", "outage"])


def all_failed(res):
    """Section failures of both servers (a section failed in either)."""
    return any(section_failed(res.get(k, {})) for k in ("latency_on", "latency_off"))


# --------------------------------------------------------------------------------------------
# report

def report(res):
    w = sys.stdout.write
    on, off = res.get("latency_on", {}), res.get("latency_off", {})
    w(f"\n=== localrds Regions benchmark ({res['mode']} mode, pgbench scale {res['scale']}, "
      f"--inter-region-latency {res['latency_ms']} ms and 0, {host_text(res)}) ===\n")
    for key, sub in (("latency_on", on), ("latency_off", off)):
        for name in ("setup", "snapshot", "lag", "outage", "api_cleanup"):
            err = (sub.get(name) or {}).get("error")
            if err:
                w(f"!! {key}/{name}: {err}\n")
            for e in (sub.get(name) or {}).get("errors", []) if name == "api_cleanup" else []:
                w(f"!! {key}/cleanup: {e}\n")

    su = on.get("setup", {})
    if "load_s" in su:
        w(f"\nsource bench-prod ({SRC_REGION}): pgbench -i -s {su['scale']} in "
          f"{su['load_s']:.1f} s; database {fmt_mb(su['db_size_bytes'])} MiB, pgdata "
          f"{fmt_mb(su['pgdata_bytes'])} MiB\n")

    sn = on.get("snapshot", {})
    if sn.get("cross_s"):
        cp_med = sn["cp_s"]["median"]
        w(f"\n-- 1. CopyDBSnapshot of a {fmt_mb(sn.get('snapshot_bytes'))} MiB snapshot -> "
          f"available, vs `cp -a` + `sync -f` of the same snapshot directory (seconds, "
          f"{len(sn['cross'])} reps, interleaved)\n")
        w(f"{'series':<48}{'n':>3}{'min':>8}{'median':>8}{'max':>8}{'vs cp -a':>10}{'MiB':>7}\n")
        med_bytes = {k: (sorted(r.get("bytes") or 0 for r in sn[k]) or [None])[len(sn[k]) // 2]
                     for k in ("cross", "in_region", "cp")}
        for label, st, k in ((f"cross-Region copy {SRC_REGION} -> {DR_REGION}", sn["cross_s"],
                              "cross"),
                             ("baseline: cp -a snapshot dir + sync -f", sn["cp_s"], "cp"),
                             (f"in-Region copy ({SRC_REGION}, hard links)", sn["in_region_s"],
                              "in_region")):
            w(f"{label:<48}{stat_cols(st)}{fmt_ratio(st['median'], cp_med):>10}"
              f"{fmt_mb(med_bytes[k]):>7}\n")
        cr = sn["cross"]
        w(f"files shared with the source snapshot (same inode): cross-Region "
          f"{[r.get('shared_files') for r in cr]} of {[r.get('files') for r in cr]}, in-Region "
          f"{[r.get('shared_files') for r in sn['in_region']]} of "
          f"{[r.get('files') for r in sn['in_region']]}\n")
        steps = step_medians(r.get("steps_ms", {}) for r in cr)
        if steps:
            w("cross-Region copy, server steps, median ms: "
              + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()) + "\n")
        w(f"the cross-Region call answered in {fmt(sn['cross'][0]['call_s'])} s (first rep) with "
          f"status {sorted({r['status_in_response'] for r in cr})}, SourceRegion in describe "
          f"{sorted({str(r['source_region_in_describe']) for r in cr})}; source snapshot made "
          f"in {sn['source_snapshot_s']:.2f} s\n")
        w(f"reference: {REF_COPY}\n")
        rs = sn.get("restore")
        if rs:
            w(f"restore of {rs['snapshot']} in {DR_REGION}: available after "
              f"{rs['to_available_s']:.2f} s, pgbench_accounts {rs['accounts']} (expected "
              f"{rs['expected_accounts']}): {'ok' if rs['rows_ok'] else 'WRONG'}\n")
        la, lb = sn.get("load_avg_before"), sn.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after: {la[0]:.2f} / {lb[0]:.2f}\n")

    for key, sub in (("latency_on", on), ("latency_off", off)):
        lg = sub.get("lag", {})
        if not lg.get("probes"):
            continue
        w(f"\n-- 2. replica lag, --inter-region-latency {lg['latency_ms']} ms: a row committed "
          f"on the source every {lg['interval_s'] * 1000:.0f} ms for {lg['duration_s']} s "
          f"({lg['probes']} probes); visible on each replica (ms after the commit was "
          f"acknowledged)\n")
        w(f"{'replica':<36}{'n':>5}{'min':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
          f"{'miss':>6}\n")
        for label, k in ((f"cross-Region bench-dr ({DR_REGION})", "cross_region"),
                         (f"baseline: in-Region bench-rr ({SRC_REGION})", "in_region")):
            d = lg[k]["lag_ms"]
            if d:
                w(f"{label:<36}{d['n']:>5}" + "".join(f"{d[s]:>8.1f}" for s in
                                                     ("min", "p50", "p95", "p99", "max"))
                  + f"{lg[k]['missing']:>6}\n")
            d = lg[k]["lag_from_insert_ms"]
            if d:
                w(f"{'  from the INSERT (before its commit)':<36}{d['n']:>5}" + "".join(
                    f"{d[s]:>8.1f}" for s in ("min", "p50", "p95", "p99", "max")) + "\n")
            rp = lg[k]["replay_lag_ms"]
            if rp:
                w(f"{'  pg_stat_replication.replay_lag':<36}{rp['n']:>5}" + "".join(
                    f"{rp[s]:>8.1f}" for s in ("min", "p50", "p95", "p99", "max"))
                  + f"{lg[k]['replay_lag_null']:>6}\n")
        w(f"ratio cross/in-Region: p50 {fmt(lg.get('ratio_p50'), '.1f')}x, p99 "
          f"{fmt(lg.get('ratio_p99'), '.1f')}x; recovery_min_apply_delay {lg['apply_delay']}; "
          f"localrds replica_lag_seconds seen: cross {lg['cross_region']['localrds_lag_s']}, "
          f"in-Region {lg['in_region']['localrds_lag_s']}; replica creation (s) "
          f"{ {k: round(v, 2) for k, v in lg['create_s'].items()} }\n")
        w("(`miss`: probes never seen / NULL replay_lag samples. Visibility: a session on each "
          "replica is already waiting for the row (a PL/pgSQL loop, a new snapshot every ~1 ms) "
          "when it is committed, so each figure is ~0-1 ms late; the replica can show a row "
          "before the client has read the commit's answer, hence min < 0 is possible. "
          "replay_lag: pg_stat_replication on the source, read right after each probe)\n")
        la, lb = lg.get("load_avg_before"), lg.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after: {la[0]:.2f} / {lb[0]:.2f}\n")

    for key, sub in (("latency_on", on), ("latency_off", off)):
        og = sub.get("outage", {})
        reps = og.get("reps") or []
        if not reps:
            continue
        lat = sub.get("latency_ms")
        after = res.get("promote_after_s")
        when = f"{after:g} s later" if after else "at once"
        w(f"\n-- 3. Region outage (--inter-region-latency {lat} ms, {len(reps)} reps): freeze "
          f"bench-prod ({SRC_REGION}) while a writer commits rows back to back, "
          f"PromoteReadReplica of the {DR_REGION} replica {when}, INSERT probe (new connection "
          f"each, every {res.get('probe_gap', 0.005) * 1000:.0f} ms after a failure); then the "
          f"in-Region replica of the same frozen source (baseline; times from its call)\n")
        w(f"{'figure, s':<52}{'n':>3}{'min':>8}{'median':>8}{'max':>8}\n")
        for label, k in (("freeze -> the freeze call answered", "freeze_call_s"),
                         (f"freeze -> first successful INSERT ({DR_REGION})", "dr_writable_s"),
                         (f"freeze -> available ({DR_REGION})", "dr_available_s"),
                         ("  the PromoteReadReplica call itself", "dr_call_s"),
                         ("baseline: in-Region call -> first INSERT", "rr_writable_s"),
                         ("baseline: in-Region call -> available", "rr_available_s"),
                         ("  the PromoteReadReplica call itself", "rr_call_s")):
            st = og.get(k)
            if st:
                w(f"{label:<52}{stat_cols(st)}\n")
        w(f"reference: {REF_PROMOTE}\n")
        steps = step_medians(r["dr"].get("steps_ms", {}) for r in reps)
        w(f"cross-Region promote, server steps, median ms: "
          + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()) + "\n")
        for r in reps:
            p, b, wr = r["dr"], r["rr"], r["writer"]
            w(f"  {r['dr_id']}: statuses after the call "
              f"{' -> '.join(p.get('statuses_after_call', []))} (response "
              f"{p.get('status_in_response')}), in recovery after {p.get('in_recovery_after')}, "
              f"still a replica {p.get('still_replica')}; probe outcomes "
              f"{[(o, round(t, 3), n) for o, t, n in p.get('attempts', [])]}\n")
            w(f"    data: writer acknowledged {wr.get('acked')} rows "
              f"({fmt(wr.get('rate_per_s'), '.0f')}/s; the last ack came "
              f"{fmt(wr.get('last_ack_after_freeze_ms'), '.1f')} ms after the freeze was sent; "
              f"the writer then ended by {wr.get('ended')}); lost on {r['dr_id']} "
              f"{p.get('lost_rows')} ({p.get('lost_acked_before_freeze')} acknowledged before "
              f"the freeze was sent, the first "
              f"{fmt(p.get('lost_first_ack_before_freeze_ms'), '.1f')} ms before it; the last "
              f"ones acknowledged: {p.get('lost_are_the_last')}), on "
              f"{r['rr_id']} {b.get('lost_rows')} ({b.get('lost_acked_before_freeze')} before); "
              f"acknowledged before the freeze and lost on the DR replica only: "
              f"{p.get('lost_before_freeze_not_lost_in_region')}; "
              f"lag probe rows "
              f"{p.get('lag_probe_rows')}/{p.get('lag_probe_rows_source')}; pgbench_accounts "
              f"{p.get('accounts')} ({'ok' if p.get('accounts_ok') else 'WRONG'})\n")
        la, lb = og.get("load_avg_before"), og.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after: {la[0]:.2f} / {lb[0]:.2f}\n")

    cl = res.get("cleanup") or {}
    for key, c in cl.items():
        if c and (c.get("servers_running_0_5s_after_reset") or
                  c.get("servers_left_after_sigterm")):
            w(f"!! {key}: PostgreSQL servers were left running after reset/SIGTERM (the bench "
              f"stopped them)\n")
        if c and c.get("reset_s") is not None:
            w(f"{key}: POST /_localrds/reset took {c['reset_s']:.2f} s\n")

    line = BaselineSummary(w, ratio_width=8).line
    if sn.get("cross_s"):
        line("cross-Region snapshot copy -> available, s", sn["cross_s"]["median"],
             sn["cp_s"]["median"], "cp -a + sync -f of the snapshot dir, same run")
        line("in-Region snapshot copy -> available, s", sn["in_region_s"]["median"],
             sn["cp_s"]["median"], "same")
    elif "snapshot" in on:
        line("cross-Region snapshot copy, s", "error")
    for key, sub in (("latency_on", on), ("latency_off", off)):
        lg = sub.get("lag", {})
        c, r = (lg.get("cross_region") or {}).get("lag_ms"), (lg.get("in_region") or {}).get(
            "lag_ms")
        if c and r:
            lat = lg["latency_ms"]
            line(f"replica lag p50, ms (latency {lat})", c["p50"], r["p50"],
                 "in-Region replica, same run", ".1f")
            line(f"replica lag p99, ms (latency {lat})", c["p99"], r["p99"],
                 "in-Region replica, same run", ".1f")
        elif "lag" in sub:
            line(f"replica lag (latency {sub.get('latency_ms')})", "error")
    for key, sub in (("latency_on", on), ("latency_off", off)):
        og = sub.get("outage", {})
        lat = sub.get("latency_ms")
        if og.get("dr_writable_s"):
            dw, rw = og["dr_writable_s"]["median"], (og.get("rr_writable_s") or {}).get("median")
            line(f"freeze -> first write on DR, s (lat {lat})", dw, rw,
                 "in-Region promote call -> write, same run")
            line(f"freeze -> DR available, s (lat {lat})", og["dr_available_s"]["median"],
                 (og.get("rr_available_s") or {}).get("median"),
                 "in-Region promote call -> available")
            line("  vs pg_promote on a plain standby", dw, 0.022, "PG-LIMITS row 8 median")
            line(f"rows lost on DR, acked before freeze (lat {lat})",
                 og.get("lost_before_freeze_dr"), og.get("lost_before_freeze_rr"),
                 f"in-Region replica; of {og.get('acked_rows')} acknowledged", "d")
            line("  of them on the DR replica only", og.get("lost_before_freeze_dr_only"), None,
                 "must be 0", "d")
            line(f"rows lost on DR, acked during freeze (lat {lat})",
                 og.get("lost_during_freeze_dr"), og.get("lost_during_freeze_rr"),
                 "in-Region replica (in doubt)", "d")
        elif "outage" in sub:
            line(f"Region outage -> first write (lat {lat})", "error")
    footer(w, res)


def failed(res):
    """True when a section failed or a check did."""
    if all_failed(res):
        return True
    on, off = res.get("latency_on", {}), res.get("latency_off", {})
    rs = (on.get("snapshot") or {}).get("restore")
    if rs and not rs.get("rows_ok"):
        return True
    for sub in (on, off):
        if (sub.get("outage") or {}).get("rows_ok") is False:
            return True
        if (sub.get("lag") or {}).get("missing_total"):
            return True
    return False


def main():
    ap = skeleton.parser(__doc__, "smoke run on a small database")
    ap.add_argument("--scale", type=int, help="pgbench scale of the source (default 70 = "
                                              "~1 GiB, quick 5)")
    ap.add_argument("--reps", type=int, help="snapshot copies of each kind, each with its cp -a "
                                             "baseline (default 3, quick 1)")
    ap.add_argument("--latency", type=int, default=40,
                    help="--inter-region-latency of the first localrds, ms (default 40)")
    ap.add_argument("--lag-duration", type=float,
                    help="seconds of the lag probe (default 30, quick 8)")
    ap.add_argument("--lag-interval", type=float, default=0.1,
                    help="seconds between lag probe commits (default 0.1)")
    ap.add_argument("--seen-limit", type=float, default=10.0,
                    help="seconds a replica session waits for one probe row (default 10)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between the replicas' `available` and the lag probe")
    ap.add_argument("--outage-reps", type=int,
                    help="Region outages per localrds (default 3, quick 1)")
    ap.add_argument("--pre-outage", type=float, default=1.0,
                    help="seconds the writer runs before the freeze (default 1)")
    ap.add_argument("--promote-after", type=float, default=0.0,
                    help="seconds between the freeze and PromoteReadReplica (default 0: at once)")
    ap.add_argument("--probe-gap", type=float, default=0.005,
                    help="seconds between failed INSERT probe attempts (default 0.005)")
    ap.add_argument("--attempt-timeout", type=float, default=2.0,
                    help="socket timeout of one probe attempt / the writer, seconds")
    ap.add_argument("--failover-timeout", type=float, default=120.0,
                    help="how long to wait for the first write after a promotion")
    ap.add_argument("--poll", type=float, default=0.02,
                    help="Describe* poll interval while waiting (default 0.02)")
    ap.add_argument("--no-snapshot", action="store_true", help="skip section 1")
    ap.add_argument("--no-restore", action="store_true",
                    help="do not restore the cross-Region copy (section 1)")
    ap.add_argument("--no-latency-off", action="store_true",
                    help="skip the second localrds (--inter-region-latency 0)")
    ap.add_argument("--timeout", type=float, default=600.0, help="limit of every wait, seconds")
    ap.add_argument("--pool-size", type=int, default=0,
                    help="localrds --pool-size (default 0: no initdb in the background while "
                         "measuring)")
    args = skeleton.parse(ap, (("scale", 70, 5), ("reps", 3, 1), ("lag_duration", 30.0, 8.0),
                                  ("outage_reps", 3, 1)))
    if args.reps < 1 or args.scale < 1 or args.outage_reps < 1 or args.lag_duration <= 0:
        sys.exit("--reps, --outage-reps and --scale must be at least 1, --lag-duration positive")
    if not 0.01 <= args.lag_interval <= 1:
        sys.exit("--lag-interval must be within 0.01..1 s")
    skeleton.require(args, "bench_regions.py", ("psql", "pgbench", "cp", "du", "sync"))
    if os.geteuid() != 0:
        log("not root: reading the snapshot directories will fail")
    skeleton.measure(args, run, report, failed, "BENCH_REGIONS_JSON")


if __name__ == "__main__":
    main()
