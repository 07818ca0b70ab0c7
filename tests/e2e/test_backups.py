"""Backups as a user lives them: automated backups, DB snapshots, restores from a snapshot and
point-in-time restores, through boto3 (with its waiters), the AWS CLI and psql; and what survives
a crash in the middle of a snapshot.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_backups
"""

import datetime
import os
import re
import signal
import threading
import time
import unittest

from botocore.exceptions import BotoCoreError, ClientError

from harness import (MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, port_accepts,
                     processes_matching, psql, wait_until)

# boto3 waiters poll every 30 s by default; localrds answers mutations when they are done.
FAST = {"Delay": 1, "MaxAttempts": 120}
# LatestRestorableTime trails the newest commit by at most ~7 s (WAL is shipped every 5 s): a
# commit this old must be restorable.
ARCHIVED_AFTER = 12.0


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_time(value):
    """A timestamp from boto3 (datetime) or the AWS CLI (ISO 8601 text)."""
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def let_time_pass(seconds):
    """Lets wall-clock time pass on purpose: the time between two commits (or since one) is what
    the test is about, so there is nothing to poll for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def automated_name(identifier):
    # rds:<id>-YYYY-MM-DD-HH-MM (localrds adds -N to a second backup within the same minute)
    return re.compile(r"^rds:%s-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}(-\d+)?$" % re.escape(identifier))


class BackupTestCase(LocalrdsTestCase):
    """Helpers shared by the backup suites."""

    def make(self, ident, rows=2, retention=1, **kw):
        """An instance with database `app` and table t(id, v) holding `rows` rows."""
        inst = self.create(ident, DBName="app", BackupRetentionPeriod=retention, **kw)
        self.psql_ok(inst["Endpoint"]["Port"],
                     "create table t(id int primary key, v text);"
                     "insert into t select g, md5(g::text) from generate_series(1, %d) g" % rows,
                     db="app")
        return inst

    def sql(self, port, statement, db="app", password=MASTER_PASSWORD):
        return self.psql_ok(port, statement, db=db, password=password)

    def count(self, port, table="t", db="app", password=MASTER_PASSWORD):
        return int(self.sql(port, "select count(*) from %s" % table, db=db, password=password))

    def port_of(self, ident):
        return self.describe(ident)["Endpoint"]["Port"]

    def snapshot(self, snapshot_id):
        r = self.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"]
        self.assertEqual(len(r), 1, r)
        return r[0]

    def automated_snapshots(self, ident=None, resource_id=None):
        kw = {"SnapshotType": "automated"}
        if ident:
            kw["DBInstanceIdentifier"] = ident
        if resource_id:
            kw["DbiResourceId"] = resource_id
        return self.rds.describe_db_snapshots(**kw)["DBSnapshots"]

    def take_snapshot(self, ident, snapshot_id, **kw):
        r = self.rds.create_db_snapshot(DBInstanceIdentifier=ident,
                                        DBSnapshotIdentifier=snapshot_id, **kw)["DBSnapshot"]
        self.assertEqual(r["DBSnapshotIdentifier"], snapshot_id)
        self.rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier=snapshot_id,
                                                          WaiterConfig=FAST)
        return self.snapshot(snapshot_id)

    def forget_after_test(self, described):
        """Deletes a restored instance after the test (by resource id, like create())."""
        self.addCleanup(self._delete_quietly, described["DbiResourceId"])

    def restore_snapshot(self, target, snapshot_id, **kw):
        r = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier=target, DBSnapshotIdentifier=snapshot_id, **kw)["DBInstance"]
        self.forget_after_test(r)
        self.assertEqual(r["DBInstanceIdentifier"], target)
        self.wait_available(target, attempts=120)
        return self.describe(target)

    def restore_pitr(self, target, **kw):
        r = self.rds.restore_db_instance_to_point_in_time(
            TargetDBInstanceIdentifier=target, **kw)["DBInstance"]
        self.forget_after_test(r)
        self.assertEqual(r["DBInstanceIdentifier"], target)
        self.wait_available(target, attempts=120)
        return self.describe(target)

    def latest_restorable(self, ident):
        return self.describe(ident).get("LatestRestorableTime")

    def wait_restorable(self, ident, moment, timeout=30):
        """Until LatestRestorableTime of `ident` is at or after `moment`; returns it."""
        def caught_up():
            lrt = self.latest_restorable(ident)
            return lrt if lrt is not None and lrt >= moment else None
        return wait_until(caught_up, timeout, 0.5,
                          "LatestRestorableTime of %s to reach %s" % (ident, moment.isoformat()))

    def backup_now(self, ident):
        """POST /_localrds/instances/<id>/backup, then waits for the new automated snapshot;
        returns it."""
        before = {s["DBSnapshotIdentifier"] for s in self.automated_snapshots(ident)}
        status, body = self.h.control("POST", "/_localrds/instances/%s/backup" % ident)
        self.assertEqual(status, 202, body)

        def new_one():
            snaps = [s for s in self.automated_snapshots(ident)
                     if s["DBSnapshotIdentifier"] not in before and s["Status"] == "available"]
            return snaps and self.status(ident) == "available" and snaps
        snaps = wait_until(new_one, 60, 0.2, "a new automated snapshot of %s" % ident)
        self.assertEqual(len(snaps), 1, snaps)
        return snaps[0]

    def events_of(self, source_identifier, source_type=None):
        """(event_id, message) of every event of that source, oldest first."""
        return [(e["event_id"], e["message"]) for e in self.h.events()
                if e["source_identifier"] == source_identifier
                and (source_type is None or e["source_type"] == source_type)]

    def assertEventsInclude(self, source_identifier, expected, source_type=None):
        def all_there():
            got = self.events_of(source_identifier, source_type)
            return all(x in got for x in expected) and got
        try:
            return wait_until(all_there, 5, 0.2)
        except AssertionError:
            self.fail("events of %s: %r, expected to include %r"
                      % (source_identifier, self.events_of(source_identifier, source_type),
                         expected))

    def archive_dir(self, resource_id):
        return os.path.join(self.h.health()["data_dir"], "archive", resource_id)


class BackupStoryTest(BackupTestCase):
    """The user's story and each backup feature, against one server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A long-lived instance for the point-in-time tests: its first automated backup is old
        # enough by the time they run.
        cls.rds.create_db_instance(
            DBInstanceIdentifier="shared", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD, DBName="app",
            AllocatedStorage=20, BackupRetentionPeriod=1)
        cls.rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier="shared",
                                                         WaiterConfig=FAST)
        cls.shared_port = cls.rds.describe_db_instances(
            DBInstanceIdentifier="shared")["DBInstances"][0]["Endpoint"]["Port"]

    # --- 1. the story ------------------------------------------------------------------------

    def test_user_story(self):
        inst = self.create("test", DBName="test", BackupRetentionPeriod=7)
        port, rid = inst["Endpoint"]["Port"], inst["DbiResourceId"]
        self.assertEqual(inst["DBInstanceStatus"], "available")
        self.assertEqual(inst["BackupRetentionPeriod"], 7)
        self.assertIn("LatestRestorableTime", inst)

        autos = self.automated_snapshots("test")
        self.assertEqual(len(autos), 1, autos)
        auto = autos[0]
        self.assertRegex(auto["DBSnapshotIdentifier"], automated_name("test"))
        self.assertEqual((auto["SnapshotType"], auto["Status"], auto["DBInstanceIdentifier"],
                          auto["DbiResourceId"], auto["Engine"], auto["MasterUsername"]),
                         ("automated", "available", "test", rid, "postgres", MASTER_USER))
        self.assertEqual(auto["PercentProgress"], 100)

        self.sql(port, "create table todos(id int primary key, title text);"
                       "insert into todos values (1, 'buy milk'), (2, 'write tests')", db="test")

        r = self.rds.create_db_snapshot(DBInstanceIdentifier="test",
                                        DBSnapshotIdentifier="multiple-todos")["DBSnapshot"]
        self.assertEqual((r["DBSnapshotIdentifier"], r["DBInstanceIdentifier"], r["SnapshotType"]),
                         ("multiple-todos", "test", "manual"))
        self.assertIn(r["Status"], ("creating", "available"))
        self.rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier="multiple-todos",
                                                          WaiterConfig=FAST)
        snap = self.snapshot("multiple-todos")
        self.assertEqual((snap["Status"], snap["PercentProgress"], snap["SnapshotType"],
                          snap["DBInstanceIdentifier"], snap["DbiResourceId"],
                          snap["MasterUsername"], snap["Engine"]),
                         ("available", 100, "manual", "test", rid, MASTER_USER, "postgres"))
        self.assertEqual(snap["DBSnapshotArn"],
                         "arn:aws:rds:us-east-1:000000000000:snapshot:multiple-todos")
        self.assertEqual(self.status("test"), "available")

        t = now_utc()
        let_time_pass(1.0)
        self.sql(port, "delete from todos", db="test")
        self.assertEqual(self.count(port, "todos", db="test"), 0)

        # Restore the snapshot into a new instance: its own endpoint, the snapshot's data.
        restored = self.restore_snapshot("test-restored", "multiple-todos")
        self.assertEqual(restored["DBInstanceStatus"], "available")
        self.assertNotEqual(restored["DbiResourceId"], rid)
        self.assertNotEqual(restored["Endpoint"]["Port"], port)
        self.assertEqual((restored["DBName"], restored["MasterUsername"]), ("test", MASTER_USER))
        self.assertEqual(restored["BackupRetentionPeriod"], 7)
        restored_autos = self.automated_snapshots("test-restored")
        self.assertEqual(len(restored_autos), 1, restored_autos)
        self.assertRegex(restored_autos[0]["DBSnapshotIdentifier"], automated_name("test-restored"))
        self.assertEqual(restored_autos[0]["DbiResourceId"], restored["DbiResourceId"])
        rport = restored["Endpoint"]["Port"]
        self.assertEqual(self.sql(rport, "select id, title from todos order by id", db="test"),
                         "1|buy milk\n2|write tests")
        self.assertEqual(self.count(port, "todos", db="test"), 0, "the source changed")

        # Point in time: T, one second before the DELETE.
        self.wait_restorable("test", t)
        backups = self.rds.describe_db_instance_automated_backups(
            DBInstanceIdentifier="test")["DBInstanceAutomatedBackups"]
        self.assertEqual([(b["Status"], b["DbiResourceId"]) for b in backups], [("active", rid)])
        self.assertLessEqual(backups[0]["RestoreWindow"]["EarliestTime"], t)
        self.assertGreaterEqual(backups[0]["RestoreWindow"]["LatestTime"], t)
        pitr = self.restore_pitr("test-pitr", SourceDBInstanceIdentifier="test", RestoreTime=t)
        self.assertEqual(pitr["DBInstanceStatus"], "available")
        self.assertNotIn(pitr["Endpoint"]["Port"], (port, rport))
        self.assertEqual(self.sql(pitr["Endpoint"]["Port"],
                                  "select id, title from todos order by id", db="test"),
                         "1|buy milk\n2|write tests")
        self.assertEqual(self.count(port, "todos", db="test"), 0)

        self.assertEventsInclude("test-restored",
                                 [("RDS-EVENT-0043", "Restored from snapshot multiple-todos")],
                                 "db-instance")
        self.assertEventsInclude(
            "test-pitr", [("RDS-EVENT-0019", "Restored from DB instance test to test-pitr")],
            "db-instance")

    def test_events_of_creation_and_snapshots(self):
        inst = self.create("evented", BackupRetentionPeriod=1)
        self.assertEventsInclude("evented", [("RDS-EVENT-0005", "DB instance created"),
                                             ("RDS-EVENT-0001", "Backing up DB instance"),
                                             ("RDS-EVENT-0002", "Finished DB Instance backup")],
                                 "db-instance")
        got = self.events_of("evented", "db-instance")
        self.assertLess(got.index(("RDS-EVENT-0001", "Backing up DB instance")),
                        got.index(("RDS-EVENT-0002", "Finished DB Instance backup")))
        auto = self.automated_snapshots(resource_id=inst["DbiResourceId"])[0]
        self.assertEventsInclude(auto["DBSnapshotIdentifier"],
                                 [("RDS-EVENT-0090", "Creating automated snapshot"),
                                  ("RDS-EVENT-0091", "Automated snapshot created")],
                                 "db-snapshot")
        self.take_snapshot("evented", "evented-manual")
        self.assertEventsInclude("evented-manual",
                                 [("RDS-EVENT-0040", "Creating manual snapshot"),
                                  ("RDS-EVENT-0042", "Manual snapshot created")], "db-snapshot")
        self.rds.delete_db_snapshot(DBSnapshotIdentifier="evented-manual")
        self.assertEventsInclude("evented-manual",
                                 [("RDS-EVENT-0041", "Deleted manual snapshot")], "db-snapshot")
        # DescribeEvents shows them too.
        msgs = [e["Message"] for e in self.rds.describe_events(
            SourceIdentifier="evented-manual", SourceType="db-snapshot", Duration=60)["Events"]]
        for m in ("Creating manual snapshot", "Manual snapshot created", "Deleted manual snapshot"):
            self.assertIn(m, msgs)

    # --- 3, 4. point in time -----------------------------------------------------------------

    def test_point_in_time_between_two_commits(self):
        port = self.shared_port
        self.sql(port, "create table between_commits(id int)")
        self.sql(port, "insert into between_commits values (1)")
        let_time_pass(0.5)
        t = now_utc()
        let_time_pass(0.5)
        self.sql(port, "insert into between_commits values (2)")
        self.wait_restorable("shared", t)
        pitr = self.restore_pitr("between", SourceDBInstanceIdentifier="shared", RestoreTime=t)
        self.assertEqual(self.sql(pitr["Endpoint"]["Port"],
                                  "select id from between_commits order by id"), "1")
        self.assertEqual(self.sql(port, "select id from between_commits order by id"), "1\n2")

    def test_use_latest_restorable_time(self):
        # A row committed 12 s ago must be in a restore to the latest restorable time, whatever
        # the phase of WAL shipping (a switch every 5 s) the commit fell in. The writes below
        # stop just before the next switch: the least time between a commit and its shipping.
        inst = self.make("latest-src", rows=1, retention=1)
        port = inst["Endpoint"]["Port"]
        archive = self.archive_dir(inst["DbiResourceId"])

        def segments():
            return {f for f in os.listdir(archive) if re.fullmatch(r"[0-9A-F]{24}\.gz", f)}
        self.sql(port, "create table latest(id int primary key)")
        before = segments()
        deadline = time.monotonic() + 30
        stop_at = None
        rows = 0
        while stop_at is None or time.monotonic() < stop_at:
            self.assertLess(time.monotonic(), deadline, "no WAL segment was archived in 30 s")
            rows += 1
            stamp = self.sql(port, "insert into latest values (%d) returning clock_timestamp()"
                             % rows)
            if stop_at is None and segments() - before:
                stop_at = time.monotonic() + 4.6  # a switch just happened; the next is in 5 s
            let_time_pass(0.1)
        last_commit = parse_time(stamp)  # the commit itself is a little later
        let_time_pass(ARCHIVED_AFTER)
        with self.subTest("LatestRestorableTime covers a commit %ss old" % ARCHIVED_AFTER):
            lrt = self.latest_restorable("latest-src")
            self.assertIsNotNone(lrt)
            self.assertGreaterEqual(
                lrt, last_commit, "LatestRestorableTime %s is still before a commit made at %s"
                % (lrt.isoformat(), last_commit.isoformat()))
        self.sql(port, "insert into latest values (-1)")
        pitr = self.restore_pitr("latest", SourceDBInstanceIdentifier="latest-src",
                                 UseLatestRestorableTime=True)
        got = self.sql(pitr["Endpoint"]["Port"],
                       "select count(*), max(id) from latest where id > 0")
        self.assertEqual(got, "%d|%d" % (rows, rows),
                         "a restore to the latest restorable time lacks rows committed %ss before"
                         % ARCHIVED_AFTER)

    # --- 5, 6. snapshots outlive their instance -----------------------------------------------

    def free_port(self):
        used = {i.get("Endpoint", {}).get("Port")
                for i in self.rds.describe_db_instances()["DBInstances"]}
        return next(p for p in range(self.h.port_hi, self.h.port_lo, -1)
                    if p not in used and not port_accepts(p))

    def test_snapshot_of_a_deleted_instance_restores(self):
        inst = self.make("gone", rows=5, retention=0)
        self.take_snapshot("gone", "gone-snap")
        # The snapshot holds the master password of its time.
        self.rds.modify_db_instance(DBInstanceIdentifier="gone", MasterUserPassword="later-pass",
                                    ApplyImmediately=True)
        self.wait_available("gone")
        self.rds.delete_db_instance(DBInstanceIdentifier="gone", SkipFinalSnapshot=True)
        self.rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier="gone",
                                                        WaiterConfig=FAST)
        snap = self.snapshot("gone-snap")
        self.assertEqual((snap["Status"], snap["DBInstanceIdentifier"], snap["DbiResourceId"]),
                         ("available", "gone", inst["DbiResourceId"]))
        # Into the very name the deleted instance had, with a class, a port and tags of its own.
        port = self.free_port()
        back = self.restore_snapshot("gone", "gone-snap", DBInstanceClass="db.t3.small",
                                     Port=port, Tags=[{"Key": "env", "Value": "restored"}])
        self.assertNotEqual(back["DbiResourceId"], inst["DbiResourceId"])
        self.assertEqual((back["DBInstanceClass"], back["Endpoint"]["Port"], back["TagList"]),
                         ("db.t3.small", port, [{"Key": "env", "Value": "restored"}]))
        self.assertEqual((back["DBName"], back["MasterUsername"]), ("app", MASTER_USER))
        self.assertEqual(self.count(port), 5)
        self.assertNotEqual(psql(port, MASTER_USER, "later-pass", "app", "select 1")[0], 0,
                            "the restored instance took a password set after the snapshot")

    def test_final_snapshot_on_delete_restores(self):
        inst = self.make("finale", rows=7, retention=1)
        r = self.rds.delete_db_instance(DBInstanceIdentifier="finale",
                                        FinalDBSnapshotIdentifier="finale-last")["DBInstance"]
        self.assertEqual(r["DBInstanceStatus"], "deleting")
        self.rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier="finale",
                                                        WaiterConfig=FAST)
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="finale")
        snap = self.snapshot("finale-last")
        self.assertEqual((snap["Status"], snap["SnapshotType"], snap["PercentProgress"],
                          snap["DBInstanceIdentifier"], snap["DbiResourceId"]),
                         ("available", "manual", 100, "finale", inst["DbiResourceId"]))
        self.assertEventsInclude("finale-last", [("RDS-EVENT-0040", "Creating manual snapshot"),
                                                 ("RDS-EVENT-0042", "Manual snapshot created")],
                                 "db-snapshot")
        # DeleteAutomatedBackups defaults to true: the automated backups went with the instance.
        self.assertEqual(self.automated_snapshots(resource_id=inst["DbiResourceId"]), [])
        self.assertClientError("DBInstanceAutomatedBackupNotFound", 404,
                               self.rds.describe_db_instance_automated_backups,
                               DbiResourceId=inst["DbiResourceId"])
        back = self.restore_snapshot("finale-back", "finale-last")
        self.assertEqual(self.count(back["Endpoint"]["Port"]), 7)

    # --- 7. retained automated backups --------------------------------------------------------

    def test_retained_automated_backups(self):
        inst = self.make("keeper", rows=3, retention=1)
        rid = inst["DbiResourceId"]
        self.sql(inst["Endpoint"]["Port"], "insert into t values (100, 'last words')")
        self.wait_restorable("keeper", now_utc())
        self.rds.delete_db_instance(DBInstanceIdentifier="keeper", SkipFinalSnapshot=True,
                                    DeleteAutomatedBackups=False)
        self.rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier="keeper",
                                                        WaiterConfig=FAST)

        backups = self.rds.describe_db_instance_automated_backups(
            DbiResourceId=rid)["DBInstanceAutomatedBackups"]
        self.assertEqual(len(backups), 1, backups)
        b = backups[0]
        self.assertEqual((b["Status"], b["DBInstanceIdentifier"], b["DbiResourceId"]),
                         ("retained", "keeper", rid))
        self.assertIn("EarliestTime", b["RestoreWindow"])
        self.assertIn("LatestTime", b["RestoreWindow"])
        self.assertLessEqual(b["RestoreWindow"]["EarliestTime"], b["RestoreWindow"]["LatestTime"])
        self.assertTrue(b["DBInstanceAutomatedBackupsArn"].startswith(
            "arn:aws:rds:us-east-1:000000000000:auto-backup:"), b)
        listed = self.rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
        self.assertIn(rid, [x["DbiResourceId"] for x in listed])

        back = self.restore_pitr("keeper-back", SourceDbiResourceId=rid,
                                 UseLatestRestorableTime=True)
        self.assertEqual(self.sql(back["Endpoint"]["Port"], "select count(*), max(id) from t"),
                         "4|100")

        # The same backup by its ARN, to a time.
        by_arn = self.restore_pitr(
            "keeper-arn", SourceDBInstanceAutomatedBackupsArn=b["DBInstanceAutomatedBackupsArn"],
            RestoreTime=b["RestoreWindow"]["LatestTime"])
        self.assertEqual(self.sql(by_arn["Endpoint"]["Port"], "select count(*), max(id) from t"),
                         "4|100")

        r = self.rds.delete_db_instance_automated_backup(DbiResourceId=rid)
        self.assertEqual(r["DBInstanceAutomatedBackup"]["DbiResourceId"], rid)
        self.assertClientError("DBInstanceAutomatedBackupNotFound", 404,
                               self.rds.describe_db_instance_automated_backups,
                               DbiResourceId=rid)
        self.assertClientError("DBInstanceAutomatedBackupNotFound", 404,
                               self.rds.restore_db_instance_to_point_in_time,
                               SourceDbiResourceId=rid, TargetDBInstanceIdentifier="keeper-2",
                               UseLatestRestorableTime=True)
        self.assertEqual(self.automated_snapshots(resource_id=rid), [])
        wait_until(lambda: not os.path.exists(self.archive_dir(rid)), 10, 0.2,
                   "the WAL archive of the deleted automated backup to be removed")

    # --- 8. copy and delete -------------------------------------------------------------------

    def test_copy_automated_to_manual_restore_and_delete(self):
        inst = self.make("copier", rows=4, retention=1)
        auto = self.backup_now("copier")  # an automated snapshot with the rows in it
        r = self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier=auto["DBSnapshotIdentifier"],
                                      TargetDBSnapshotIdentifier="copier-kept")["DBSnapshot"]
        self.assertEqual((r["DBSnapshotIdentifier"], r["SnapshotType"]), ("copier-kept", "manual"))
        self.rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier="copier-kept",
                                                          WaiterConfig=FAST)
        copy = self.snapshot("copier-kept")
        self.assertEqual((copy["Status"], copy["SnapshotType"], copy["DBInstanceIdentifier"],
                          copy["DbiResourceId"], copy["PercentProgress"]),
                         ("available", "manual", "copier", inst["DbiResourceId"], 100))
        self.assertEqual(copy["SourceDBSnapshotIdentifier"], auto["DBSnapshotArn"])
        # The source is untouched.
        self.assertEqual(self.snapshot(auto["DBSnapshotIdentifier"])["SnapshotType"], "automated")

        # manual -> manual
        self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="copier-kept",
                                  TargetDBSnapshotIdentifier="copier-kept-2")
        self.rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier="copier-kept-2",
                                                          WaiterConfig=FAST)
        self.assertEqual(self.snapshot("copier-kept-2")["SourceDBSnapshotIdentifier"],
                         copy["DBSnapshotArn"])

        back = self.restore_snapshot("copier-back", "copier-kept")
        self.assertEqual(self.count(back["Endpoint"]["Port"]), 4)

        for snap_id in ("copier-kept", "copier-kept-2"):
            r = self.rds.delete_db_snapshot(DBSnapshotIdentifier=snap_id)["DBSnapshot"]
            self.assertEqual(r["DBSnapshotIdentifier"], snap_id)
            self.rds.get_waiter("db_snapshot_deleted").wait(DBSnapshotIdentifier=snap_id,
                                                            WaiterConfig=FAST)
            self.assertClientError("DBSnapshotNotFound", 404, self.rds.describe_db_snapshots,
                                   DBSnapshotIdentifier=snap_id)
        # The restored instance does not need the snapshot any more.
        self.assertEqual(self.count(back["Endpoint"]["Port"]), 4)

    # --- 9. stop with a snapshot --------------------------------------------------------------

    def test_stop_with_snapshot(self):
        self.make("sleeper", rows=6, retention=0)
        r = self.rds.stop_db_instance(DBInstanceIdentifier="sleeper",
                                      DBSnapshotIdentifier="sleeper-bedtime")["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("stopping", "stopped"))
        self.wait_status("sleeper", "stopped")
        snap = self.snapshot("sleeper-bedtime")
        self.assertEqual((snap["Status"], snap["SnapshotType"], snap["DBInstanceIdentifier"]),
                         ("available", "manual", "sleeper"))
        back = self.restore_snapshot("sleeper-back", "sleeper-bedtime")
        self.assertEqual(self.count(back["Endpoint"]["Port"]), 6)
        self.assertEqual(self.status("sleeper"), "stopped")

    # --- 10. retention on and off --------------------------------------------------------------

    def test_retention_off_and_on(self):
        inst = self.make("toggler", rows=1, retention=7)
        rid = inst["DbiResourceId"]
        self.take_snapshot("toggler", "toggler-manual")
        self.assertEqual(len(self.automated_snapshots("toggler")), 1)

        self.rds.modify_db_instance(DBInstanceIdentifier="toggler", BackupRetentionPeriod=0,
                                    ApplyImmediately=True)
        self.wait_available("toggler")
        off = self.describe("toggler")
        self.assertEqual(off["BackupRetentionPeriod"], 0)
        self.assertNotIn("LatestRestorableTime", off)
        self.assertEqual(self.automated_snapshots("toggler"), [])
        self.assertEqual(self.automated_snapshots(resource_id=rid), [])
        self.assertEqual(self.snapshot("toggler-manual")["Status"], "available",
                         "turning automated backups off must not touch manual snapshots")
        listed = self.rds.describe_db_instance_automated_backups()["DBInstanceAutomatedBackups"]
        self.assertNotIn(rid, [b["DbiResourceId"] for b in listed])
        self.assertEventsInclude("toggler", [("RDS-EVENT-0028", "Automated backups for this DB "
                                              "instance have been disabled")], "db-instance")
        self.assertClientError("PointInTimeRestoreNotEnabled", 400,
                               self.rds.restore_db_instance_to_point_in_time,
                               SourceDBInstanceIdentifier="toggler",
                               TargetDBInstanceIdentifier="toggler-pitr",
                               UseLatestRestorableTime=True)
        disabled_at = now_utc()
        disabled_at -= datetime.timedelta(microseconds=disabled_at.microsecond % 1000)  # API: ms

        self.rds.modify_db_instance(DBInstanceIdentifier="toggler", BackupRetentionPeriod=1,
                                    ApplyImmediately=True)
        self.wait_available("toggler")
        autos = wait_until(lambda: [s for s in self.automated_snapshots("toggler")
                                    if s["Status"] == "available"], 30, 0.2,
                           "a new automated snapshot of toggler")
        self.assertEqual(len(autos), 1, autos)
        self.assertRegex(autos[0]["DBSnapshotIdentifier"], automated_name("toggler"))
        self.assertGreaterEqual(autos[0]["SnapshotCreateTime"], disabled_at)
        on = self.describe("toggler")
        self.assertEqual(on["BackupRetentionPeriod"], 1)
        self.assertIn("LatestRestorableTime", on)
        self.assertEventsInclude("toggler", [("RDS-EVENT-0032", "Automated backups for this DB "
                                              "instance have been enabled")], "db-instance")
        # The time while backups were off is not restorable.
        self.assertClientError("InvalidRestoreFault", 400,
                               self.rds.restore_db_instance_to_point_in_time,
                               SourceDBInstanceIdentifier="toggler",
                               TargetDBInstanceIdentifier="toggler-pitr",
                               RestoreTime=disabled_at)
        self.assertEventsInclude(autos[0]["DBSnapshotIdentifier"],
                                 [("RDS-EVENT-0090", "Creating automated snapshot"),
                                  ("RDS-EVENT-0091", "Automated snapshot created")],
                                 "db-snapshot")

    # --- 11. the backup window, now ------------------------------------------------------------

    def test_backup_control_takes_an_automated_snapshot(self):
        inst = self.make("windowed", rows=2, retention=1)
        before = self.automated_snapshots("windowed")
        self.assertEqual(len(before), 1)
        status, body = self.h.control("POST", "/_localrds/instances/windowed/backup")
        self.assertEqual(status, 202, body)
        seen = set()

        def new_snapshot():
            seen.add(self.status("windowed"))
            snaps = self.automated_snapshots("windowed")
            return len(snaps) == 2 and all(s["Status"] == "available" for s in snaps) and snaps
        snaps = wait_until(new_snapshot, 60, 0.1, "the second automated snapshot")
        self.wait_status("windowed", "available")
        new = [s for s in snaps if s["DBSnapshotIdentifier"] != before[0]["DBSnapshotIdentifier"]]
        self.assertEqual(len(new), 1, snaps)
        self.assertRegex(new[0]["DBSnapshotIdentifier"], automated_name("windowed"))
        self.assertEqual((new[0]["DbiResourceId"], new[0]["PercentProgress"]),
                         (inst["DbiResourceId"], 100))
        self.assertTrue(seen <= {"backing-up", "available"}, seen)
        self.assertEventsInclude(new[0]["DBSnapshotIdentifier"],
                                 [("RDS-EVENT-0090", "Creating automated snapshot"),
                                  ("RDS-EVENT-0091", "Automated snapshot created")],
                                 "db-snapshot")
        got = self.events_of("windowed", "db-instance")
        self.assertEqual(got.count(("RDS-EVENT-0001", "Backing up DB instance")), 2, got)
        self.assertEqual(got.count(("RDS-EVENT-0002", "Finished DB Instance backup")), 2, got)
        # Unknown instance, and an instance without automated backups.
        status, body = self.h.control("POST", "/_localrds/instances/nope/backup")
        self.assertEqual(status, 404, body)

    # --- describe ------------------------------------------------------------------------------

    def test_describe_snapshots_filters_and_pages(self):
        inst = self.make("lister", rows=1, retention=1)
        rid = inst["DbiResourceId"]
        self.take_snapshot("lister", "lister-00")
        for n in range(1, 21):
            self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="lister-00",
                                      TargetDBSnapshotIdentifier="lister-%02d" % n)
        manual = ["lister-%02d" % n for n in range(21)]
        wait_until(lambda: all(s["Status"] == "available" for s in self.rds.describe_db_snapshots(
            DBInstanceIdentifier="lister", MaxRecords=100)["DBSnapshots"]), 30, 0.2)
        auto = self.automated_snapshots("lister")[0]["DBSnapshotIdentifier"]

        def ids(**kw):
            found = self.rds.describe_db_snapshots(MaxRecords=100, **kw)["DBSnapshots"]
            return sorted(s["DBSnapshotIdentifier"] for s in found)
        self.assertEqual(ids(DBInstanceIdentifier="lister"), sorted(manual + [auto]))
        self.assertEqual(ids(DBInstanceIdentifier="lister", SnapshotType="manual"), manual)
        self.assertEqual(ids(DBInstanceIdentifier="lister", SnapshotType="automated"), [auto])
        self.assertEqual(ids(DbiResourceId=rid), sorted(manual + [auto]))
        self.assertEqual(ids(DBSnapshotIdentifier="lister-07"), ["lister-07"])
        self.assertEqual(ids(DBSnapshotIdentifier=auto), [auto])
        self.assertEqual(ids(Filters=[{"Name": "db-instance-id", "Values": ["lister"]},
                                      {"Name": "snapshot-type", "Values": ["automated"]}]), [auto])
        self.assertEqual(ids(Filters=[{"Name": "db-snapshot-id",
                                       "Values": ["lister-01", "lister-02"]}]),
                         ["lister-01", "lister-02"])
        self.assertEqual(ids(Filters=[{"Name": "dbi-resource-id", "Values": [rid]},
                                      {"Name": "engine", "Values": ["postgres"]}]),
                         sorted(manual + [auto]))

        # Pages of 20 with a Marker; the paginator walks them all.
        first = self.rds.describe_db_snapshots(DBInstanceIdentifier="lister", MaxRecords=20)
        self.assertEqual(len(first["DBSnapshots"]), 20)
        self.assertIn("Marker", first)
        second = self.rds.describe_db_snapshots(DBInstanceIdentifier="lister", MaxRecords=20,
                                                Marker=first["Marker"])
        self.assertEqual(len(second["DBSnapshots"]), 2)
        self.assertNotIn("Marker", second)
        paged = [s["DBSnapshotIdentifier"] for p in (first, second) for s in p["DBSnapshots"]]
        self.assertEqual(sorted(paged), sorted(manual + [auto]))
        walked = [s["DBSnapshotIdentifier"]
                  for p in self.rds.get_paginator("describe_db_snapshots").paginate(
                      DBInstanceIdentifier="lister", PaginationConfig={"PageSize": 20})
                  for s in p["DBSnapshots"]]
        self.assertEqual(sorted(walked), sorted(manual + [auto]))
        for snap_id in manual:
            self.rds.delete_db_snapshot(DBSnapshotIdentifier=snap_id)
        self.assertEqual(ids(DBInstanceIdentifier="lister"), [auto])

    # --- 12. errors ----------------------------------------------------------------------------

    def test_errors(self):
        # An instance without automated backups, and a stopped one.
        self.make("plain", rows=1, retention=0)
        self.create("napping", BackupRetentionPeriod=0)
        self.rds.stop_db_instance(DBInstanceIdentifier="napping")
        self.wait_status("napping", "stopped")
        auto = self.automated_snapshots("shared")[0]["DBSnapshotIdentifier"]
        self.take_snapshot("plain", "plain-snap")
        rds = self.rds
        window = rds.describe_db_instance_automated_backups(
            DBInstanceIdentifier="shared")["DBInstanceAutomatedBackups"][0]["RestoreWindow"]
        shared_rid = self.describe("shared")["DbiResourceId"]

        cases = [
            # DBSnapshotNotFound
            ("DBSnapshotNotFound", 404, rds.describe_db_snapshots,
             dict(DBSnapshotIdentifier="no-such-snap")),
            ("DBSnapshotNotFound", 404, rds.delete_db_snapshot,
             dict(DBSnapshotIdentifier="no-such-snap")),
            ("DBSnapshotNotFound", 404, rds.copy_db_snapshot,
             dict(SourceDBSnapshotIdentifier="no-such-snap", TargetDBSnapshotIdentifier="x-copy")),
            ("DBSnapshotNotFound", 404, rds.restore_db_instance_from_db_snapshot,
             dict(DBInstanceIdentifier="from-nothing", DBSnapshotIdentifier="no-such-snap")),
            # DBSnapshotAlreadyExists
            ("DBSnapshotAlreadyExists", 400, rds.create_db_snapshot,
             dict(DBInstanceIdentifier="plain", DBSnapshotIdentifier="plain-snap")),
            ("DBSnapshotAlreadyExists", 400, rds.copy_db_snapshot,
             dict(SourceDBSnapshotIdentifier=auto, TargetDBSnapshotIdentifier="plain-snap")),
            ("DBSnapshotAlreadyExists", 400, rds.delete_db_instance,
             dict(DBInstanceIdentifier="plain", FinalDBSnapshotIdentifier="plain-snap")),
            ("DBSnapshotAlreadyExists", 400, rds.stop_db_instance,
             dict(DBInstanceIdentifier="plain", DBSnapshotIdentifier="plain-snap")),
            # InvalidDBSnapshotState: automated snapshots are not the user's to delete
            ("InvalidDBSnapshotState", 400, rds.delete_db_snapshot,
             dict(DBSnapshotIdentifier=auto)),
            # InvalidDBInstanceState: a stopped instance
            ("InvalidDBInstanceState", 400, rds.create_db_snapshot,
             dict(DBInstanceIdentifier="napping", DBSnapshotIdentifier="napping-snap")),
            # DBInstanceNotFound
            ("DBInstanceNotFound", 404, rds.create_db_snapshot,
             dict(DBInstanceIdentifier="nope", DBSnapshotIdentifier="nope-snap")),
            ("DBInstanceNotFound", 404, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="nope", TargetDBInstanceIdentifier="nope-pitr",
                  UseLatestRestorableTime=True)),
            # PointInTimeRestoreNotEnabled
            ("PointInTimeRestoreNotEnabled", 400, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="plain", TargetDBInstanceIdentifier="plain-pitr",
                  UseLatestRestorableTime=True)),
            # InvalidRestoreFault: outside [EarliestTime, LatestRestorableTime]
            ("InvalidRestoreFault", 400, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="shared", TargetDBInstanceIdentifier="too-early",
                  RestoreTime=window["EarliestTime"] - datetime.timedelta(minutes=5))),
            ("InvalidRestoreFault", 400, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="shared", TargetDBInstanceIdentifier="too-late",
                  RestoreTime=now_utc() + datetime.timedelta(hours=1))),
            # DBInstanceAlreadyExists
            ("DBInstanceAlreadyExists", 400, rds.restore_db_instance_from_db_snapshot,
             dict(DBInstanceIdentifier="shared", DBSnapshotIdentifier="plain-snap")),
            ("DBInstanceAlreadyExists", 400, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="shared", TargetDBInstanceIdentifier="plain",
                  UseLatestRestorableTime=True)),
            # DBInstanceAutomatedBackupNotFound
            ("DBInstanceAutomatedBackupNotFound", 404, rds.restore_db_instance_to_point_in_time,
             dict(SourceDbiResourceId="db-AAAAAAAAAAAAAAAAAAAAAAAAAA",
                  TargetDBInstanceIdentifier="orphan", UseLatestRestorableTime=True)),
            ("DBInstanceAutomatedBackupNotFound", 404,
             rds.describe_db_instance_automated_backups,
             dict(DbiResourceId="db-AAAAAAAAAAAAAAAAAAAAAAAAAA")),
            ("DBInstanceAutomatedBackupNotFound", 404, rds.delete_db_instance_automated_backup,
             dict(DbiResourceId="db-AAAAAAAAAAAAAAAAAAAAAAAAAA")),
            # InvalidDBInstanceAutomatedBackupState: a live instance's backups
            ("InvalidDBInstanceAutomatedBackupState", 400,
             rds.delete_db_instance_automated_backup, dict(DbiResourceId=shared_rid)),
            # InvalidParameterCombination: both or neither of RestoreTime/UseLatestRestorableTime
            ("InvalidParameterCombination", 400, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="shared", TargetDBInstanceIdentifier="both",
                  RestoreTime=window["LatestTime"], UseLatestRestorableTime=True)),
            ("InvalidParameterCombination", 400, rds.restore_db_instance_to_point_in_time,
             dict(SourceDBInstanceIdentifier="shared", TargetDBInstanceIdentifier="neither")),
            # InvalidParameterValue: snapshot identifiers
            ("InvalidParameterValue", 400, rds.create_db_snapshot,
             dict(DBInstanceIdentifier="plain", DBSnapshotIdentifier="1bad")),
            ("InvalidParameterValue", 400, rds.create_db_snapshot,
             dict(DBInstanceIdentifier="plain", DBSnapshotIdentifier="a--b")),
            ("InvalidParameterValue", 400, rds.create_db_snapshot,
             dict(DBInstanceIdentifier="plain", DBSnapshotIdentifier="ends-with-")),
            ("InvalidParameterValue", 400, rds.copy_db_snapshot,
             dict(SourceDBSnapshotIdentifier="plain-snap", TargetDBSnapshotIdentifier="1bad")),
            ("InvalidParameterValue", 400, rds.restore_db_instance_from_db_snapshot,
             dict(DBInstanceIdentifier="1bad", DBSnapshotIdentifier="plain-snap")),
            # InvalidParameterValue: MaxRecords out of 20..100
            ("InvalidParameterValue", 400, rds.describe_db_snapshots, dict(MaxRecords=19)),
            ("InvalidParameterValue", 400, rds.describe_db_snapshots, dict(MaxRecords=101)),
        ]
        for code, status, fn, kw in cases:
            with self.subTest(code=code, action=fn.__name__, args=kw):
                err = self.assertClientError(code, status, fn, **kw)
                self.assertTrue(err.get("Message"), err)
                self.assertEqual(err.get("Type"), "Sender", err)
        # Nothing was made by the refused calls, and the instances are as they were.
        names = {i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}
        for made in ("from-nothing", "nope-pitr", "plain-pitr", "too-early", "too-late",
                     "orphan", "both", "neither", "1bad"):
            self.assertNotIn(made, names)
        self.assertEqual(self.status("plain"), "available")
        self.assertNotIn("LatestRestorableTime", self.describe("plain"))
        self.assertEqual(self.status("napping"), "stopped")
        self.assertEqual(self.status("shared"), "available")
        self.assertClientError("DBSnapshotNotFound", 404, rds.describe_db_snapshots,
                               DBSnapshotIdentifier="napping-snap")

    # --- the idle archive ----------------------------------------------------------------------

    def test_idle_archive_does_not_grow(self):
        inst = self.make("idle", rows=1, retention=1)
        archive = self.archive_dir(inst["DbiResourceId"])

        def usage():
            files = {}
            for dirpath, _, filenames in os.walk(archive):
                for f in filenames:
                    p = os.path.join(dirpath, f)
                    files[os.path.relpath(p, archive)] = os.stat(p).st_size
            return files
        let_time_pass(8)  # the first commits are shipped
        self.assertTrue(os.path.isdir(archive), archive)
        before = usage()
        let_time_pass(12)
        after = usage()
        self.assertEqual(sorted(after), sorted(before), "new files in an idle instance's archive")
        self.assertEqual(sum(after.values()), sum(before.values()))


class CliBackupTest(BackupTestCase):
    """The same story with the AWS CLI."""

    def cli(self, *args, expect_ok=True):
        r = self.h.aws("rds", *args)
        if expect_ok:
            self.assertEqual(r.rc, 0, r)
        return r

    def cli_restored_port(self, ident, dbi):
        self.addCleanup(self._delete_quietly, dbi)
        self.cli("wait", "db-instance-available", "--db-instance-identifier", ident)
        return self.cli("describe-db-instances", "--db-instance-identifier", ident,
                        "--query", "DBInstances[0].Endpoint.Port").json

    def test_cli_story(self):
        r = self.cli("create-db-instance", "--db-instance-identifier", "test",
                     "--engine", "postgres", "--db-instance-class", "db.t3.micro",
                     "--master-username", MASTER_USER, "--master-user-password", MASTER_PASSWORD,
                     "--db-name", "test", "--allocated-storage", "20",
                     "--backup-retention-period", "7")
        self.addCleanup(self._delete_quietly, r.json["DBInstance"]["DbiResourceId"])
        self.cli("wait", "db-instance-available", "--db-instance-identifier", "test")
        port = self.cli("describe-db-instances", "--db-instance-identifier", "test",
                        "--query", "DBInstances[0].Endpoint.Port").json
        self.sql(port, "create table todos(id int, title text);"
                       "insert into todos values (1, 'buy milk'), (2, 'write tests')", db="test")

        r = self.cli("describe-db-snapshots", "--db-instance-identifier", "test",
                     "--snapshot-type", "automated")
        self.assertEqual(len(r.json["DBSnapshots"]), 1, r)
        self.assertRegex(r.json["DBSnapshots"][0]["DBSnapshotIdentifier"], automated_name("test"))

        r = self.cli("create-db-snapshot", "--db-instance-identifier", "test",
                     "--db-snapshot-identifier", "multiple-todos")
        self.assertEqual(r.json["DBSnapshot"]["DBSnapshotIdentifier"], "multiple-todos")
        self.cli("wait", "db-snapshot-available", "--db-snapshot-identifier", "multiple-todos")
        r = self.cli("describe-db-snapshots", "--db-snapshot-identifier", "multiple-todos")
        snap = r.json["DBSnapshots"][0]
        self.assertEqual((snap["Status"], snap["SnapshotType"], snap["DBInstanceIdentifier"]),
                         ("available", "manual", "test"))

        t = now_utc()
        let_time_pass(1.0)
        self.sql(port, "delete from todos", db="test")

        r = self.cli("restore-db-instance-from-db-snapshot",
                     "--db-instance-identifier", "cli-restored",
                     "--db-snapshot-identifier", "multiple-todos")
        rport = self.cli_restored_port("cli-restored", r.json["DBInstance"]["DbiResourceId"])
        self.assertNotEqual(rport, port)
        self.assertEqual(self.count(rport, "todos", db="test"), 2)

        def lrt_caught_up():
            v = self.cli("describe-db-instances", "--db-instance-identifier", "test",
                         "--query", "DBInstances[0].LatestRestorableTime").json
            return v and parse_time(v) >= t
        wait_until(lrt_caught_up, 30, 0.5, "LatestRestorableTime to pass T")
        r = self.cli("restore-db-instance-to-point-in-time",
                     "--source-db-instance-identifier", "test",
                     "--target-db-instance-identifier", "cli-pitr",
                     "--restore-time", t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        pport = self.cli_restored_port("cli-pitr", r.json["DBInstance"]["DbiResourceId"])
        self.assertEqual(self.count(pport, "todos", db="test"), 2)
        self.assertEqual(self.count(port, "todos", db="test"), 0)

        r = self.cli("describe-db-instance-automated-backups", "--db-instance-identifier", "test")
        b = r.json["DBInstanceAutomatedBackups"][0]
        self.assertEqual(b["Status"], "active")
        self.assertLessEqual(parse_time(b["RestoreWindow"]["EarliestTime"]), t)

        self.cli("delete-db-snapshot", "--db-snapshot-identifier", "multiple-todos")
        self.cli("wait", "db-snapshot-deleted", "--db-snapshot-identifier", "multiple-todos")
        r = self.cli("describe-db-snapshots", "--db-snapshot-identifier", "multiple-todos",
                     expect_ok=False)
        self.assertEqual(r.error_code, "DBSnapshotNotFound", r)


class SnapshotCrashTest(BackupTestCase):
    """localrds killed in the middle of a snapshot: after the restart the snapshot is available
    with every row, or failed; never available with partial data."""

    def setUp(self):
        super().setUp()
        if not self.h.alive():  # a previous test failed while the server was down
            self.restart()

    def restart(self, env=None):
        self.h.restart(env=env)
        self.rds = self.h.client()

    def crash_during(self, kind_step, call, **kw):
        """Restarts localrds with LOCALRDS_CRASH_AT=kind_step, makes the call (whose connection
        dies with the server), checks the server killed itself there, and restarts it."""
        marker = "LOCALRDS_CRASH_AT=%s: killing localrds now" % kind_step
        drills_before = self.h.log_text().count(marker)
        self.restart(env={"LOCALRDS_CRASH_AT": kind_step})
        try:
            with self.assertRaises((BotoCoreError, ClientError)) as cm:
                getattr(self.rds, call)(**kw)
            self.assertIsInstance(cm.exception, BotoCoreError,
                                  "the call was answered instead of crashing: %r" % cm.exception)
            rc = self.h.wait_exit(30)
        except BaseException:
            if self.h.alive():
                self.restart()  # never leave a server with a drill armed
            raise
        self.assertEqual(rc, -signal.SIGKILL, "localrds did not die by SIGKILL at %s" % kind_step)
        self.assertEqual(self.h.log_text().count(marker), drills_before + 1,
                         "the drill did not fire at %s" % kind_step)
        self.restart()

    def assertSnapshotWhole(self, ident, snap_id, rows):
        """The snapshot settles as available (and restores every row) or failed; the instance
        is available again and still has its rows."""
        def settled():
            s = self.snapshot(snap_id)["Status"]
            return s in ("available", "failed") and s
        status = wait_until(settled, 60, 0.2, "snapshot %s to settle" % snap_id)
        self.wait_status(ident, "available", timeout=60)
        self.assertEqual(self.count(self.port_of(ident)), rows)
        if status == "available":
            self.assertEqual(self.snapshot(snap_id)["PercentProgress"], 100)
            back = self.restore_snapshot(snap_id + "-back", snap_id)
            self.assertEqual(self.count(back["Endpoint"]["Port"]), rows)
            self.assertEqual(self.sql(back["Endpoint"]["Port"], "select max(id) from t"),
                             str(rows))
        else:
            self.assertClientError("InvalidDBSnapshotState", 400,
                                   self.rds.restore_db_instance_from_db_snapshot,
                                   DBInstanceIdentifier=snap_id + "-back",
                                   DBSnapshotIdentifier=snap_id)
        snapshots_dir = os.path.join(self.h.data_dir, "snapshots")
        wait_until(lambda: not [d for d in os.listdir(snapshots_dir) if d.endswith(".tmp")],
                   20, 0.2, "no half-made base backup left in %s" % snapshots_dir)
        return status

    def test_crash_at_each_snapshot_step(self):
        for step in (0, 1):
            with self.subTest(step=step):
                ident = "crash-snap-%d" % step
                self.make(ident, rows=500, retention=0)
                self.crash_during("snapshot:%d" % step, "create_db_snapshot",
                                  DBInstanceIdentifier=ident,
                                  DBSnapshotIdentifier=ident + "-s")
                self.assertSnapshotWhole(ident, ident + "-s", 500)
                # Still a working instance: it takes the next snapshot.
                self.take_snapshot(ident, ident + "-again")

    def test_kill9_while_the_base_backup_runs(self):
        ident, rows = "crash-midway", 200000
        self.make(ident, rows=rows, retention=0)
        errors = []

        def snapshot_call():
            try:
                self.h.client().create_db_snapshot(DBInstanceIdentifier=ident,
                                                   DBSnapshotIdentifier="midway")
            except (BotoCoreError, ClientError) as e:
                errors.append(e)
        caller = threading.Thread(target=snapshot_call)
        caller.start()
        try:
            backup = wait_until(lambda: {pid: cmd for pid, cmd in
                                         processes_matching("pg_basebackup").items()
                                         if self.h.data_dir in cmd},
                                20, 0.01, "pg_basebackup to run")
            self.h.kill9()
        finally:
            caller.join(60)
        self.assertTrue(backup)
        self.assertEqual(len(errors), 1, "the call was answered before the kill")
        self.restart()
        self.assertSnapshotWhole(ident, "midway", rows)


if __name__ == "__main__":
    unittest.main()
