#!/usr/bin/env python3
"""Benchmarks for localrds' backups: snapshots, restores, point-in-time restore, WAL archive.

Everything goes through the RDS Query API with boto3 (as a user would), against one
`localrds serve` on a temp data dir. Each timing sits next to a baseline measured in the same
run on the same machine:

  1. CreateDBSnapshot -> snapshot `available`, against `cp -a` + `sync -f` of the instance's
     pgdata (the copy a snapshot cannot beat by much), on a ~1 GiB database (pgbench -i -s 70).
  2. RestoreDBInstanceFromDBSnapshot -> instance `available`, against the same `cp -a`; the
     restored instance must hold every pgbench_accounts row.
  3. RestoreDBInstanceToPointInTime to the middle of a `pgbench -c 4 -T 20` run: time to
     `available`, WAL bytes replayed per second, and pgbench_history rows on the restored instance
     against the source's rows with mtime <= the target.
  4. LatestRestorableTime lag under a light write load (one INSERT per 0.5 s).
  5. Growth of the WAL archive of idle instances.

Needs root (the pgdata and archive directories belong to `postgres`), psql and pgbench, python3
with boto3. Wall times are printed, never asserted; the exit status is 1 when a section failed or
a restored instance has the wrong rows. Output: progress on stderr, a report on stdout, then one
line `BENCH_BACKUPS_JSON {...}` with every figure.

Usage: bench/run.sh backups [--quick] [...]   or   python3 bench/bench_backups.py --help
"""

import datetime
import math
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import skeleton  # noqa: E402
from lib.api import INSTANCE_FAILED, SNAPSHOT_FAILED, Rds, endpoint  # noqa: E402
from lib.baselines import cp_baseline  # noqa: E402
from lib.env import MiB  # noqa: E402
from lib.errors import BenchError  # noqa: E402
from lib.host import du_bytes  # noqa: E402
from lib.pg import (pg_env, pgbench_argv, pgbench_init, psql, sql_check,  # noqa: E402
                    wait_archiver)
from lib.report import (fmt, fmt_mb, fmt_ratio, footer, host_text, log,  # noqa: E402
                        section_errors, servers_left, stat_cols)
from lib.skeleton import run_section, section_failed  # noqa: E402
from lib.stats import median, summary  # noqa: E402


def count_files(path):
    return sum(len(files) for _, _, files in os.walk(path)) if os.path.isdir(path) else None


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def iso(epoch):
    return None if epoch is None else utc(epoch).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------
# the source's WAL positions

def wal_mark(ep, label):
    """The source's WAL position now: {label, t (epoch, server clock), lsn}."""
    out = psql(ep, "SELECT extract(epoch FROM clock_timestamp()), pg_current_wal_lsn()")
    t, lsn = out.split("|")
    return {"label": label, "t": float(t), "lsn": lsn}


def wal_bytes(ep, lsn_from, lsn_to):
    return int(float(psql(ep, f"SELECT pg_wal_lsn_diff('{lsn_to}', '{lsn_from}')")))


# --------------------------------------------------------------------------------------------
# the benchmark

class BackupsBench:
    """One run: the server's API (self.rds: the instances and snapshots cleanup must delete),
    the source instance, its WAL marks and the copy baselines."""

    def __init__(self, args, server):
        self.args = args
        self.server = server
        self.rds = Rds(server, args.timeout)
        self.marks = {}  # label -> wal_mark() of the source
        self.src = None  # {"id", "ep", "rid", "pgdata"}
        self.cp = {}  # baseline rows: {"full": [...], "without_wal": [...]}

    def wait_restored(self, ident, t0):
        """Polls a restoring instance until `available`; then checks SQL works. Returns a row."""
        t_av, inst, polls = self.rds.wait_status(
            f"restored instance {ident}", lambda: self.rds.instance_status(ident), "available",
            INSTANCE_FAILED, self.args.poll)
        ep = endpoint(inst)
        sql_ok = sql_check(ep[1])
        if sql_ok is None:
            raise BenchError(f"{ident} is available but `select 1` as the master user on "
                             f"{ep[0]}:{ep[1]} failed for 30 s")
        return {"id": ident, "to_available_s": t_av - t0, "polls": polls,
                "sql_ok_after_s": sql_ok, "ep": ep, "rid": inst.get("DbiResourceId")}

    # ---- setup

    def setup(self, res):
        self.rds.read_data_dir()
        # An instance nobody writes to, for the idle archive figure at the end.
        self.rds.create_instance("bench-idle", BackupRetentionPeriod=7)
        inst = self.rds.create_instance("bench-src", BackupRetentionPeriod=7)
        if inst.get("BackupRetentionPeriod") != 7:
            log(f"!! bench-src has BackupRetentionPeriod {inst.get('BackupRetentionPeriod')}")
        rid = inst["DbiResourceId"]
        self.src = {"id": "bench-src", "ep": endpoint(inst), "rid": rid,
                    "pgdata": os.path.join(self.rds.data_dir, "instances", rid, "pgdata")}
        if not os.path.isdir(self.src["pgdata"]):
            raise BenchError(f"no pgdata at {self.src['pgdata']}")
        if sql_check(self.src["ep"][1]) is None:
            raise BenchError("bench-src: `select 1` as the master user fails")
        self.marks["created"] = wal_mark(self.src["ep"], "created")

        log(f"bench-src: pgbench -i -s {self.args.scale}")
        res["load_s"] = pgbench_init(self.src["ep"], self.args.scale,
                                     max(1800, 4 * self.args.timeout))
        self.marks["loaded"] = wal_mark(self.src["ep"], "loaded")
        res["load_wal_bytes"] = wal_bytes(self.src["ep"], self.marks["created"]["lsn"],
                                          self.marks["loaded"]["lsn"])
        log(f"bench-src: loaded in {res['load_s']:.1f} s, "
            f"{res['load_wal_bytes'] / MiB:.0f} MiB of WAL")
        res["archive_mode"] = psql(self.src["ep"], "SELECT current_setting('archive_mode')")
        res["archiver_caught_up_s"] = (wait_archiver(self.src["ep"], "bench-src")
                                       if res["archive_mode"] != "off" else None)
        if res["archive_mode"] == "off":
            log("!! bench-src: archive_mode is off")

    # ---- 1. snapshots

    def measure_snapshots(self, out):
        """Each rep: cp -a baselines (full, without pg_wal), then CreateDBSnapshot until
        available. Keeps the last snapshot for the restores; deletes the others."""
        rows = out["snapshots"] = []
        self.cp = out["cp"] = {"full": [], "without_wal": []}
        snap_store = os.path.join(self.rds.data_dir, "snapshots")
        for i in range(self.args.reps):
            pg_wal = du_bytes(os.path.join(self.src["pgdata"], "pg_wal"))
            for kind in ("full", "without_wal"):
                row = cp_baseline(self.src["pgdata"], self.server.tmp, kind == "without_wal")
                row["pg_wal_bytes"] = pg_wal
                self.cp[kind].append(row)
                out[f"cp_{kind}_s"] = summary([r["total_s"] for r in self.cp[kind]])
                note = f" !! {row['cp_stderr']}" if "cp_stderr" in row else ""
                log(f"baseline cp -a {kind}: {row['total_s']:.3f} s "
                    f"(cp {row['cp_s']:.3f} + sync {row['sync_s']:.3f}), "
                    f"{fmt_mb(row['bytes'])} MiB{note}")
            snap = f"bench-snap-{i + 1}"
            store_before = du_bytes(snap_store) or 0
            t0 = time.perf_counter()
            resp = self.rds.api("create_db_snapshot", DBInstanceIdentifier=self.src["id"],
                                DBSnapshotIdentifier=snap)
            t1 = time.perf_counter()
            self.rds.snapshots.append(snap)
            out["kept_snapshot"] = snap
            t_av, s, polls = self.rds.wait_status(
                f"snapshot {snap}", lambda: self.rds.snapshot_status(snap), "available",
                SNAPSHOT_FAILED, self.args.poll_snapshot)
            self.marks[f"snapshot-{i + 1}"] = wal_mark(self.src["ep"], f"after {snap}")
            waiter_polls = self.rds.waiter("db_snapshot_available", 0.2, DBSnapshotIdentifier=snap)
            store_after = du_bytes(snap_store)
            row = {"id": snap, "call_s": t1 - t0, "to_available_s": t_av - t0, "polls": polls,
                   "status_in_response": resp["DBSnapshot"].get("Status"),
                   "snapshot_type": s.get("SnapshotType"), "waiter_polls": waiter_polls,
                   "store_growth_bytes": None if store_after is None else
                   store_after - store_before}
            rows.append(row)
            out["snapshot_s"] = summary([r["to_available_s"] for r in rows])
            log(f"{snap}: available after {row['to_available_s']:.3f} s (call "
                f"{row['call_s']:.3f} s, {polls} polls; waiter afterwards: {waiter_polls} "
                f"poll(s)); snapshot store +{fmt_mb(row['store_growth_bytes'])} MiB")
            if i + 1 < self.args.reps:
                self.rds.delete_snapshot(snap)
                self.rds.wait_trash_empty()
        snap_s = out["snapshot_s"]["median"]
        out["ratio_vs_cp"] = snap_s / out["cp_full_s"]["median"]
        out["ratio_vs_cp_without_wal"] = snap_s / out["cp_without_wal_s"]["median"]

    # ---- 2. restore from snapshot

    def measure_restores(self, out, snap):
        rows = out["restores"] = []
        expected = out["expected_accounts"] = self.args.scale * 100000
        for i in range(self.args.reps):
            ident = f"bench-restore-{i + 1}"
            t0 = time.perf_counter()
            self.rds.api("restore_db_instance_from_db_snapshot", DBInstanceIdentifier=ident,
                         DBSnapshotIdentifier=snap, Port=self.server.next_port())
            self.rds.instances.append(ident)
            row = self.wait_restored(ident, t0)
            row["accounts"] = int(psql(row["ep"], "SELECT count(*) FROM pgbench_accounts"))
            row["rows_ok"] = row["accounts"] == expected
            log(f"{ident}: available after {row['to_available_s']:.3f} s ({row['polls']} polls), "
                f"SQL ok {row['sql_ok_after_s']:.3f} s later, pgbench_accounts "
                f"{row['accounts']} (expected {expected})")
            row["delete_s"] = self.rds.delete_instance(ident)
            self.rds.wait_trash_empty()
            rows.append(row)
            out["restore_s"] = summary([r["to_available_s"] for r in rows])
            out["rows_ok"] = all(r["rows_ok"] for r in rows)
        cp_full = median(r["total_s"] for r in self.cp.get("full", []))
        out["ratio_vs_cp"] = out["restore_s"]["median"] / cp_full if cp_full else None

    # ---- 3. point-in-time restore

    def measure_pitr(self, out):
        a, ep = self.args, self.src["ep"]
        out.update({"clients": a.pitr_clients, "duration_s": a.pitr_duration})
        pre = wal_mark(ep, "before the pgbench run")
        self.marks["pitr-start"] = pre
        log(f"bench-src: pgbench -c {a.pitr_clients} -T {a.pitr_duration}")
        proc = subprocess.Popen(pgbench_argv(ep, "-n", "-c", str(a.pitr_clients),
                                             "-T", str(a.pitr_duration)),
                                env=pg_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            started = time.time()
            # The target: the first whole second (UTC) after the middle of the run, so that
            # sub-second handling of RestoreTime cannot change the answer.
            target = math.ceil(started + a.pitr_duration / 2)
            time.sleep(max(0.0, target - time.time()))
            mark = wal_mark(ep, "target")
            self.marks["target"] = mark
            output, _ = proc.communicate(timeout=a.pitr_duration + 120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise BenchError(f"pgbench run failed: {output[-1500:]}")
        run_end = time.time()
        self.marks["pitr-end"] = wal_mark(ep, "after the pgbench run")
        tps = [ln for ln in output.splitlines() if ln.startswith("tps")]
        out.update({"target": iso(target), "target_epoch": target,
                    "target_mark_late_s": mark["t"] - target,
                    "pgbench_tps": tps[0] if tps else None,
                    "run_wal_bytes": wal_bytes(ep, pre["lsn"], self.marks["pitr-end"]["lsn"])})
        log(f"target {out['target']} (WAL mark taken {out['target_mark_late_s'] * 1000:.0f} ms "
            f"after it); {out['pgbench_tps']}")

        # LatestRestorableTime must reach the target before RDS accepts the restore.
        deadline = time.time() + a.timeout
        lrt, no_lrt_since = None, time.time()
        while True:
            inst = self.rds.instance(self.src["id"])
            now = time.time()
            lrt = inst.get("LatestRestorableTime") if inst else None
            if lrt is not None:
                no_lrt_since = None
                if lrt.timestamp() >= target:
                    break
            elif no_lrt_since is not None and now - no_lrt_since > 60:
                raise BenchError("DescribeDBInstances shows no LatestRestorableTime for bench-src "
                                 "(60 s)")
            if now >= deadline:
                raise BenchError(f"LatestRestorableTime {lrt} did not reach the target "
                                 f"{out['target']} within {a.timeout:.0f} s")
            time.sleep(0.2)
        out["lrt_reached_after_target_s"] = now - target
        out["lrt_reached_after_run_end_s"] = now - run_end
        log(f"LatestRestorableTime >= target {now - target:.1f} s after the target "
            f"({now - run_end:.1f} s after the run ended)")

        ident = "bench-pitr"
        t0 = time.perf_counter()
        self.rds.api("restore_db_instance_to_point_in_time",
                     SourceDBInstanceIdentifier=self.src["id"], TargetDBInstanceIdentifier=ident,
                     RestoreTime=utc(target), Port=self.server.next_port())
        self.rds.instances.append(ident)
        row = self.wait_restored(ident, t0)
        out.update({k: row[k] for k in ("to_available_s", "polls", "sql_ok_after_s")})
        target_sql = utc(target).strftime("%Y-%m-%d %H:%M:%S")
        out["restored_history_rows"] = int(psql(row["ep"], "SELECT count(*) FROM pgbench_history"))
        out["restored_max_mtime"] = psql(row["ep"], "SELECT max(mtime) FROM pgbench_history")
        out["restored_in_recovery"] = psql(row["ep"], "SELECT pg_is_in_recovery()")
        out["source_history_rows_to_target"] = int(psql(
            ep, f"SELECT count(*) FROM pgbench_history WHERE mtime <= '{target_sql}'"))
        out["source_history_rows_total"] = int(psql(ep, "SELECT count(*) FROM pgbench_history"))
        # mtime is the transaction's start: a transaction in flight at the target has
        # mtime <= target but commits after it, so the restore may miss up to one row per client.
        diff = out["source_history_rows_to_target"] - out["restored_history_rows"]
        out["history_diff"] = diff
        out["rows_ok"] = 0 <= diff <= a.pitr_clients and out["restored_in_recovery"] == "f"
        log(f"{ident}: available after {row['to_available_s']:.3f} s; pgbench_history restored "
            f"{out['restored_history_rows']}, source with mtime <= target "
            f"{out['source_history_rows_to_target']} (of {out['source_history_rows_total']})")

        # WAL replayed: from the manual snapshot (as asked) and from the newest automated backup
        # before the target (what RDS itself restores from), both up to the target.
        snap_marks = [m for k, m in self.marks.items() if k.startswith("snapshot-")]
        if snap_marks:
            base = snap_marks[-1]
            out["wal_since_snapshot_bytes"] = wal_bytes(ep, base["lsn"], mark["lsn"])
        auto = self.newest_automated_backup(target)
        if auto:
            base = self.mark_before(auto["created_epoch"])
            out["automated_backup"] = auto
            out["automated_backup_mark"] = base["label"]
            out["wal_since_automated_backup_bytes"] = wal_bytes(ep, base["lsn"], mark["lsn"])
        for k in ("wal_since_snapshot_bytes", "wal_since_automated_backup_bytes"):
            if out.get(k) is not None:
                out[k.replace("_bytes", "_mb_per_s")] = out[k] / MiB / out["to_available_s"]
        out["delete_s"] = self.rds.delete_instance(ident)

    def newest_automated_backup(self, before_epoch):
        r = self.rds.api("describe_db_snapshots", DBInstanceIdentifier=self.src["id"],
                         SnapshotType="automated")
        snaps = [s for s in r.get("DBSnapshots", []) if s.get("SnapshotCreateTime") and
                 s["SnapshotCreateTime"].timestamp() <= before_epoch]
        if not snaps:
            return None
        s = max(snaps, key=lambda x: x["SnapshotCreateTime"])
        return {"id": s["DBSnapshotIdentifier"], "created": s["SnapshotCreateTime"].isoformat(),
                "created_epoch": s["SnapshotCreateTime"].timestamp()}

    def mark_before(self, epoch):
        """The latest WAL mark taken before `epoch` (the first mark if none was): an estimate
        (from above) of the WAL position of a backup taken at that time."""
        marks = sorted(self.marks.values(), key=lambda m: m["t"])
        before = [m for m in marks if m["t"] <= epoch]
        return before[-1] if before else marks[0]

    # ---- 4. LatestRestorableTime lag

    def measure_lrt_lag(self, out):
        a, ep = self.args, self.src["ep"]
        psql(ep, "CREATE TABLE IF NOT EXISTS bench_lag (id bigserial PRIMARY KEY, "
                 "ts timestamptz NOT NULL DEFAULT clock_timestamp())")
        commits, errors = [], []
        stop = threading.Event()

        def writer():
            nxt = time.time()
            while not stop.is_set():
                try:  # psql returns after the commit: the row is committed at `ts` + ~1 ms
                    commits.append(float(psql(ep, "INSERT INTO bench_lag DEFAULT VALUES "
                                                  "RETURNING extract(epoch FROM ts)", timeout=30)))
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(str(e))
                nxt += 0.5
                stop.wait(max(0.0, nxt - time.time()))

        th = threading.Thread(target=writer, daemon=True)
        samples = []
        th.start()
        try:
            end = time.time() + a.lag_duration
            nxt = time.time()
            while time.time() < end:
                inst = self.rds.instance(self.src["id"])
                now = time.time()
                lrt = inst.get("LatestRestorableTime") if inst else None
                newest = commits[-1] if commits else None
                samples.append({"t": now, "lrt": lrt.timestamp() if lrt else None,
                                "newest_commit": newest})
                nxt += 1.0
                time.sleep(max(0.0, nxt - time.time()))
        finally:
            stop.set()
            th.join(timeout=60)
        lags = [s["t"] - s["lrt"] for s in samples if s["lrt"] is not None]
        gaps = [s["newest_commit"] - s["lrt"] for s in samples
                if s["lrt"] is not None and s["newest_commit"] is not None]
        out.update({"duration_s": a.lag_duration, "inserts": len(commits),
                    "insert_errors": errors[:5], "samples": len(samples),
                    "samples_without_lrt": len(samples) - len(lags),
                    "now_minus_lrt_s": summary(lags),
                    "newest_commit_minus_lrt_s": summary(gaps),
                    "samples_lrt_covers_newest_commit": sum(1 for g in gaps if g <= 0)})
        if not lags:
            raise BenchError("DescribeDBInstances never showed a LatestRestorableTime")
        log(f"LatestRestorableTime lag: max now-LRT {max(lags):.2f} s, max newest commit-LRT "
            f"{fmt(max(gaps) if gaps else None, '.2f')} s over {len(samples)} samples")

    # ---- 5. idle archive growth

    def measure_idle_archive(self, out):
        a = self.args
        watched = {}
        for ident, label in (("bench-idle", "bench-idle, never written to"),
                             (self.src["id"], "bench-src, idle since the lag test")):
            inst = self.rds.instance(ident)
            if inst:
                watched[label] = os.path.join(self.rds.data_dir, "archive", inst["DbiResourceId"])
        time.sleep(a.settle)
        series = {label: [] for label in watched}
        t0 = time.time()
        while True:
            el = time.time() - t0
            for label, path in watched.items():
                series[label].append({"t_s": el, "bytes": du_bytes(path),
                                      "files": count_files(path)})
            if el >= a.idle_wait:
                break
            time.sleep(max(0.0, min(a.idle_step, a.idle_wait - el)))
        out.update({"wait_s": a.idle_wait, "settle_s": a.settle, "instances": []})
        for label, path in watched.items():
            s = series[label]
            first, last = s[0], s[-1]
            grew = None if first["bytes"] is None or last["bytes"] is None else \
                last["bytes"] > first["bytes"]
            out["instances"].append({"label": label, "path": path, "t0_bytes": first["bytes"],
                                     "end_bytes": last["bytes"], "t0_files": first["files"],
                                     "end_files": last["files"], "grew": grew, "samples": s})
            log(f"archive of {label}: {first['bytes']} B / {first['files']} files at t0, "
                f"{last['bytes']} B / {last['files']} files after {last['t_s']:.0f} s")

    # ---- cleanup through the API

    def api_cleanup(self, out):
        """Deletes what the bench created, through the API (as RDS users do), and notes whether
        the source's archive directory survives DeleteAutomatedBackups=True."""
        out["errors"] = []
        src_archive = (os.path.join(self.rds.data_dir, "archive", self.src["rid"])
                       if self.src and self.rds.data_dir else None)
        for snap in list(self.rds.snapshots):
            try:
                out[f"delete_{snap}_s"] = self.rds.delete_snapshot(snap)
            except BenchError as e:
                out["errors"].append(str(e))
        self.rds.delete_all(out)
        if src_archive:  # RDS deletes the automated backups with the instance; allow 10 s
            deadline = time.time() + 10
            while os.path.exists(src_archive) and time.time() < deadline:
                time.sleep(0.1)
            out["source_archive_left_bytes"] = du_bytes(src_archive)


def run(args, res):
    res.update({"scale": args.scale, "reps": args.reps})

    def sections(server):
        bench = BackupsBench(args, server)
        if run_section(res, "setup", bench.setup):
            if run_section(res, "snapshot", bench.measure_snapshots):
                run_section(res, "restore", bench.measure_restores,
                            res["snapshot"]["kept_snapshot"])
            else:
                res["restore"] = {"error": "skipped: no snapshot"}
            run_section(res, "pitr", bench.measure_pitr)
            run_section(res, "lrt_lag", bench.measure_lrt_lag)
            run_section(res, "idle_archive", bench.measure_idle_archive)
        # Not on an interrupt or a crash of the bench itself: server.stop() resets everything.
        run_section(res, "api_cleanup", bench.api_cleanup)
    skeleton.with_server(args, "backups", res, sections)


# --------------------------------------------------------------------------------------------
# report

def report(res):
    w = sys.stdout.write
    w(f"\n=== localrds backups benchmark ({res['mode']} mode, pgbench scale {res['scale']}, "
      f"{host_text(res)}) ===\n")
    section_errors(w, res, ("setup", "snapshot", "restore", "pitr", "lrt_lag", "idle_archive",
                            "api_cleanup"))

    su = res.get("setup", {})
    if "load_s" in su:
        caught_up = ("archive_mode is off" if su.get("archive_mode") == "off" else
                     f"archiver caught up {fmt(su.get('archiver_caught_up_s'), '.1f', 'never')} s"
                     f" after")
        w(f"\nload: pgbench -i -s {res['scale']} in {su['load_s']:.1f} s, "
          f"{su['load_wal_bytes'] / MiB:.0f} MiB of WAL; {caught_up}\n")

    sn, rs = res.get("snapshot", {}), res.get("restore", {})
    cp = sn.get("cp", {})
    cp_med = (sn.get("cp_full_s") or {}).get("median")
    if cp.get("full"):
        w("\n-- 1+2. snapshot and restore vs `cp -a` of the same pgdata (seconds)\n")
        w(f"{'series':<44}{'n':>3}{'min':>8}{'median':>8}{'max':>8}{'vs cp -a':>10}"
          f"{'MiB':>7}\n")
        snaps = sn.get("snapshots", [])
        rows = [("CreateDBSnapshot -> available", sn.get("snapshot_s"),
                 median(r["store_growth_bytes"] for r in snaps)),
                ("RestoreDBInstanceFromDBSnapshot -> available", rs.get("restore_s"), None),
                ("baseline: cp -a pgdata + sync -f", sn.get("cp_full_s"),
                 median(r["bytes"] for r in cp["full"])),
                ("  cp -a pgdata without pg_wal + sync -f", sn.get("cp_without_wal_s"),
                 median(r["bytes"] for r in cp["without_wal"]))]
        for label, st, size in rows:
            if not st:
                continue
            w(f"{label:<44}{stat_cols(st)}{fmt_ratio(st['median'], cp_med):>10}"
              f"{fmt_mb(size):>7}\n")
        pg_wal = median(r["pg_wal_bytes"] for r in cp["full"])
        w(f"goal: snapshot <= 1.3x cp -a. MiB: snapshot store growth per snapshot / bytes copied;"
          f" pg_wal was {fmt_mb(pg_wal)} MiB of the pgdata\n")
        if snaps:
            w(f"vs cp -a without pg_wal: snapshot "
              f"{fmt(sn.get('ratio_vs_cp_without_wal'), '.2f')}x; the boto3 waiter "
              f"db_snapshot_available afterwards needed "
              f"{max(r['waiter_polls'] for r in snaps)} poll(s) at most; CreateDBSnapshot "
              f"answered in {median(r['call_s'] for r in snaps):.3f} s with status "
              f"{snaps[0]['status_in_response']}\n")
        if rs.get("restores"):
            ok = sum(1 for r in rs["restores"] if r["rows_ok"])
            w(f"restored instances: pgbench_accounts {rs['restores'][0]['accounts']} rows "
              f"(expected {rs['expected_accounts']}; {ok}/{len(rs['restores'])} ok); `select 1`"
              f" ok {median(r['sql_ok_after_s'] for r in rs['restores']):.3f} s after available\n")

    p = res.get("pitr", {})
    if "target" in p:
        w(f"\n-- 3. point-in-time restore to the middle of pgbench -c {p['clients']} "
          f"-T {p['duration_s']}\n")
        w(f"load: {p.get('pgbench_tps')}; {p['run_wal_bytes'] / MiB:.0f} MiB of WAL; "
          f"target {p['target']}\n")
    if "lrt_reached_after_target_s" in p:
        w(f"LatestRestorableTime >= target: {p['lrt_reached_after_target_s']:.1f} s after the "
          f"target, {p['lrt_reached_after_run_end_s']:.1f} s after the run ended\n")
    if "to_available_s" in p:
        w(f"RestoreDBInstanceToPointInTime -> available: {p['to_available_s']:.3f} s "
          f"({p['polls']} polls); `select 1` ok {p['sql_ok_after_s']:.3f} s later\n")
        if p.get("wal_since_snapshot_bytes") is not None:
            w(f"WAL from the manual snapshot to the target: "
              f"{p['wal_since_snapshot_bytes'] / MiB:.0f} MiB -> "
              f"{p['wal_since_snapshot_mb_per_s']:.0f} MiB/s of restore time (a lower bound: "
              f"like RDS, a point-in-time restore starts from an automated backup)\n")
        if "wal_since_snapshot_bytes" not in p and "wal_since_automated_backup_bytes" not in p:
            pass
        elif p.get("automated_backup"):
            w(f"WAL from the newest automated backup before the target "
              f"({p['automated_backup']['id']}, {p['automated_backup']['created']}; position "
              f"taken from the mark '{p['automated_backup_mark']}'): "
              f"{p['wal_since_automated_backup_bytes'] / MiB:.0f} MiB -> "
              f"{p['wal_since_automated_backup_mb_per_s']:.0f} MiB/s\n")
        else:
            w("no automated backup before the target is listed "
              "(DescribeDBSnapshots SnapshotType=automated)\n")
    if "history_diff" in p:
        verdict = "exact" if p["history_diff"] == 0 else \
            ("ok (in-flight transactions)" if p["rows_ok"] else "MISMATCH")
        w(f"pgbench_history: restored {p['restored_history_rows']}, source rows with mtime <= "
          f"target {p['source_history_rows_to_target']} (diff {p['history_diff']}, tolerance "
          f"0..{p['clients']}): {verdict}; restored max(mtime) {p['restored_max_mtime']}; "
          f"in recovery: {p['restored_in_recovery']}\n")

    lg = res.get("lrt_lag", {})
    if lg.get("now_minus_lrt_s"):
        n, g = lg["now_minus_lrt_s"], lg["newest_commit_minus_lrt_s"]
        w(f"\n-- 4. LatestRestorableTime under 1 INSERT / 0.5 s for {lg['duration_s']:g} s "
          f"({lg['samples']} DescribeDBInstances samples, 1/s; {lg['inserts']} inserts)\n")
        w(f"now - LatestRestorableTime:            median {n['median']:.2f} s, max "
          f"{n['max']:.2f} s\n")
        if g:
            w(f"newest commit - LatestRestorableTime:  median {g['median']:.2f} s, max "
              f"{g['max']:.2f} s (LRT covered the newest commit in "
              f"{lg['samples_lrt_covers_newest_commit']}/{g['n']} samples)\n")

    ia = res.get("idle_archive", {})
    if ia.get("instances"):
        w(f"\n-- 5. WAL archive of idle instances, {ia['wait_s']:g} s "
          f"(after {ia['settle_s']:g} s settling)\n")
        w(f"{'instance':<40}{'t0 bytes':>12}{'end bytes':>12}{'t0 files':>10}{'end files':>10}"
          f"  grew\n")
        for i in ia["instances"]:
            grew = ("no archive directory" if i["grew"] is None else
                    "YES" if i["grew"] else "no")
            w(f"{i['label']:<40}{fmt(i['t0_bytes'], 'd'):>12}{fmt(i['end_bytes'], 'd'):>12}"
              f"{fmt(i['t0_files'], 'd'):>10}{fmt(i['end_files'], 'd'):>10}  {grew}\n")

    cl = res.get("api_cleanup", {})
    if cl and "error" not in cl:
        left = cl.get("source_archive_left_bytes")
        w(f"\ncleanup through the API: {len(cl['errors'])} error(s); source archive after "
          f"DeleteDBInstance(DeleteAutomatedBackups=True): "
          f"{'gone' if left is None else f'{left} bytes left'}\n")
        for e in cl["errors"]:
            w(f"!! {e}\n")
    servers_left(w, res)

    # the compact summary
    w("\n-- summary\n")
    nowal_med = (sn.get("cp_without_wal_s") or {}).get("median")
    w(f"{'figure':<36}{'localrds':>10}{'cp -a':>8}{'ratio':>8}{'no pg_wal':>11}{'ratio':>8}"
      f"  goal / check\n")

    def line(label, value, goal="", bases=(None, None)):
        number = None if isinstance(value, str) else value
        v = value if number is None else fmt(value)
        cols = "".join(f"{fmt(b):>{width}}{fmt_ratio(number, b):>8}"
                       for b, width in zip(bases, (8, 11)))
        w(f"{label:<36}{v:>10}{cols}  {goal}\n")

    line("snapshot -> available, s", sn["snapshot_s"]["median"] if sn.get("snapshot_s")
         else "error", "<= 1.3x cp -a", (cp_med, nowal_med))
    line("restore from snapshot, s", rs["restore_s"]["median"] if rs.get("restore_s")
         else "error", "rows " + ("ok" if rs.get("rows_ok") else "NOT ok")
         if "rows_ok" in rs else "", (cp_med, nowal_med))
    if "to_available_s" in p:
        line("point-in-time restore, s", p["to_available_s"],
             "rows not checked" if "rows_ok" not in p else
             "rows " + ("ok" if p["rows_ok"] else "MISMATCH"))
        for key, label in (("wal_since_automated_backup_mb_per_s", "  WAL from auto backup, MiB/s"),
                           ("wal_since_snapshot_mb_per_s", "  WAL from manual snapshot, MiB/s")):
            line(label, "-" if p.get(key) is None else f"{p[key]:.0f}")
    else:
        line("point-in-time restore, s", "error")
    if lg.get("now_minus_lrt_s"):
        line("max now - LatestRestorableTime, s", lg["now_minus_lrt_s"]["max"])
    for i in ia.get("instances", []):
        line(f"idle archive growth ({i['label'].split(',')[0]})",
             "-" if i["t0_bytes"] is None or i["end_bytes"] is None
             else f"{i['end_bytes'] - i['t0_bytes']:+d} B", f"in {ia['wait_s']:g} s")
    footer(w, res)


def failed(res):
    """True when a section failed or a restored instance had the wrong rows."""
    if section_failed(res):
        return True
    if res.get("restore", {}).get("rows_ok") is False:
        return True
    if res.get("pitr", {}).get("rows_ok") is False:
        return True
    return False


def main():
    ap = skeleton.parser(__doc__, "smoke run on a small database")
    ap.add_argument("--scale", type=int, help="pgbench scale (default 70 = ~1 GiB, quick 5)")
    ap.add_argument("--reps", type=int, help="snapshots, copies and restores (default 3, quick 1)")
    ap.add_argument("--pitr-duration", type=int, help="pgbench -T for the PITR load "
                                                      "(default 20, quick 5)")
    ap.add_argument("--pitr-clients", type=int, default=4, help="pgbench -c (default 4)")
    ap.add_argument("--lag-duration", type=float, help="seconds of the LatestRestorableTime lag "
                                                       "test (default 20, quick 6)")
    ap.add_argument("--idle-wait", type=float, help="seconds between the two idle archive "
                                                    "readings (default 30, quick 10)")
    ap.add_argument("--idle-step", type=float, default=5.0, help="idle archive sample interval")
    ap.add_argument("--settle", type=float, help="seconds before the idle archive t0 reading "
                                                 "(default 5, quick 2)")
    ap.add_argument("--poll", type=float, default=0.1,
                    help="DescribeDBInstances poll interval while restoring (default 0.1)")
    ap.add_argument("--poll-snapshot", type=float, default=0.2,
                    help="DescribeDBSnapshots poll interval (default 0.2)")
    ap.add_argument("--timeout", type=float, default=600.0, help="limit of every wait, seconds")
    ap.add_argument("--pool-size", type=int, default=0,
                    help="localrds --pool-size (default 0: no initdb in the background while "
                         "measuring)")
    args = skeleton.parse(ap, (("scale", 70, 5), ("reps", 3, 1), ("pitr_duration", 20, 5),
                               ("lag_duration", 20.0, 6.0), ("idle_wait", 30.0, 10.0),
                               ("settle", 5.0, 2.0)))
    if args.reps < 1 or args.scale < 1:
        sys.exit("--reps and --scale must be at least 1")
    skeleton.require(args, "bench_backups.py", ("psql", "pgbench", "cp", "du", "sync"))
    if os.geteuid() != 0:
        log("not root: reading the instances' pgdata and archive directories will fail")

    skeleton.measure(args, run, report, failed, "BENCH_BACKUPS_JSON")


if __name__ == "__main__":
    main()
