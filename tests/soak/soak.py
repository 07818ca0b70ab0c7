#!/usr/bin/env python3
"""Chaos soak: clients doing random RDS actions on a bounded pool of identifiers while a chaos
thread kill -9s localrds (and starts it again), crashes and freezes servers; after each round,
with the clients and the chaos stopped, the invariants are checked:

  - nothing stays in a transitional status past a bound (instances and snapshots settle);
  - every `available` instance answers SQL on its endpoint;
  - the catalog, the files and the running servers agree: no instance directory, archive or
    snapshot directory without its resource, no PostgreSQL server of a resource that is gone;
  - every commit a writer saw acknowledged on the Multi-AZ instance is there;
  - no answer was a 5xx.

It prints what it did and what it checked, and exits 1 when an invariant failed.

  tests/soak/soak.py [--rounds N] [--round-seconds S] [--seed K]

Needs root (the servers run as the postgres user), psql, and boto3 (Debian's python3-boto3);
LOCALRDS_BIN names the binary (default build/localrds). ctest runs a short soak (the `soak`
test); bench/ runs the long one (bench/run.sh soak).
"""

import argparse
import collections
import os
import random
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import botocore.exceptions  # noqa: E402

import harness  # noqa: E402

PASSWORD = harness.MASTER_PASSWORD
IDS = ["soak-a", "soak-b", "soak-c", "soak-d"]
SNAPSHOTS = ["snap-0", "snap-1", "snap-2"]
DURABLE = "soak-maz"  # Multi-AZ, never deleted: the writer's acknowledged commits live here
SETTLED = {"available", "stopped", "failed", "incompatible-restore", "storage-full"}
SETTLE_BOUND_S = 240
ENDPOINT_BACK_S = 10  # an available instance's killed server is back within this (reconciler: 1 s)


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.h = harness.Localrds(name="soak", pool_size=2)
        self.stats = collections.Counter()
        self.violations = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked = set()
        self.next_row = 0

    # -- bookkeeping --

    def count(self, key, n=1):
        with self.lock:
            self.stats[key] += n

    def violation(self, what):
        with self.lock:
            self.violations.append(what)
        print("VIOLATION: %s" % what, flush=True)

    # -- the clients --

    def call(self, rds, name, fn, **kw):
        try:
            fn(**kw)
            self.count("ok " + name)
        except botocore.exceptions.ClientError as e:
            status = e.response["ResponseMetadata"].get("HTTPStatusCode", 0)
            if status >= 500:
                self.violation("%s %s: %s %s" % (name, kw, status, e.response["Error"]))
            else:
                self.count("refused " + name)
        except (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError, ConnectionError):
            self.count("unreachable " + name)

    def client_loop(self, seed):
        rng = random.Random(seed)
        rds = self.h.client(read_timeout=60)
        base = dict(Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="root",
                    MasterUserPassword=PASSWORD, AllocatedStorage=20)
        while not self.stop.is_set():
            i, j = rng.choice(IDS), rng.choice(IDS)
            snap = rng.choice(SNAPSHOTS)
            op = rng.choice(["create", "create", "delete", "snapshot", "delete-snapshot",
                             "restore", "pitr", "replica", "promote", "reboot", "modify",
                             "stop", "start", "failover"])
            if op == "create":
                self.call(rds, op, rds.create_db_instance, DBInstanceIdentifier=i,
                          MultiAZ=rng.random() < 0.3, **base)
            elif op == "delete":
                self.call(rds, op, rds.delete_db_instance, DBInstanceIdentifier=i,
                          SkipFinalSnapshot=True)
            elif op == "snapshot":
                self.call(rds, op, rds.create_db_snapshot, DBInstanceIdentifier=i,
                          DBSnapshotIdentifier=snap)
            elif op == "delete-snapshot":
                self.call(rds, op, rds.delete_db_snapshot, DBSnapshotIdentifier=snap)
            elif op == "restore":
                self.call(rds, op, rds.restore_db_instance_from_db_snapshot,
                          DBInstanceIdentifier=i, DBSnapshotIdentifier=snap)
            elif op == "pitr":
                self.call(rds, op, rds.restore_db_instance_to_point_in_time,
                          SourceDBInstanceIdentifier=j, TargetDBInstanceIdentifier=i,
                          UseLatestRestorableTime=True)
            elif op == "replica":
                self.call(rds, op, rds.create_db_instance_read_replica, DBInstanceIdentifier=i,
                          SourceDBInstanceIdentifier=j)
            elif op == "promote":
                self.call(rds, op, rds.promote_read_replica, DBInstanceIdentifier=i)
            elif op == "reboot":
                self.call(rds, op, rds.reboot_db_instance, DBInstanceIdentifier=i)
            elif op == "failover":
                self.call(rds, op, rds.reboot_db_instance,
                          DBInstanceIdentifier=rng.choice([i, DURABLE]), ForceFailover=True)
            elif op == "modify":
                self.call(rds, op, rds.modify_db_instance, DBInstanceIdentifier=i,
                          BackupRetentionPeriod=rng.randint(1, 3), ApplyImmediately=True)
            elif op == "stop":
                self.call(rds, op, rds.stop_db_instance, DBInstanceIdentifier=i)
            elif op == "start":
                self.call(rds, op, rds.start_db_instance, DBInstanceIdentifier=i)
            self.stop.wait(rng.uniform(0.05, 0.5))

    # -- the writer: acknowledged commits on the Multi-AZ instance --

    def writer_loop(self, port):
        while not self.stop.is_set():
            with self.lock:
                self.next_row += 1
                row = self.next_row
            rc, _, _ = harness.psql(port, "root", PASSWORD, "postgres",
                                    "INSERT INTO acked VALUES (%d)" % row, timeout=10)
            if rc == 0:
                with self.lock:
                    self.acked.add(row)
                self.count("acked commits")
            else:
                self.count("refused commits")
            self.stop.wait(0.1)

    # -- the chaos --

    def postmasters(self):
        """{pid: command line} of the postmasters (`postgres -D <pgdata>`) of this data dir."""
        return {pid: cmd for pid, cmd in harness.postgres_processes(self.h.data_dir).items()
                if " -D " in cmd}

    def chaos_loop(self, seed):
        rng = random.Random(seed)
        while not self.stop.wait(rng.uniform(4, 10)):
            what = rng.choice(["kill-localrds", "crash-instance", "freeze", "kill-postmaster"])
            try:
                if what == "kill-localrds":
                    self.h.kill9()
                    self.stop.wait(rng.uniform(0, 2))
                    self.h.start()
                elif what == "crash-instance":
                    self.h.crash_instance(rng.choice(IDS + [DURABLE]))
                elif what == "freeze":
                    target = rng.choice(IDS + [DURABLE])
                    self.h.control("POST", "/_localrds/instances/%s/freeze" % target)
                    self.stop.wait(2)
                    self.h.control("POST", "/_localrds/instances/%s/thaw" % target)
                elif what == "kill-postmaster":
                    pids = sorted(self.postmasters())
                    if pids:
                        os.kill(rng.choice(pids), signal.SIGKILL)
                self.count("chaos " + what)
            except (OSError, RuntimeError) as e:
                self.count("chaos %s failed" % what)
                print("chaos %s: %s" % (what, e), flush=True)

    # -- the checks --

    def settle(self, rds):
        """Waits until every instance and snapshot is in a settled status; a violation for each
        that is not within SETTLE_BOUND_S."""
        deadline = time.monotonic() + SETTLE_BOUND_S
        while True:
            moving = [(i["DBInstanceIdentifier"], i["DBInstanceStatus"])
                      for i in rds.describe_db_instances()["DBInstances"]
                      if i["DBInstanceStatus"] not in SETTLED]
            moving += [(s["DBSnapshotIdentifier"], s["Status"])
                       for s in rds.describe_db_snapshots()["DBSnapshots"]
                       if s["Status"] not in ("available", "failed")]
            if not moving:
                return
            if time.monotonic() > deadline:
                for name, status in moving:
                    self.violation("%s still %s after %d s" % (name, status, SETTLE_BOUND_S))
                return
            time.sleep(1)

    def check(self, rds, durable_port):
        self.settle(rds)
        instances = rds.describe_db_instances()["DBInstances"]
        snapshots = rds.describe_db_snapshots()["DBSnapshots"]
        backups = rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
        self.count("checks: instances seen", len(instances))
        for i in instances:
            if i["DBInstanceStatus"] != "available":
                continue
            # A postmaster the chaos killed in the round's last moment is started again on the
            # reconciler's next pass (every second), as RDS restarts a crashed engine while the
            # instance reads available: its endpoint must answer within ENDPOINT_BACK_S.
            deadline = time.monotonic() + ENDPOINT_BACK_S
            while True:
                rc, out, err = harness.psql(i["Endpoint"]["Port"], "root", PASSWORD, "postgres",
                                            "SELECT 1", timeout=15)
                if (rc == 0 and out == "1") or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.count("checks: endpoints answered")
            if rc != 0 or out != "1":
                self.violation("%s is available but its endpoint says: %s"
                               % (i["DBInstanceIdentifier"], err or out))
        rids = {i["DbiResourceId"] for i in instances}
        kept = rids | {b["DbiResourceId"] for b in backups}
        for d in self.h.instance_dirs():
            if d not in rids:
                self.violation("instance directory %s has no instance" % d)
        archive = os.path.join(self.h.data_dir, "archive")
        for d in (os.listdir(archive) if os.path.isdir(archive) else []):
            if d not in kept:
                self.violation("archive %s has no instance or automated backup" % d)
        snapdir = os.path.join(self.h.data_dir, "snapshots")
        on_disk = len(os.listdir(snapdir)) if os.path.isdir(snapdir) else 0
        if on_disk > len(snapshots):
            self.violation("%d snapshot directories for %d snapshots" % (on_disk, len(snapshots)))
        instances_dir = os.path.join(self.h.data_dir, "instances") + os.sep
        for pid, cmd in self.postmasters().items():
            if instances_dir not in cmd:
                continue  # the cluster pool's servers
            rid = cmd.split(instances_dir, 1)[1].split(os.sep, 1)[0]
            if rid not in rids:
                self.violation("a PostgreSQL server (pid %d) of %s runs, which is no instance"
                               % (pid, rid))
        self.count("checks: files and servers")
        rc, out, err = harness.psql(durable_port, "root", PASSWORD, "postgres",
                                    "SELECT x FROM acked", timeout=30)
        if rc != 0:
            self.violation("the Multi-AZ instance does not answer: %s" % err)
        else:
            present = {int(x) for x in out.split()}
            missing = self.acked - present
            self.count("checks: acknowledged commits verified (summed over rounds)",
                       len(self.acked))
            if missing:
                self.violation("%d acknowledged commits missing on %s: %s"
                               % (len(missing), DURABLE, sorted(missing)[:10]))

    # -- the run --

    def run(self):
        self.h.start()
        rds = self.h.client(read_timeout=120)
        rds.create_db_instance(DBInstanceIdentifier=DURABLE, Engine="postgres", MultiAZ=True,
                               DBInstanceClass="db.t3.micro", MasterUsername="root",
                               MasterUserPassword=PASSWORD, AllocatedStorage=20)
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=DURABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        port = rds.describe_db_instances(DBInstanceIdentifier=DURABLE)["DBInstances"][0][
            "Endpoint"]["Port"]
        rc, _, err = harness.psql(port, "root", PASSWORD, "postgres", "CREATE TABLE acked(x int)")
        if rc != 0:
            raise RuntimeError("cannot create the writer's table: %s" % err)
        t_start = time.monotonic()
        for r in range(1, self.args.rounds + 1):
            self.stop.clear()
            threads = [threading.Thread(target=self.client_loop, args=(self.rng.random(),))
                       for _ in range(self.args.clients)]
            threads.append(threading.Thread(target=self.writer_loop, args=(port,)))
            threads.append(threading.Thread(target=self.chaos_loop, args=(self.rng.random(),)))
            for t in threads:
                t.start()
            self.stop.wait(self.args.round_seconds)
            self.stop.set()
            for t in threads:
                t.join()
            if not self.h.alive():
                self.h.start()
            rds = self.h.client(read_timeout=120)
            self.check(rds, port)
            print("round %d done at %.0f s: %d violation(s) so far" % (
                r, time.monotonic() - t_start, len(self.violations)), flush=True)
        self.h.stop()
        print("\n== soak: %d round(s) of %d s, %d client(s), seed %d, %.0f s in all" % (
            self.args.rounds, self.args.round_seconds, self.args.clients, self.args.seed,
            time.monotonic() - t_start))
        for key in sorted(self.stats):
            print("  %-40s %d" % (key, self.stats[key]))
        print("  violations: %d" % len(self.violations))
        for v in self.violations:
            print("    " + v)
        return 1 if self.violations else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--round-seconds", type=int, default=40)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--seed", type=int, default=int(time.time()))
    args = p.parse_args()
    soak = Soak(args)
    try:
        return soak.run()
    finally:
        if soak.h.alive():
            soak.h.stop()


if __name__ == "__main__":
    sys.exit(main())
