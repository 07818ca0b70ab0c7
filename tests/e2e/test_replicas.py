"""Read replicas as a user lives them: CreateDBInstanceReadReplica makes a hot standby that streams
from its source, PromoteReadReplica turns it into a standalone instance, cascades of up to three
levels, RDS's errors, and replication that survives reboots, a hung source and a killed localrds.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_replicas
"""

import os
import unittest

from harness import (MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, port_accepts, psql,
                     wait_until)

# boto3 waiters poll every 30 s by default; localrds answers mutations when they are done.
FAST = {"Delay": 1, "MaxAttempts": 60}
# Asynchronous streaming on one machine: a commit on the source is on the replica well within this.
REPLICATED_WITHIN = 10.0
# A hung source is noticed within wal_receiver_timeout (10 s) plus a poll or two.
NOTICED_WITHIN = 30.0
# The CLI's db-instance-available waiter polls every 30 s: a wait shorter than this succeeded at
# its first poll.
PROMPT = 15.0

REPLICATING = [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]
NO_BACKUPS = ("Automated backups are not enabled for this database instance. To enable automated "
              "backups, use ModifyDBInstance to set the backup retention period to a non-zero "
              "value.")
READ_ONLY = "cannot execute INSERT in a read-only transaction"
CREATED = ("RDS-EVENT-0005", "DB instance created")
RESUMED = ("RDS-EVENT-0046", "Replication for the Read Replica resumed.")
TERMINATED = ("RDS-EVENT-0057", "Replication streaming has been terminated.")
STOPPED_ID, STOPPED_MSG = "RDS-EVENT-0045", "Replication has stopped."
PROMOTED_MSG = "Read replica has been promoted to a standalone DB instance"


class ReplicaTestCase(LocalrdsTestCase):
    """Helpers shared by the replica suites."""

    # -- instances --

    def make_source(self, ident, retention=1, db="app", **kw):
        """An instance with automated backups (a replica needs them), database `db` and an empty
        table t(id, v)."""
        inst = self.create(ident, DBName=db, BackupRetentionPeriod=retention, **kw)
        self.sql(inst["Endpoint"]["Port"], "create table t(id int primary key, v text)", db=db)
        return inst

    def make_replica(self, ident, source, **kw):
        """CreateDBInstanceReadReplica, then the boto3 waiter; returns the described replica. It
        is deleted after the test like the instances of create()."""
        r = self.rds.create_db_instance_read_replica(
            DBInstanceIdentifier=ident, SourceDBInstanceIdentifier=source, **kw)["DBInstance"]
        self.addCleanup(self._delete_quietly, r["DbiResourceId"])
        self.assertEqual(r["DBInstanceIdentifier"], ident)
        self.assertIn(r["DBInstanceStatus"], ("creating", "available"))
        self.assertEqual(r["ReadReplicaSourceDBInstanceIdentifier"], source)
        self.wait_available(ident, attempts=60)
        return self.describe(ident)

    def port_of(self, ident):
        return self.describe(ident)["Endpoint"]["Port"]

    def enable_backups(self, ident, days=1):
        r = self.rds.modify_db_instance(DBInstanceIdentifier=ident, BackupRetentionPeriod=days,
                                        ApplyImmediately=True)["DBInstance"]
        self.assertEqual(r["DBInstanceIdentifier"], ident)
        self.wait_available(ident)
        self.assertEqual(self.describe(ident)["BackupRetentionPeriod"], days)

    def promote(self, ident, **kw):
        """PromoteReadReplica and the waiter; returns the described instance."""
        r = self.rds.promote_read_replica(DBInstanceIdentifier=ident, **kw)["DBInstance"]
        self.assertEqual(r["DBInstanceIdentifier"], ident)
        self.assertIn(r["DBInstanceStatus"], ("modifying", "backing-up", "available"))
        self.wait_available(ident)
        return self.describe(ident)

    # -- SQL --

    def sql(self, port, statement, db="app"):
        return self.psql_ok(port, statement, db=db)

    def rows(self, port, table="t", db="app"):
        """The ids of `table`, ascending, as one comma-separated string."""
        return self.sql(port, "select coalesce(string_agg(id::text, ',' order by id), '') "
                              "from %s" % table, db=db)

    def wait_rows(self, port, want, table="t", db="app", timeout=REPLICATED_WITHIN, what=None):
        """Until `table` on the server at `port` holds exactly the ids `want` (comma-separated)."""
        seen = []

        def there():
            seen.append(self.rows(port, table, db))
            return seen[-1] == want
        try:
            wait_until(there, timeout, 0.1, what or "rows %s on port %d" % (want, port))
        except AssertionError as e:
            self.fail("%s: port %d shows ids %r, not %r within %ss (%s)"
                      % (what or "replication", port, seen[-1] if seen else None, want, timeout,
                         e))

    def assertReadOnly(self, port, db="app", table="t"):
        rc, _, err = psql(port, MASTER_USER, MASTER_PASSWORD, db,
                          "insert into %s(id) values (-1)" % table)
        self.assertNotEqual(rc, 0, "an INSERT on the read replica succeeded")
        self.assertIn(READ_ONLY, err)

    def slots_on(self, port):
        """(slot_name, active) of the replication slots of the server at `port`, read by the
        master user."""
        out = self.sql(port, "select slot_name, active from pg_replication_slots "
                             "order by slot_name", db="postgres")
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    # -- replication status --

    def status_infos(self, ident):
        return self.describe(ident).get("StatusInfos")

    def wait_replication_status(self, ident, status, timeout=NOTICED_WITHIN):
        """Until StatusInfos[0].Status of the replica is `status`; returns StatusInfos."""
        seen = []

        def reached():
            seen.append(self.status_infos(ident))
            return seen[-1] and seen[-1][0].get("Status") == status and seen[-1]
        try:
            return wait_until(reached, timeout, 0.2, "%s to be %s" % (ident, status))
        except AssertionError:
            self.fail("the replication of %s did not become %r within %ss; StatusInfos %r"
                      % (ident, status, timeout, seen[-1] if seen else None))

    def details(self, ident):
        status, body = self.h.control("GET", "/_localrds/instances/%s" % ident)
        self.assertEqual(status, 200, body)
        return body

    def postmaster_pid(self, ident):
        """The pid of the instance's postmaster as this host sees it (in a container, its
        postmaster.pid says 1)."""
        pid = self.details(ident)["server"]["pid"]
        self.assertGreater(pid, 0)
        return pid

    # -- events --

    def events_of(self, ident):
        """(event_id, message) of every event of the DB instance, oldest first."""
        return [(e["event_id"], e["message"]) for e in self.h.events()
                if e["source_identifier"] == ident and e["source_type"] == "db-instance"]

    def described_events(self, ident):
        return [e["Message"] for e in self.rds.describe_events(
            SourceIdentifier=ident, SourceType="db-instance", Duration=60)["Events"]]

    def assertEventsInclude(self, ident, expected, timeout=5):
        def all_there():
            got = self.events_of(ident)
            return all(x in got for x in expected) and got
        try:
            return wait_until(all_there, timeout, 0.2)
        except AssertionError:
            self.fail("events of %s: %r, expected to include %r"
                      % (ident, self.events_of(ident), expected))

    def promoted_events(self, ident):
        return [e for e in self.events_of(ident) if e[1].startswith(PROMOTED_MSG)]

    def stopped_events(self, ident):
        return [e for e in self.events_of(ident)
                if e[0] == STOPPED_ID and e[1].startswith(STOPPED_MSG)]

    def assertStandalone(self, ident, source=None):
        """No replica fields left on `ident`, and its old source no longer lists it."""
        inst = self.describe(ident)
        self.assertEqual(inst["DBInstanceStatus"], "available")
        self.assertNotIn("ReadReplicaSourceDBInstanceIdentifier", inst)
        self.assertNotIn("StatusInfos", inst)
        if source is not None:
            self.assertNotIn(ident, self.describe(source)["ReadReplicaDBInstanceIdentifiers"])
        return inst


class ReplicaStoryTest(ReplicaTestCase):
    """The user's story, with boto3 and with the AWS CLI: a replica follows its source, refuses
    writes, and becomes a writable standalone instance when the primary is lost."""

    def test_user_story(self):
        """A replica follows its source and refuses writes; promoted, it is writable and alone."""
        src = self.make_source("test", db="test")
        sport = src["Endpoint"]["Port"]
        self.sql(sport, "insert into t values (1, 'before the replica')", db="test")

        rep = self.make_replica("test-replica", "test")
        rport = rep["Endpoint"]["Port"]
        self.assertNotEqual(rport, sport)
        self.assertEqual(rep["Endpoint"]["Address"], "127.0.0.1")
        self.assertEqual((rep["DBInstanceStatus"], rep["Engine"], rep["MasterUsername"],
                          rep["DBName"], rep["DBInstanceClass"]),
                         ("available", "postgres", MASTER_USER, "test", src["DBInstanceClass"]))
        self.assertEqual(rep["ReadReplicaSourceDBInstanceIdentifier"], "test")
        self.assertEqual(rep["StatusInfos"], REPLICATING)
        self.assertEqual(rep["BackupRetentionPeriod"], 0)
        self.assertEqual(rep["ReadReplicaDBInstanceIdentifiers"], [])
        self.assertNotEqual(rep["DbiResourceId"], src["DbiResourceId"])
        source = self.describe("test")
        self.assertEqual(source["ReadReplicaDBInstanceIdentifiers"], ["test-replica"])
        self.assertNotIn("ReadReplicaSourceDBInstanceIdentifier", source)
        self.assertNotIn("StatusInfos", source)

        # The source's data, users and password are the replica's; new rows follow.
        self.assertEqual(self.rows(rport, db="test"), "1")
        self.sql(sport, "insert into t values (2, 'after the replica')", db="test")
        self.wait_rows(rport, "1,2", db="test", what="a row inserted on test")
        self.assertEqual(self.sql(rport, "select v from t where id = 2", db="test"),
                         "after the replica")
        self.assertEqual(self.sql(rport, "select pg_is_in_recovery()", db="test"), "t")
        self.assertReadOnly(rport, db="test")

        self.assertEventsInclude("test-replica", [CREATED, RESUMED])
        for m in (CREATED[1], RESUMED[1]):
            self.assertIn(m, self.described_events("test-replica"))
        # One replication slot on the source, held by the streaming replica.
        self.assertEqual([active for _, active in self.slots_on(sport)], ["t"])

        # The primary is lost: promote the replica.
        promoted = self.promote("test-replica")
        self.assertStandalone("test-replica", "test")
        self.assertEqual(promoted["BackupRetentionPeriod"], 1)  # PromoteReadReplica's default
        self.assertEqual(promoted["Endpoint"]["Port"], rport)
        self.assertEqual(self.describe("test")["ReadReplicaDBInstanceIdentifiers"], [])
        self.sql(rport, "insert into t values (3, 'written on the promoted replica')", db="test")
        self.assertEqual(self.rows(rport, db="test"), "1,2,3")
        self.assertEqual(self.sql(rport, "select pg_is_in_recovery()", db="test"), "f")
        self.assertEqual(self.rows(sport, db="test"), "1,2", "the promoted replica wrote to test")
        wait_until(lambda: self.slots_on(sport) == [], 10, 0.2,
                   "the replica's slot on test to be dropped")
        self.assertEventsInclude("test-replica", [TERMINATED])
        self.assertEqual(len(self.promoted_events("test-replica")), 1,
                         self.events_of("test-replica"))
        got = self.events_of("test-replica")
        self.assertLess(got.index(RESUMED), got.index(TERMINATED))
        self.assertIn(TERMINATED[1], self.described_events("test-replica"))

    def test_replica_options(self):
        """A replica takes its own class, port, zone, tags and public accessibility."""
        src = self.make_source("opts-src")
        port = next(p for p in range(self.h.port_hi, self.h.port_lo, -1)
                    if not port_accepts(p) and p != src["Endpoint"]["Port"])
        rep = self.make_replica("opts-rep", "opts-src", DBInstanceClass="db.t3.small", Port=port,
                                AvailabilityZone="us-east-1c", PubliclyAccessible=True,
                                Tags=[{"Key": "role", "Value": "reader"}])
        self.assertEqual((rep["DBInstanceClass"], rep["Endpoint"]["Port"],
                          rep["AvailabilityZone"], rep["PubliclyAccessible"], rep["TagList"]),
                         ("db.t3.small", port, "us-east-1c", True,
                          [{"Key": "role", "Value": "reader"}]))
        self.assertEqual(rep["StatusInfos"], REPLICATING)
        self.sql(src["Endpoint"]["Port"], "insert into t values (1, 'one')")
        self.wait_rows(port, "1", what="a row of opts-src on the replica's own port")
        self.assertEqual(self.describe("opts-src")["DBInstanceClass"], src["DBInstanceClass"])

    def cli(self, *args, expect_ok=True):
        r = self.h.aws(*args)
        if expect_ok:
            self.assertEqual(r.rc, 0, r)
        return r

    def cli_query(self, ident, query):
        return self.cli("rds", "describe-db-instances", "--db-instance-identifier", ident,
                        "--query", query).json

    def cli_replicas_of(self, ident):
        return self.cli_query(ident, "DBInstances[0].ReadReplicaDBInstanceIdentifiers")

    def test_user_story_with_the_cli(self):
        """The same story with the AWS CLI's commands, waiter and --query."""
        r = self.cli("rds", "create-db-instance", "--db-instance-identifier", "clisrc",
                     "--engine", "postgres", "--db-instance-class", "db.t3.micro",
                     "--master-username", MASTER_USER, "--master-user-password", MASTER_PASSWORD,
                     "--db-name", "test", "--allocated-storage", "20",
                     "--backup-retention-period", "1")
        self.addCleanup(self._delete_quietly, r.json["DBInstance"]["DbiResourceId"])
        self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clisrc")
        sport = self.cli_query("clisrc", "DBInstances[0].Endpoint.Port")
        self.sql(sport, "create table t(id int primary key, v text);"
                        "insert into t values (1, 'one')", db="test")

        r = self.cli("rds", "create-db-instance-read-replica",
                     "--db-instance-identifier", "clirep",
                     "--source-db-instance-identifier", "clisrc")
        created = r.json["DBInstance"]
        self.addCleanup(self._delete_quietly, created["DbiResourceId"])
        self.assertEqual((created["DBInstanceIdentifier"],
                          created["ReadReplicaSourceDBInstanceIdentifier"]), ("clirep", "clisrc"))
        self.assertIn(created["DBInstanceStatus"], ("creating", "available"))
        r = self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clirep")
        self.assertLess(r.elapsed, PROMPT, "the waiter did not succeed at its first poll")

        got = self.cli_query("clirep", "DBInstances[0].[DBInstanceStatus, "
                                       "ReadReplicaSourceDBInstanceIdentifier, "
                                       "StatusInfos[0].Status, StatusInfos[0].Normal, "
                                       "BackupRetentionPeriod, Endpoint.Port]")
        self.assertEqual(got[:5], ["available", "clisrc", "replicating", True, 0])
        rport = got[5]
        self.assertNotEqual(rport, sport)
        self.assertEqual(self.cli_replicas_of("clisrc"), ["clirep"])

        self.assertEqual(self.rows(rport, db="test"), "1")
        self.sql(sport, "insert into t values (2, 'two')", db="test")
        self.wait_rows(rport, "1,2", db="test", what="a row inserted on clisrc")
        self.assertReadOnly(rport, db="test")

        r = self.cli("rds", "promote-read-replica", "--db-instance-identifier", "clirep",
                     "--backup-retention-period", "3", "--preferred-backup-window", "23:00-23:30")
        self.assertEqual(r.json["DBInstance"]["DBInstanceIdentifier"], "clirep")
        self.assertIn(r.json["DBInstance"]["DBInstanceStatus"],
                      ("modifying", "backing-up", "available"))
        r = self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clirep")
        self.assertLess(r.elapsed, PROMPT, "the waiter did not succeed at its first poll")
        got = self.cli_query("clirep", "DBInstances[0].[DBInstanceStatus, "
                                       "ReadReplicaSourceDBInstanceIdentifier, StatusInfos, "
                                       "BackupRetentionPeriod, PreferredBackupWindow]")
        self.assertEqual(got, ["available", None, None, 3, "23:00-23:30"])
        self.assertEqual(self.cli_replicas_of("clisrc"), [])
        self.sql(rport, "insert into t values (3, 'three')", db="test")
        self.assertEqual(self.rows(rport, db="test"), "1,2,3")
        self.assertEqual(self.slots_on(sport), [])

        r = self.cli("rds", "describe-events", "--source-type", "db-instance",
                     "--source-identifier", "clirep", "--duration", "60",
                     "--query", "Events[].Message")
        for m in (CREATED[1], RESUMED[1], TERMINATED[1]):
            self.assertIn(m, r.json)
        self.assertTrue(any(m.startswith(PROMOTED_MSG) for m in r.json), r.json)


class CascadeTest(ReplicaTestCase):
    """Cascading replicas: a chain of up to three read replicas below a source (top -> r1 -> r2
    -> r3, "at most four DB instances"), each streaming from the one above; a fourth replica in
    the chain is refused; promoting a middle one keeps the ones below streaming from it."""

    def test_chain_of_three_replicas_and_promotion_of_the_middle(self):
        """Rows flow down three levels, a fourth is refused, the chain outlives a promotion."""
        top = self.make_source("top")
        tport = top["Endpoint"]["Port"]
        self.sql(tport, "insert into t values (1, 'top')")
        r1 = self.make_replica("r1", "top")
        # A replica is created without backups, and only an instance with backups has replicas.
        self.assertEqual(r1["BackupRetentionPeriod"], 0)
        err = self.assertClientError("InvalidDBInstanceState", 400,
                                     self.rds.create_db_instance_read_replica,
                                     DBInstanceIdentifier="r2", SourceDBInstanceIdentifier="r1")
        self.assertEqual(err["Message"], NO_BACKUPS)
        self.enable_backups("r1")
        self.assertEqual(self.status_infos("r1"), REPLICATING)
        r2 = self.make_replica("r2", "r1")
        self.enable_backups("r2")
        r3 = self.make_replica("r3", "r2")
        ports = [tport] + [r["Endpoint"]["Port"] for r in (r1, r2, r3)]
        self.assertEqual(len(set(ports)), 4)
        _, p1, p2, p3 = ports

        chain = [("top", None, ["r1"]), ("r1", "top", ["r2"]), ("r2", "r1", ["r3"]),
                 ("r3", "r2", [])]
        for ident, source, replicas in chain:
            inst = self.describe(ident)
            self.assertEqual((inst.get("ReadReplicaSourceDBInstanceIdentifier"),
                              inst["ReadReplicaDBInstanceIdentifiers"]), (source, replicas))
            if source:
                self.assertEqual(inst["StatusInfos"], REPLICATING, ident)

        self.assertEqual(self.rows(p3), "1")
        self.sql(tport, "insert into t values (2, 'top, later')")
        for ident, port in (("r1", p1), ("r2", p2), ("r3", p3)):
            self.wait_rows(port, "1,2", what="a row of top on " + ident)
            self.assertReadOnly(port)

        # A fourth replica in the chain is one too many, even with backups on the third.
        self.enable_backups("r3")
        err = self.assertClientError("InvalidDBInstanceState", 400,
                                     self.rds.create_db_instance_read_replica,
                                     DBInstanceIdentifier="r4", SourceDBInstanceIdentifier="r3")
        self.assertNotEqual(err["Message"], NO_BACKUPS)
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="r4")
        self.assertEqual(self.describe("r3")["ReadReplicaDBInstanceIdentifiers"], [])

        # Promote the middle: r2 (and r3 below it) now follow r1 alone.
        self.promote("r1")
        self.assertStandalone("r1", "top")
        self.assertEqual(self.describe("r1")["ReadReplicaDBInstanceIdentifiers"], ["r2"])
        self.assertEqual(self.describe("top")["ReadReplicaDBInstanceIdentifiers"], [])
        self.assertEqual(self.describe("r2")["ReadReplicaSourceDBInstanceIdentifier"], "r1")
        self.assertEqual(self.describe("r3")["ReadReplicaSourceDBInstanceIdentifier"], "r2")
        self.sql(tport, "insert into t values (3, 'top, after the promotion')")
        self.sql(p1, "insert into t values (4, 'r1, promoted')")
        self.wait_rows(p2, "1,2,4", what="a row of the promoted r1 on r2")
        self.wait_rows(p3, "1,2,4", what="a row of the promoted r1 on r3")
        self.assertEqual(self.rows(p1), "1,2,4")
        for ident, port in (("r2", p2), ("r3", p3)):
            self.assertEqual(self.wait_replication_status(ident, "replicating"), REPLICATING)
            self.assertReadOnly(port)
        self.sql(p1, "insert into t values (5, 'r1 again')")
        self.wait_rows(p3, "1,2,4,5", what="a second row of r1 at the bottom")
        # A chain has room again below r3 (r1 is a source now, no longer a replica).
        self.make_replica("r4", "r3")
        self.wait_rows(self.port_of("r4"), "1,2,4,5", what="the rows of r1 on r4")


class ReplicaErrorsTest(ReplicaTestCase):
    """Every rule of RDS's read replicas answers RDS's error (code and HTTP status), and the
    refused request changes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        base = dict(Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername=MASTER_USER,
                    MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        cls.rds.create_db_instance(DBInstanceIdentifier="src", BackupRetentionPeriod=1, **base)
        cls.rds.create_db_instance(DBInstanceIdentifier="nobackups", BackupRetentionPeriod=0,
                                   **base)
        waiter = cls.rds.get_waiter("db_instance_available")
        for i in ("src", "nobackups"):
            waiter.wait(DBInstanceIdentifier=i, WaiterConfig=FAST)
        cls.rds.create_db_instance_read_replica(DBInstanceIdentifier="src-replica",
                                                SourceDBInstanceIdentifier="src")
        waiter.wait(DBInstanceIdentifier="src-replica", WaiterConfig=FAST)

    def create_replica(self, **kw):
        return self.rds.create_db_instance_read_replica(**kw)

    def assertUnchanged(self):
        insts = {i["DBInstanceIdentifier"]: i for i in
                 self.rds.describe_db_instances()["DBInstances"]}
        self.assertEqual(sorted(insts), ["nobackups", "src", "src-replica"])
        self.assertEqual({k: v["DBInstanceStatus"] for k, v in insts.items()},
                         dict.fromkeys(insts, "available"))
        self.assertEqual(insts["src"]["ReadReplicaDBInstanceIdentifiers"], ["src-replica"])
        self.assertEqual(insts["src"]["BackupRetentionPeriod"], 1)
        self.assertEqual(insts["src-replica"]["ReadReplicaSourceDBInstanceIdentifier"], "src")
        self.assertEqual(insts["nobackups"]["ReadReplicaDBInstanceIdentifiers"], [])

    def test_source_without_automated_backups(self):
        """A source needs automated backups."""
        err = self.assertClientError("InvalidDBInstanceState", 400, self.create_replica,
                                     DBInstanceIdentifier="bad",
                                     SourceDBInstanceIdentifier="nobackups")
        self.assertEqual(err["Message"], NO_BACKUPS)
        self.assertUnchanged()

    def test_unknown_source(self):
        """An unknown source is DBInstanceNotFound (404)."""
        self.assertClientError("DBInstanceNotFound", 404, self.create_replica,
                               DBInstanceIdentifier="bad", SourceDBInstanceIdentifier="nope")
        self.assertUnchanged()

    def test_identifier_taken(self):
        """A replica cannot take an existing instance's identifier (any case)."""
        for taken in ("nobackups", "src-replica", "SRC"):
            with self.subTest(taken=taken):
                self.assertClientError("DBInstanceAlreadyExists", 400, self.create_replica,
                                       DBInstanceIdentifier=taken, SourceDBInstanceIdentifier="src")
        self.assertUnchanged()

    def test_multi_az_replica(self):
        """A Multi-AZ replica cannot be put in a chosen zone (RDS's rule)."""
        self.assertClientError("InvalidParameterCombination", 400, self.create_replica,
                               DBInstanceIdentifier="bad", SourceDBInstanceIdentifier="src",
                               MultiAZ=True, AvailabilityZone="us-east-1b")
        self.assertUnchanged()

    def test_missing_source(self):
        """SourceDBInstanceIdentifier is required."""
        self.assertClientError("MissingParameter", 400, self.create_replica,
                               DBInstanceIdentifier="bad")
        self.assertUnchanged()

    def test_stop_a_replica(self):
        """A read replica cannot be stopped."""
        err = self.assertClientError("InvalidDBInstanceState", 400, self.rds.stop_db_instance,
                                     DBInstanceIdentifier="src-replica")
        self.assertEqual(err["Message"], "Cannot stop or start a Read-Replica instance")
        self.assertUnchanged()

    def test_stop_a_source_with_replicas(self):
        """A source with read replicas cannot be stopped."""
        err = self.assertClientError("InvalidDBInstanceState", 400, self.rds.stop_db_instance,
                                     DBInstanceIdentifier="src")
        self.assertTrue(err["Message"].startswith(
            "Cannot stop or start a DB instance that has read replicas"), err)
        self.assertUnchanged()

    def test_turn_off_backups_of_a_source(self):
        """A source with read replicas keeps its automated backups."""
        self.assertClientError("InvalidParameterCombination", 400, self.rds.modify_db_instance,
                               DBInstanceIdentifier="src", BackupRetentionPeriod=0,
                               ApplyImmediately=True)
        self.assertUnchanged()
        self.assertEqual(self.describe("src")["PendingModifiedValues"], {})

    def test_promote_what_is_not_a_replica(self):
        """Only a read replica can be promoted."""
        err = self.assertClientError("InvalidDBInstanceState", 400, self.rds.promote_read_replica,
                                     DBInstanceIdentifier="src")
        self.assertEqual(err["Message"], "DB Instance is not a read replica.")
        self.assertClientError("DBInstanceNotFound", 404, self.rds.promote_read_replica,
                               DBInstanceIdentifier="nope")
        self.assertUnchanged()

    def test_final_snapshot_of_a_replica(self):
        """A read replica has no final snapshot."""
        err = self.assertClientError("InvalidParameterCombination", 400,
                                     self.rds.delete_db_instance,
                                     DBInstanceIdentifier="src-replica",
                                     FinalDBSnapshotIdentifier="replica-final")
        self.assertEqual(err["Message"],
                         "FinalDBSnapshotIdentifier can not be specified when deleting a replica "
                         "instance")
        self.assertUnchanged()
        self.assertEqual(
            self.rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"], [])

    def test_password_of_a_replica(self):
        """A read replica's master password is its source's."""
        self.assertClientError("InvalidParameterCombination", 400, self.rds.modify_db_instance,
                               DBInstanceIdentifier="src-replica",
                               MasterUserPassword="another-pass", ApplyImmediately=True)
        self.assertUnchanged()
        port = self.port_of("src-replica")
        self.assertEqual(self.sql(port, "select 1", db="postgres"), "1")

    def test_replica_deletes_without_final_snapshot_options(self):
        """A replica is deleted without either final-snapshot option; its slot goes too."""
        sport = self.port_of("src")
        self.make_replica("short-lived", "src")
        self.assertEqual(len(self.slots_on(sport)), 2)
        r = self.rds.delete_db_instance(DBInstanceIdentifier="short-lived")["DBInstance"]
        self.assertEqual(r["DBInstanceIdentifier"], "short-lived")
        self.rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier="short-lived",
                                                        WaiterConfig=FAST)
        self.assertUnchanged()
        wait_until(lambda: len(self.slots_on(sport)) == 1, 10, 0.2,
                   "the slot of the deleted replica to be dropped")


class ReplicationSurvivesTest(ReplicaTestCase):
    """One source and its replica, put through reboots, a hung source and a killed localrds."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rds.create_db_instance(
            DBInstanceIdentifier="primary", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD, DBName="app",
            AllocatedStorage=20, BackupRetentionPeriod=1)
        waiter = cls.rds.get_waiter("db_instance_available")
        waiter.wait(DBInstanceIdentifier="primary", WaiterConfig=FAST)
        cls.rds.create_db_instance_read_replica(DBInstanceIdentifier="standby",
                                                SourceDBInstanceIdentifier="primary")
        waiter.wait(DBInstanceIdentifier="standby", WaiterConfig=FAST)

    def setUp(self):
        super().setUp()
        if not self.h.alive():  # a previous test failed while localrds was down
            self.h.restart()
            self.rds = self.h.client()
        self.wait_available("primary")
        self.wait_available("standby")
        self.wait_replication_status("standby", "replicating")
        self.pport, self.sport = self.port_of("primary"), self.port_of("standby")

    def new_table(self, name):
        """A fresh table on the source, once it is on the replica too."""
        self.sql(self.pport, "create table %s(id int primary key)" % name)
        self.wait_rows(self.sport, "", table=name, what="table %s on the replica" % name)

    def test_kill9_of_localrds_keeps_the_replica_streaming(self):
        """Servers and streaming outlive a killed localrds, which adopts them on restart."""
        self.new_table("through_kill")
        pids = {i: self.postmaster_pid(i) for i in ("primary", "standby")}
        stopped_before = len(self.stopped_events("standby"))
        self.sql(self.pport, "insert into through_kill values (1)")
        self.wait_rows(self.sport, "1", table="through_kill")

        self.h.kill9()
        # The servers run on without localrds, and so does the streaming.
        self.sql(self.pport, "insert into through_kill values (2)")
        self.wait_rows(self.sport, "1,2", table="through_kill",
                       what="a row inserted while localrds was down")

        self.h.restart()
        self.rds = self.h.client()
        rep = self.describe("standby")
        self.assertEqual((rep["DBInstanceStatus"], rep["ReadReplicaSourceDBInstanceIdentifier"],
                          rep["Endpoint"]["Port"]), ("available", "primary", self.sport))
        self.assertEqual(self.describe("primary")["ReadReplicaDBInstanceIdentifiers"],
                         ["standby"])
        self.sql(self.pport, "insert into through_kill values (3)")
        self.wait_rows(self.sport, "1,2,3", table="through_kill",
                       what="a row inserted after the restart")
        wait_until(lambda: self.details("standby")["replication"]["wal_receiver"] == "streaming",
                   10, 0.2, "the restarted localrds to see the replica streaming")
        self.assertEqual(self.status_infos("standby"), REPLICATING)
        self.assertReadOnly(self.sport, table="through_kill")
        # Adopted, not restarted; and replication never stopped.
        self.assertEqual({i: self.postmaster_pid(i) for i in pids}, pids)
        self.assertEqual(len(self.stopped_events("standby")), stopped_before,
                         self.events_of("standby"))

    def test_frozen_source_shows_an_error_until_thawed(self):
        """A hung source puts the replica in error (0045) until it answers again (0046)."""
        self.new_table("through_freeze")
        self.sql(self.pport, "insert into through_freeze values (1)")
        self.wait_rows(self.sport, "1", table="through_freeze")
        resumed_before = self.events_of("standby").count(RESUMED)
        stopped_before = len(self.stopped_events("standby"))

        status, body = self.h.control("POST", "/_localrds/instances/primary/freeze")
        self.assertEqual((status, body), (200, {"freeze": "primary"}))
        self.addCleanup(self.h.control, "POST", "/_localrds/instances/primary/thaw")
        infos = self.wait_replication_status("standby", "error")
        self.assertEqual(len(infos), 1, infos)
        self.assertEqual((infos[0]["StatusType"], infos[0]["Normal"]),
                         ("read replication", False))
        self.assertIn("primary", infos[0].get("Message", ""))
        # The replica itself stays available and readable.
        self.assertEqual(self.describe("standby")["DBInstanceStatus"], "available")
        self.assertEqual(self.rows(self.sport, "through_freeze"), "1")
        self.assertEqual(self.details("standby")["replication"]["status"], "error")
        self.assertEqual(self.details("standby")["replication"]["replica_lag_seconds"], -1)
        wait_until(lambda: len(self.stopped_events("standby")) == stopped_before + 1, 5, 0.2,
                   "RDS-EVENT-0045 on standby")
        described = self.described_events("standby")
        self.assertTrue(any(m.startswith(STOPPED_MSG) for m in described), described)

        status, body = self.h.control("POST", "/_localrds/instances/primary/thaw")
        self.assertEqual((status, body), (200, {"thaw": "primary"}))
        self.assertEqual(self.wait_replication_status("standby", "replicating"), REPLICATING)
        wait_until(lambda: self.events_of("standby").count(RESUMED) == resumed_before + 1, 5,
                   0.2, "RDS-EVENT-0046 on standby")
        got = self.events_of("standby")
        last_stopped = max(i for i, e in enumerate(got) if e[0] == STOPPED_ID)
        self.assertEqual(got[last_stopped + 1:].count(RESUMED), 1, got)
        self.sql(self.pport, "insert into through_freeze values (2)")
        self.wait_rows(self.sport, "1,2", table="through_freeze",
                       what="a row inserted after the thaw")

    def test_reboots_keep_replication(self):
        """Rebooting the source or the replica does not end replication."""
        self.new_table("through_reboot")
        for n, ident in enumerate(("primary", "standby"), start=1):
            with self.subTest(reboot=ident):
                r = self.rds.reboot_db_instance(DBInstanceIdentifier=ident)["DBInstance"]
                self.assertIn(r["DBInstanceStatus"], ("rebooting", "available"))
                self.wait_available(ident)
                self.sql(self.pport, "insert into through_reboot values (%d)" % n)
                self.wait_rows(self.sport, ",".join(str(i) for i in range(1, n + 1)),
                               table="through_reboot", what="a row after the reboot of " + ident)
                self.assertEqual(self.wait_replication_status("standby", "replicating"),
                                 REPLICATING)
                self.assertEqual(self.describe("standby")["ReadReplicaSourceDBInstanceIdentifier"],
                                 "primary")
                self.assertReadOnly(self.sport, table="through_reboot")

    def test_replica_lag_is_readable(self):
        """While the replica streams, its lag is a number >= 0 on /_localrds/instances."""
        self.new_table("lagging")
        # Sample the replication state of the replica while the source keeps committing, over
        # several of localrds' polls: whenever the replica streams, its lag is a number >= 0.
        samples, polls, n = [], set(), [0]

        def sampled_enough():
            n[0] += 1
            self.sql(self.pport, "insert into lagging values (%d)" % n[0])
            r = self.details("standby")["replication"]
            samples.append(r)
            polls.add(r.get("polled"))
            return len(polls - {None}) >= 8
        wait_until(sampled_enough, 30, 0.2, "eight polls of the replica's replication")
        streaming = [r for r in samples if r["wal_receiver"] == "streaming"]
        self.assertTrue(streaming, samples)
        for r in streaming:
            for key in ("replica_lag_seconds", "replay_lag_bytes"):
                value = r[key]
                self.assertTrue(isinstance(value, (int, float)) and not isinstance(value, bool)
                                and value >= 0,
                                "%s is %r while the replica streams: %r" % (key, value, r))
            self.assertEqual((r["source"], r["status"]), ("primary", "replicating"), r)
            self.assertTrue(r["slot"].startswith("localrds_"), r)
        self.wait_rows(self.sport, ",".join(str(i) for i in range(1, n[0] + 1)), table="lagging")
        self.assertIn((streaming[-1]["slot"], "t"), self.slots_on(self.pport))
        src = self.details("primary")
        self.assertEqual(src["read_replicas"], ["standby"])
        self.assertNotIn("replication", src)
        self.assertEqual(self.details("standby")["read_replicas"], [])


class DeleteSourceTest(ReplicaTestCase):
    """Deleting a source promotes its replicas to standalone instances."""

    def test_replicas_of_a_deleted_source_are_promoted(self):
        """Both replicas of a deleted source become writable standalone instances with its data."""
        src = self.make_source("doomed")
        sport = src["Endpoint"]["Port"]
        self.sql(sport, "insert into t values (1, 'one')")
        ports = {i: self.make_replica(i, "doomed")["Endpoint"]["Port"]
                 for i in ("orphan-a", "orphan-b")}
        self.assertEqual(sorted(self.describe("doomed")["ReadReplicaDBInstanceIdentifiers"]),
                         ["orphan-a", "orphan-b"])
        self.sql(sport, "insert into t values (2, 'two')")
        for ident, port in ports.items():
            self.wait_rows(port, "1,2", what="the last row of doomed on " + ident)

        self.rds.delete_db_instance(DBInstanceIdentifier="doomed", SkipFinalSnapshot=True)
        self.rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier="doomed",
                                                        WaiterConfig=FAST)
        for ident, port in ports.items():
            with self.subTest(replica=ident):
                seen = []

                def standalone():
                    inst = self.describe(ident)
                    if not seen or seen[-1] != inst["DBInstanceStatus"]:
                        seen.append(inst["DBInstanceStatus"])
                    return (inst["DBInstanceStatus"] == "available"
                            and "ReadReplicaSourceDBInstanceIdentifier" not in inst
                            and "StatusInfos" not in inst)
                try:
                    wait_until(standalone, 20, 0.1, "%s to be promoted" % ident)
                except AssertionError as e:
                    self.fail("%s was not promoted within 20 s of its source's deletion "
                              "(statuses seen: %s): %s" % (ident, seen, e))
                self.assertStandalone(ident)
                self.assertEqual(self.rows(port), "1,2")
                self.sql(port, "insert into t values (3, 'mine')")
                self.assertEqual(self.rows(port), "1,2,3")
                self.assertEqual(self.sql(port, "select pg_is_in_recovery()"), "f")
                self.assertEventsInclude(ident, [TERMINATED])
                self.assertEqual(len(self.promoted_events(ident)), 1, self.events_of(ident))
        # Two independent instances now.
        self.assertEqual(self.rows(ports["orphan-b"]), "1,2,3")
        self.sql(ports["orphan-a"], "insert into t values (4, 'only a')")
        self.assertEqual(self.rows(ports["orphan-b"]), "1,2,3")


if __name__ == "__main__":
    unittest.main()
