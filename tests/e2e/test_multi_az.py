"""Multi-AZ as a user lives it: CreateDBInstance MultiAZ=true gives an instance with a hidden hot
standby kept in sync (synchronous replication), RebootDBInstance ForceFailover=true and the health
monitor (a killed or hung primary) fail over to it on the same endpoint without losing a commit,
ModifyDBInstance turns Multi-AZ on and off, restores and read replicas can be Multi-AZ, RDS's
errors, and a Multi-AZ instance survives a killed localrds.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_multi_az
"""

import contextlib
import datetime
import os
import signal
import subprocess
import threading
import time
import unittest

from harness import (MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, pg_env, pid_alive,
                     port_accepts, psql, wait_until)

# boto3 waiters poll every 30 s by default; localrds answers mutations when they are done.
FAST = {"Delay": 1, "MaxAttempts": 60}
# Generous deadlines (two cores shared with other work): a failover, a standby build, a write
# through the endpoint after the primary died. Nothing here measures how fast they are.
FAILOVER_WITHIN = 60.0
STANDBY_READY_WITHIN = 90.0
# A running standby reconnects to its primary within a fraction of a second; and a commit that
# has not returned after this long waits for a synchronous standby that is not coming.
IN_SYNC_WITHIN = 20.0
COMMIT_WITHIN = 20.0
# The superuser of every localrds server: trusted on the Unix socket only.
RDSADMIN = "rdsadmin"
STANDBY_NAME = "localrds_standby"
READ_ONLY = "cannot execute INSERT in a read-only transaction"
AZ_WITH_MULTI_AZ = "Requesting a specific availability zone is not valid for Multi-AZ instances."

FAILOVER_STARTED = ("RDS-EVENT-0013", "Multi-AZ instance failover started.")
FAILOVER_TO_STANDBY = ("RDS-EVENT-0015", "Multi-AZ failover to standby complete - DNS "
                                         "propagation may take a few minutes.")
FAILOVER_COMPLETED = ("RDS-EVENT-0049", "Multi-AZ instance failover completed.")
RECOVERY_STARTED = ("RDS-EVENT-0052", "Multi-AZ instance recovery started.")
RECOVERY_COMPLETED = ("RDS-EVENT-0053", "Multi-AZ instance recovery completed. Pending failover "
                                        "or activation.")
FAILOVER = [FAILOVER_STARTED, FAILOVER_TO_STANDBY, FAILOVER_COMPLETED, RECOVERY_STARTED,
            RECOVERY_COMPLETED]
SHUTDOWN_ID, RESTARTED_ID = "RDS-EVENT-0004", "RDS-EVENT-0006"
TO_MULTI_AZ = [("RDS-EVENT-0024", "Applying modification to convert to a Multi-AZ DB instance."),
               ("RDS-EVENT-0025", "Finished applying modification to convert to a Multi-AZ DB "
                                  "instance.")]
TO_SINGLE_AZ = [("RDS-EVENT-0030", "Applying modification to convert to a standard (Single-AZ) "
                                   "DB instance."),
                ("RDS-EVENT-0029", "Finished applying modification to convert to a standard "
                                   "(Single-AZ) DB instance.")]


US_EAST_1_ZONES = "abcdef"


def next_zone(zone):
    """The standby's zone: the region's next one, us-east-1a -> b -> ... -> f -> a."""
    letters = US_EAST_1_ZONES
    return zone[:-1] + letters[(letters.index(zone[-1]) + 1) % len(letters)]


def psql_socket(socket_dir, port, db, sql, user=RDSADMIN, timeout=30):
    """psql over a Unix socket (the only way to reach a Multi-AZ standby), as the superuser."""
    return psql(port, user, None, db, sql, timeout=timeout, host=socket_dir)


class MultiAzTestCase(LocalrdsTestCase):
    """Helpers shared by the Multi-AZ suites."""

    # -- instances --

    def instance_port(self):
        """A port of this server's range that nothing listens on and no instance has."""
        taken = {i["Endpoint"]["Port"] for i in self.rds.describe_db_instances()["DBInstances"]
                 if i.get("Endpoint")}
        for port in range(self.h.port_hi, self.h.port_lo, -1):
            if port not in taken and not port_accepts(port, 0.2):
                return port
        self.fail("no free port in %d-%d" % (self.h.port_lo, self.h.port_hi))

    def make_multi_az(self, ident, db="app", rows=0, **kw):
        """A Multi-AZ instance with automated backups, database `db` and table t(id, v) holding
        `rows` rows; returns it described once its standby is ready."""
        args = dict(DBName=db, BackupRetentionPeriod=1, MultiAZ=True)
        args.update(kw)
        inst = self.create(ident, **args)
        self.assertTrue(inst["MultiAZ"], inst)
        self.sql(inst["Endpoint"]["Port"], "create table t(id int primary key, v text)", db=db)
        if rows:
            self.insert(inst["Endpoint"]["Port"], 1, rows, db=db)
        self.wait_standby_ready(ident)
        return self.describe(ident)

    def port_of(self, ident):
        return self.describe(ident)["Endpoint"]["Port"]

    # -- SQL --

    def sql(self, port, statement, db="app"):
        """psql_ok, except that a statement still running after COMMIT_WITHIN fails the test
        (a commit waiting for a synchronous standby that does not stream)."""
        try:
            rc, out, err = psql(port, MASTER_USER, MASTER_PASSWORD, db, statement,
                                timeout=COMMIT_WITHIN)
        except subprocess.TimeoutExpired:
            self.fail("%r on port %d did not return within %ss (a commit waiting for its "
                      "synchronous standby?)" % (statement, port, COMMIT_WITHIN))
        self.assertEqual(rc, 0, "psql on port %s failed: %s" % (port, err))
        return out

    def insert(self, port, first, last, db="app"):
        self.sql(port, "insert into t select g, 'row ' || g from generate_series(%d, %d) g"
                       % (first, last), db=db)

    def ids(self, port, table="t", db="app"):
        """The ids of `table`, ascending, as one comma-separated string."""
        return self.sql(port, "select coalesce(string_agg(id::text, ',' order by id), '') "
                              "from %s" % table, db=db)

    def assertWritable(self, port, row_id, db="app"):
        """An INSERT through the endpoint commits on a server that is not in recovery."""
        self.sql(port, "insert into t values (%d, 'written')" % row_id, db=db)
        self.assertEqual(self.sql(port, "select pg_is_in_recovery()", db=db), "f")
        self.assertEqual(self.sql(port, "select count(*) from t where id = %d" % row_id, db=db),
                         "1")

    def first_write_succeeds(self, port, row_id, db="app", timeout=FAILOVER_WITHIN):
        """Retries one INSERT through the endpoint until it commits (the primary is being
        replaced); returns nothing, fails naming the last error."""
        errors = []

        def inserted():
            rc, _, err = psql(port, MASTER_USER, MASTER_PASSWORD, db,
                              "insert into t values (%d, 'after the failover')" % row_id,
                              timeout=COMMIT_WITHIN)
            if rc != 0:
                errors.append(err)
            return rc == 0
        try:
            wait_until(inserted, timeout, 0.1, "an INSERT through port %d" % port)
        except AssertionError:
            self.fail("no INSERT through port %d committed within %ss; last error %r"
                      % (port, timeout, errors[-1] if errors else None))

    def open_session(self, port, db="app"):
        """A psql session over TCP that stays connected (running pg_sleep(600)) until its
        server goes away; returns the Popen once the server runs its query. Ended after the
        test."""
        sql = "select pg_sleep(600)"
        cmd = ["psql", "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", "127.0.0.1", "-p", str(port), "-U", MASTER_USER, "-d", db, "-c", sql]
        session = subprocess.Popen(cmd, env=pg_env(MASTER_PASSWORD), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def end():
            if session.poll() is None:
                session.kill()
            session.communicate(timeout=30)
        self.addCleanup(end)
        wait_until(lambda: self.sql(port, "select count(*) from pg_stat_activity "
                                          "where query = '%s'" % sql, db=db) == "1",
                   10, 0.1, "the session's query to run")
        return session

    def assertSessionEnds(self, session):
        """A session of the old primary ends (with an error) once the primary is replaced."""
        try:
            _, err = session.communicate(timeout=FAILOVER_WITHIN)
        except subprocess.TimeoutExpired:
            self.fail("a session of the old primary still runs after the failover")
        self.assertNotEqual(session.returncode, 0,
                            "the session's pg_sleep(600) ended normally: %r" % err)

    # -- /_localrds/instances/<id> --

    def details(self, ident):
        status, body = self.h.control("GET", "/_localrds/instances/%s" % ident)
        self.assertEqual(status, 200, body)
        return body

    def standby(self, ident):
        return self.details(ident)["multi_az"]["standby"]

    def wait_standby_ready(self, ident, timeout=STANDBY_READY_WITHIN, not_pid=None):
        """Until the standby is `ready` and running (with a pid other than `not_pid`); returns
        the details."""
        seen = []

        def ready():
            d = self.details(ident)
            seen.append(d.get("multi_az"))
            sb = (d.get("multi_az") or {}).get("standby") or {}
            return (sb.get("state") == "ready" and sb.get("running") and sb.get("pid")
                    and sb["pid"] != not_pid and d)
        try:
            return wait_until(ready, timeout, 0.2, "the standby of %s to be ready" % ident)
        except AssertionError:
            self.fail("the standby of %s was not ready within %ss: %r"
                      % (ident, timeout, seen[-1] if seen else None))

    def socket_dir(self, port, db="app"):
        """The directory of the servers' Unix sockets, as the primary reports it."""
        d = self.sql(port, "show unix_socket_directories", db=db).split(",")[0].strip()
        self.assertTrue(d.startswith("/tmp/localrds-"), d)
        return d

    def standby_sql(self, ident, statement, db="app"):
        """Runs SQL on the hidden standby over its Unix socket, as rdsadmin; returns (rc, out,
        err)."""
        sock = self.socket_dir(self.port_of(ident), db)
        return psql_socket(sock, self.standby(ident)["socket_port"], db, statement)

    def assertHiddenReadOnlyStandby(self, ident, want_ids, db="app"):
        """The standby has no TCP listener, answers on its socket, is in recovery, holds
        `want_ids` and refuses writes."""
        d = self.details(ident)
        sb = d["multi_az"]["standby"]
        self.assertEqual((sb["state"], sb["running"], sb["frozen"], sb["tcp"]),
                         ("ready", True, False, False), sb)
        self.assertNotEqual(sb["socket_port"], d["port"])
        self.assertFalse(port_accepts(sb["socket_port"]),
                         "the standby's port %d accepts TCP connections" % sb["socket_port"])
        sock = self.socket_dir(d["port"], db)
        self.assertTrue(os.path.exists(os.path.join(sock, ".s.PGSQL.%d" % sb["socket_port"])))
        rc, out, err = psql_socket(sock, sb["socket_port"], db, "select pg_is_in_recovery()")
        self.assertEqual((rc, out), (0, "t"), err)
        seen = []

        def replayed():
            rc, out, err = psql_socket(sock, sb["socket_port"], db,
                                       "select coalesce(string_agg(id::text, ',' order by id), "
                                       "'') from t")
            seen.append((rc, out, err))
            return rc == 0 and out == want_ids
        try:
            wait_until(replayed, 10, 0.1, "ids %s on the standby" % want_ids)
        except AssertionError:
            self.fail("the standby of %s shows %r, not ids %r" % (ident, seen[-1], want_ids))
        rc, _, err = psql_socket(sock, sb["socket_port"], db, "insert into t values (-1, 'no')")
        self.assertNotEqual(rc, 0, "an INSERT on the Multi-AZ standby succeeded")
        self.assertIn(READ_ONLY, err)

    def assertInSync(self, port, db="app", sync_state="sync"):
        """pg_stat_replication of the primary shows its standby streaming in `sync_state` (the
        standby may still be reconnecting, e.g. after the primary restarted)."""
        seen = []

        def in_sync():
            seen.append(self.sql(port, "select application_name, sync_state "
                                       "from pg_stat_replication", db=db))
            return seen[-1] == "%s|%s" % (STANDBY_NAME, sync_state)
        try:
            wait_until(in_sync, IN_SYNC_WITHIN, 0.1, "the standby to be in sync")
        except AssertionError:
            self.fail("pg_stat_replication on port %d shows %r, not (%r, %r), within %ss"
                      % (port, seen[-1] if seen else None, STANDBY_NAME, sync_state,
                         IN_SYNC_WITHIN))

    # -- failovers --

    def wait_swapped(self, ident, before, timeout=FAILOVER_WITHIN):
        """Until the instance is `available` in the zone its standby had (`before` is the
        described instance before the failover); returns it described."""
        seen = []

        def swapped():
            inst = self.describe(ident)
            seen.append((inst["DBInstanceStatus"], inst.get("AvailabilityZone"),
                         inst.get("SecondaryAvailabilityZone")))
            return (inst["DBInstanceStatus"] == "available"
                    and inst.get("AvailabilityZone") == before["SecondaryAvailabilityZone"]
                    and inst)
        try:
            return wait_until(swapped, timeout, 0.1, "%s to fail over" % ident)
        except AssertionError:
            self.fail("%s did not fail over within %ss (status, AZ, secondary AZ): %r"
                      % (ident, timeout, seen[-1] if seen else None))

    def assertSwapped(self, before, after):
        self.assertEqual((after["MultiAZ"], after["AvailabilityZone"],
                          after["SecondaryAvailabilityZone"]),
                         (True, before["SecondaryAvailabilityZone"], before["AvailabilityZone"]))
        self.assertEqual(after["Endpoint"], before["Endpoint"])

    def assertFlipped(self, ident, old_details):
        """The other host is primary now; the old primary's postmaster is gone; a new standby
        (another pid) is ready. Returns the new details."""
        old_host = old_details["multi_az"]["primary_host"]
        old_pid = old_details["server"]["pid"]
        wait_until(lambda: not pid_alive(old_pid), 30, 0.1,
                   "the old primary's postmaster %d to be gone" % old_pid)
        d = self.wait_standby_ready(ident, not_pid=old_details["multi_az"]["standby"]["pid"])
        m = d["multi_az"]
        self.assertEqual((m["primary_host"], m["standby_host"]),
                         ({"a": "b", "b": "a"}[old_host], old_host), m)
        self.assertEqual(d["port"], old_details["port"])
        self.assertTrue(d["server"]["running"], d)
        self.assertNotEqual(d["server"]["pid"], old_pid)
        # The promoted standby serves now; the new standby was built where the primary was.
        self.assertEqual(d["server"]["pgdata"], old_details["multi_az"]["standby"]["pgdata"])
        self.assertEqual(m["standby"]["pgdata"], old_details["server"]["pgdata"])
        self.assertNotIn(m["standby"]["pid"], (old_pid, old_details["multi_az"]["standby"]["pid"]))
        inst = self.describe(ident)
        self.assertEqual((m["availability_zone"], m["secondary_availability_zone"]),
                         (inst["AvailabilityZone"], inst["SecondaryAvailabilityZone"]))
        return d

    # -- events --

    def events_of(self, ident):
        """(event_id, message) of every event of the DB instance, oldest first."""
        return [(e["event_id"], e["message"]) for e in self.h.events()
                if e["source_identifier"] == ident and e["source_type"] == "db-instance"]

    def described_events(self, ident):
        return self.rds.describe_events(SourceIdentifier=ident, SourceType="db-instance",
                                        Duration=60)["Events"]

    def assertInOrder(self, got, expected):
        """`expected` appears in `got` as a subsequence (in that order)."""
        i = 0
        for item in got:
            if i < len(expected) and item == expected[i]:
                i += 1
        self.assertEqual(i, len(expected), "%r does not hold %r in that order" % (got, expected))

    def wait_events_after(self, ident, since, expected, timeout=30):
        """Until the events of `ident` from index `since` on hold `expected` in that order;
        returns them."""
        def there():
            got = self.events_of(ident)[since:]
            it = iter(got)
            return all(e in it for e in expected) and got
        try:
            return wait_until(there, timeout, 0.2, "events %r of %s" % (expected, ident))
        except AssertionError:
            self.fail("events of %s since #%d: %r, expected %r in that order"
                      % (ident, since, self.events_of(ident)[since:], expected))

    def assertFailoverEvents(self, ident, since, forced):
        """A failover's story in the events after index `since`, by id and by DescribeEvents."""
        got = self.wait_events_after(ident, since, FAILOVER)
        self.assertEqual([e for e in got if e in FAILOVER], FAILOVER, got)
        ids = [e[0] for e in got]
        if forced:
            self.assertIn(SHUTDOWN_ID, ids)
            self.assertIn(RESTARTED_ID, ids)
        else:
            self.assertNotIn(SHUTDOWN_ID, ids)
            self.assertNotIn(RESTARTED_ID, ids)
        described = self.described_events(ident)
        for e in described:
            self.assertTrue(e.get("EventCategories"), e)
        messages = [e["Message"] for e in described]
        self.assertInOrder(messages, [m for _, m in FAILOVER])
        for e in described:
            if e["Message"] in dict(FAILOVER).values():
                self.assertEqual(e["EventCategories"], ["failover"], e)
                self.assertEqual(e["SourceIdentifier"], ident)
        return got


class MultiAzStoryTest(MultiAzTestCase):
    """The user's story, with boto3 and with the AWS CLI: a Multi-AZ instance, its hidden standby
    in sync, and a forced failover that keeps the endpoint and every row."""

    def test_user_story(self):
        """Create Multi-AZ, write, see the standby hidden and in sync, force a failover."""
        port = self.instance_port()
        created = self.rds.create_db_instance(
            DBInstanceIdentifier="test", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20,
            DBName="test", Port=port, BackupRetentionPeriod=1, MultiAZ=True)["DBInstance"]
        self.addCleanup(self._delete_quietly, created["DbiResourceId"])
        self.assertEqual((created["DBInstanceIdentifier"], created["MultiAZ"]), ("test", True))
        self.assertIn(created["DBInstanceStatus"], ("creating", "available"))
        self.wait_available("test")
        inst = self.describe("test")
        self.assertEqual((inst["DBInstanceStatus"], inst["MultiAZ"], inst["Endpoint"]["Address"],
                          inst["Endpoint"]["Port"]), ("available", True, "127.0.0.1", port))
        az = inst["AvailabilityZone"]
        self.assertRegex(az, r"^us-east-1[abc]$")
        self.assertEqual(inst["SecondaryAvailabilityZone"], next_zone(az))
        self.assertEqual(inst["PendingModifiedValues"], {})

        self.sql(port, "create table t(id int primary key, v text)", db="test")
        self.insert(port, 1, 100, db="test")
        all_ids = ",".join(str(i) for i in range(1, 101))

        d = self.wait_standby_ready("test")
        self.assertEqual(d["port"], port)
        self.assertEqual(d["multi_az"]["primary_host"], "a")
        self.assertEqual(d["multi_az"]["standby_host"], "b")
        self.assertEqual((d["multi_az"]["availability_zone"],
                          d["multi_az"]["secondary_availability_zone"]),
                         (az, next_zone(az)))
        self.assertTrue(d["server"]["running"])
        self.assertInSync(port, db="test")
        self.assertHiddenReadOnlyStandby("test", all_ids, db="test")
        # A commit returns only once the standby has it.
        self.sql(port, "insert into t values (101, 'synchronous')", db="test")
        rc, out, err = self.standby_sql("test", "select v from t where id = 101", db="test")
        self.assertEqual((rc, out), (0, "synchronous"), err)
        all_ids += ",101"

        # A session that is connected when the failover comes.
        session = self.open_session(port, db="test")

        since = len(self.events_of("test"))
        r = self.rds.reboot_db_instance(DBInstanceIdentifier="test",
                                        ForceFailover=True)["DBInstance"]
        self.assertEqual((r["DBInstanceIdentifier"], r["DBInstanceStatus"]),
                         ("test", "rebooting"))
        self.wait_available("test")
        after = self.wait_swapped("test", inst)
        self.assertSwapped(inst, after)

        # The same endpoint reaches the new, writable primary with every row.
        self.assertEqual(self.ids(port, db="test"), all_ids)
        self.assertWritable(port, 102, db="test")
        self.assertEqual(self.ids(port, db="test"), all_ids + ",102")
        self.assertSessionEnds(session)

        d2 = self.assertFlipped("test", d)
        self.assertEqual(d2["multi_az"]["primary_host"], "b")
        self.assertInSync(port, db="test")
        self.assertHiddenReadOnlyStandby("test", all_ids + ",102", db="test")
        self.assertFailoverEvents("test", since, forced=True)

    def cli(self, *args, expect_ok=True):
        r = self.h.aws(*args)
        if expect_ok:
            self.assertEqual(r.rc, 0, r)
        return r

    def cli_query(self, ident, query):
        return self.cli("rds", "describe-db-instances", "--db-instance-identifier", ident,
                        "--query", query).json

    def test_user_story_with_the_cli(self):
        """The same story with the AWS CLI: --multi-az, --force-failover and the waiter."""
        port = self.instance_port()
        r = self.cli("rds", "create-db-instance", "--db-instance-identifier", "climaz",
                     "--engine", "postgres", "--db-instance-class", "db.t3.micro",
                     "--master-username", MASTER_USER, "--master-user-password", MASTER_PASSWORD,
                     "--db-name", "test", "--allocated-storage", "20", "--port", str(port),
                     "--backup-retention-period", "1", "--multi-az")
        created = r.json["DBInstance"]
        self.addCleanup(self._delete_quietly, created["DbiResourceId"])
        self.assertEqual((created["DBInstanceIdentifier"], created["MultiAZ"]), ("climaz", True))
        self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "climaz")
        before = self.cli_query("climaz", "DBInstances[0].[DBInstanceStatus, MultiAZ, "
                                          "AvailabilityZone, SecondaryAvailabilityZone, "
                                          "Endpoint.Address, Endpoint.Port]")
        self.assertEqual(before[0:2], ["available", True])
        self.assertEqual(before[3], next_zone(before[2]))
        self.assertEqual(before[4:], ["127.0.0.1", port])

        self.sql(port, "create table t(id int primary key, v text)", db="test")
        self.insert(port, 1, 10, db="test")
        self.wait_standby_ready("climaz")
        self.assertInSync(port, db="test")
        self.assertHiddenReadOnlyStandby("climaz", ",".join(str(i) for i in range(1, 11)),
                                         db="test")

        r = self.cli("rds", "reboot-db-instance", "--db-instance-identifier", "climaz",
                     "--force-failover")
        self.assertEqual(r.json["DBInstance"]["DBInstanceStatus"], "rebooting")
        self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "climaz")
        after = self.cli_query("climaz", "DBInstances[0].[DBInstanceStatus, MultiAZ, "
                                         "AvailabilityZone, SecondaryAvailabilityZone, "
                                         "Endpoint.Address, Endpoint.Port]")
        self.assertEqual(after, ["available", True, before[3], before[2], "127.0.0.1", port])
        self.assertEqual(self.ids(port, db="test"), ",".join(str(i) for i in range(1, 11)))
        self.assertWritable(port, 11, db="test")

        r = self.cli("rds", "describe-events", "--source-type", "db-instance",
                     "--source-identifier", "climaz", "--duration", "60",
                     "--query", "Events[].Message")
        self.assertInOrder(r.json, [FAILOVER_STARTED[1], FAILOVER_TO_STANDBY[1],
                                    FAILOVER_COMPLETED[1]])
        self.wait_standby_ready("climaz")
        self.assertInSync(port, db="test")


class AutomaticFailoverTest(MultiAzTestCase):
    """The health monitor fails over by itself when the primary is killed or hangs."""

    def kill_primary(self, d):
        os.kill(d["server"]["pid"], signal.SIGKILL)

    def test_sigkill_of_the_primary(self):
        """kill -9 of the primary's postmaster: the endpoint takes writes again, on the other host."""
        inst = self.make_multi_az("killed", rows=50)
        port = inst["Endpoint"]["Port"]
        d = self.details("killed")
        since = len(self.events_of("killed"))
        session = self.open_session(port)

        # The status stays `available` throughout: nobody asked for anything.
        statuses, stop = set(), threading.Event()

        def sample():
            while not stop.is_set():
                with contextlib.suppress(Exception):
                    statuses.add(rds.describe_db_instances(
                        DBInstanceIdentifier="killed")["DBInstances"][0]["DBInstanceStatus"])
                time.sleep(0.05)
        rds = self.h.client()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            wait_until(lambda: statuses, 10, 0.05, "a first status sample")
            self.kill_primary(d)
            self.first_write_succeeds(port, 51)
            self.wait_swapped("killed", inst)
        finally:
            stop.set()
            sampler.join(30)
        self.assertEqual(statuses, {"available"})
        after = self.wait_swapped("killed", inst)
        self.assertSwapped(inst, after)
        self.assertEqual(after["DBInstanceStatus"], "available")
        self.assertEqual(self.ids(port), ",".join(str(i) for i in range(1, 52)))
        self.assertEqual(self.sql(port, "select pg_is_in_recovery()"), "f")
        self.assertSessionEnds(session)
        self.assertFlipped("killed", d)
        self.assertInSync(port)
        self.assertFailoverEvents("killed", since, forced=False)
        self.assertEqual(self.status("killed"), "available")

    def test_crash_control_fails_over(self):
        """POST /_localrds/instances/<id>/crash fails a Multi-AZ instance over, twice in a row."""
        inst = self.make_multi_az("drilled", rows=5)
        port = inst["Endpoint"]["Port"]
        for n in (1, 2):
            with self.subTest(crash=n):
                before = self.describe("drilled")
                d = self.wait_standby_ready("drilled")
                since = len(self.events_of("drilled"))
                status, body = self.h.crash_instance("drilled")
                self.assertEqual(status, 200, body)
                self.first_write_succeeds(port, 100 + n)
                self.assertSwapped(before, self.wait_swapped("drilled", before))
                self.assertFlipped("drilled", d)
                self.assertFailoverEvents("drilled", since, forced=False)
        self.assertEqual(self.describe("drilled")["AvailabilityZone"], inst["AvailabilityZone"])
        self.assertEqual(self.ids(port), "1,2,3,4,5,101,102")
        self.assertInSync(port)

    def test_freeze_then_thaw(self):
        """A hung primary is fenced (SIGKILLed) and replaced; thawed, it never writes again."""
        inst = self.make_multi_az("frozen", rows=20)
        port = inst["Endpoint"]["Port"]
        d = self.details("frozen")
        old_pid = d["server"]["pid"]
        since = len(self.events_of("frozen"))

        status, body = self.h.control("POST", "/_localrds/instances/frozen/freeze")
        self.assertEqual((status, body), (200, {"freeze": "frozen"}))
        self.addCleanup(self.h.control, "POST", "/_localrds/instances/frozen/thaw")
        after = self.wait_swapped("frozen", inst)
        self.assertSwapped(inst, after)
        self.assertEqual(after["DBInstanceStatus"], "available")
        # Fenced: the frozen postmaster was killed.
        wait_until(lambda: not pid_alive(old_pid), 30, 0.1,
                   "the frozen primary %d to be killed" % old_pid)

        status, body = self.h.control("POST", "/_localrds/instances/frozen/thaw")
        self.assertEqual(status, 200, body)
        self.assertFalse(pid_alive(old_pid), "the frozen primary lives after the thaw")
        self.first_write_succeeds(port, 21)
        self.assertEqual(self.ids(port), ",".join(str(i) for i in range(1, 22)))
        d2 = self.assertFlipped("frozen", d)
        self.assertFalse(d2["server"]["frozen"], d2)
        self.assertNotEqual(d2["server"]["pid"], old_pid)
        # The row written after the thaw is on the new primary's lineage: its new standby (built
        # from it) has it too, and no postmaster of the old primary is around.
        self.assertInSync(port)
        self.assertHiddenReadOnlyStandby("frozen", ",".join(str(i) for i in range(1, 22)))
        self.assertFalse(pid_alive(old_pid))
        self.assertFailoverEvents("frozen", since, forced=False)

    def test_no_acknowledged_commit_is_lost(self):
        """A writer commits numbered rows while the primary is killed (3 times): every row whose
        INSERT was acknowledged is there afterwards."""
        inst = self.make_multi_az("writer")
        port = inst["Endpoint"]["Port"]
        self.sql(port, "create table w(n int primary key)")
        for round_ in (1, 2, 3):
            with self.subTest(round=round_):
                self._writer_round(round_, port)

    def _writer_round(self, round_, port):
        before = self.describe("writer")
        d = self.wait_standby_ready("writer")
        since = len(self.events_of("writer"))
        acked, failures, crashes = [], [], []
        stop = threading.Event()
        base = round_ * 1000000

        def writer():
            n = base
            while not stop.is_set():
                n += 1
                try:
                    rc, out, err = psql(port, MASTER_USER, MASTER_PASSWORD, "app",
                                        "insert into w values (%d) returning n" % n,
                                        timeout=COMMIT_WITHIN)
                except Exception as e:  # noqa: BLE001 - a hung commit is a failure we report
                    crashes.append(repr(e))
                    continue
                if rc == 0 and out == str(n):
                    acked.append(n)
                else:
                    failures.append(err)
                    time.sleep(0.02)
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        try:
            wait_until(lambda: len(acked) >= 20, 60, 0.05, "20 rows before the kill")
            self.kill_primary(d)
            at_kill = len(acked)
            after = self.wait_swapped("writer", before)
            wait_until(lambda: len(acked) >= at_kill + 20, FAILOVER_WITHIN, 0.05,
                       "20 rows acknowledged after the kill")
        finally:
            stop.set()
            t.join(60)
        self.assertFalse(t.is_alive(), "the writer hangs")
        self.assertEqual(crashes, [], "psql hung (a commit waited for a standby?)")
        self.assertSwapped(before, after)
        present = {int(x) for x in self.sql(
            port, "select n from w where n > %d and n < %d" % (base, base + 1000000)).split()}
        lost = sorted(set(acked) - present)
        self.assertEqual(lost, [], "acknowledged commits lost: %d of %d (%d failures, e.g. %r)"
                         % (len(lost), len(acked), len(failures), failures[:3]))
        self.assertFlipped("writer", d)
        self.assertFailoverEvents("writer", since, forced=False)


class ModifyMultiAzTest(MultiAzTestCase):
    """ModifyDBInstance MultiAZ on and off."""

    def test_convert_to_multi_az_and_back(self):
        """MultiAZ=true builds a standby in sync; MultiAZ=false removes it and writes go on."""
        inst = self.create("convert", DBName="app", BackupRetentionPeriod=1)
        port = inst["Endpoint"]["Port"]
        self.assertFalse(inst["MultiAZ"])
        self.assertNotIn("SecondaryAvailabilityZone", inst)
        self.assertNotIn("multi_az", self.details("convert"))
        self.sql(port, "create table t(id int primary key, v text)")
        self.insert(port, 1, 10)
        since = len(self.events_of("convert"))

        r = self.rds.modify_db_instance(DBInstanceIdentifier="convert", MultiAZ=True,
                                        ApplyImmediately=True)["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("modifying", "available"))
        self.wait_available("convert")
        on = self.describe("convert")
        self.assertEqual((on["MultiAZ"], on["AvailabilityZone"], on["Endpoint"]),
                         (True, inst["AvailabilityZone"], inst["Endpoint"]))
        self.assertEqual(on["SecondaryAvailabilityZone"], next_zone(inst["AvailabilityZone"]))
        self.assertEqual(on["PendingModifiedValues"], {})
        self.wait_standby_ready("convert")
        self.assertInSync(port)
        self.assertHiddenReadOnlyStandby("convert", ",".join(str(i) for i in range(1, 11)))
        self.wait_events_after("convert", since, TO_MULTI_AZ)
        self.assertInOrder([e["Message"] for e in self.described_events("convert")],
                           [m for _, m in TO_MULTI_AZ])
        # It fails over like any Multi-AZ instance.
        d = self.details("convert")
        self.rds.reboot_db_instance(DBInstanceIdentifier="convert", ForceFailover=True)
        self.wait_available("convert")
        self.assertSwapped(on, self.wait_swapped("convert", on))
        self.assertFlipped("convert", d)
        self.insert(port, 11, 12)

        standby_pid = self.standby("convert")["pid"]
        since = len(self.events_of("convert"))
        r = self.rds.modify_db_instance(DBInstanceIdentifier="convert", MultiAZ=False,
                                        ApplyImmediately=True)["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("modifying", "available"))
        self.wait_available("convert")
        off = self.describe("convert")
        self.assertFalse(off["MultiAZ"])
        self.assertNotIn("SecondaryAvailabilityZone", off)
        self.assertEqual(off["Endpoint"], inst["Endpoint"])
        self.assertEqual(off["PendingModifiedValues"], {})
        self.assertNotIn("multi_az", self.details("convert"))
        wait_until(lambda: not pid_alive(standby_pid), 30, 0.1, "the standby to stop")
        self.assertEqual(self.sql(port, "select count(*) from pg_stat_replication"), "0")
        self.assertEqual(self.sql(port, "show synchronous_standby_names"), "")
        self.wait_events_after("convert", since, TO_SINGLE_AZ)
        self.assertInOrder([e["Message"] for e in self.described_events("convert")],
                           [m for _, m in TO_SINGLE_AZ])
        # No commit waits for a standby that is gone.
        for i in range(13, 18):
            self.sql(port, "insert into t values (%d, 'single-AZ again')" % i)
        self.assertEqual(self.ids(port), ",".join(str(i) for i in range(1, 18)))
        self.assertClientError("InvalidParameterCombination", 400, self.rds.reboot_db_instance,
                               DBInstanceIdentifier="convert", ForceFailover=True)

        # And on again, once more.
        self.rds.modify_db_instance(DBInstanceIdentifier="convert", MultiAZ=True,
                                    ApplyImmediately=True)
        self.wait_available("convert")
        self.assertTrue(self.describe("convert")["MultiAZ"])
        self.wait_standby_ready("convert")
        self.assertInSync(port)
        self.assertHiddenReadOnlyStandby("convert", ",".join(str(i) for i in range(1, 18)))

    def test_without_apply_immediately_it_is_pending(self):
        """Without ApplyImmediately the change waits in PendingModifiedValues.MultiAZ."""
        inst = self.create("later", BackupRetentionPeriod=1)
        r = self.rds.modify_db_instance(DBInstanceIdentifier="later", MultiAZ=True,
                                        ApplyImmediately=False)["DBInstance"]
        self.assertEqual(r["PendingModifiedValues"].get("MultiAZ"), True, r)
        self.wait_available("later")
        got = self.describe("later")
        self.assertFalse(got["MultiAZ"])
        self.assertNotIn("SecondaryAvailabilityZone", got)
        self.assertEqual(got["PendingModifiedValues"].get("MultiAZ"), True, got)
        self.assertNotIn("multi_az", self.details("later"))
        self.assertEqual(self.psql_ok(inst["Endpoint"]["Port"],
                                      "select count(*) from pg_stat_replication"), "0")


class MultiAzLifecycleTest(MultiAzTestCase):
    """The other things users do to an instance keep a Multi-AZ instance Multi-AZ and in sync:
    no commit ever waits for a standby that does not stream."""

    def assertStillMultiAz(self, ident, inst, d, want_ids):
        """Same host and zones as before (`inst` described, `d` details), the standby ready and
        in sync, and a commit returns and reaches the standby."""
        got = self.describe(ident)
        self.assertEqual((got["DBInstanceStatus"], got["MultiAZ"], got["AvailabilityZone"],
                          got["SecondaryAvailabilityZone"]),
                         ("available", True, inst["AvailabilityZone"],
                          inst["SecondaryAvailabilityZone"]))
        port = got["Endpoint"]["Port"]
        d2 = self.wait_standby_ready(ident)
        self.assertEqual(d2["multi_az"]["primary_host"], d["multi_az"]["primary_host"])
        self.assertInSync(port)
        self.assertEqual(self.ids(port), want_ids)
        self.assertWritable(port, 1000)
        self.assertHiddenReadOnlyStandby(ident, want_ids + ",1000")
        return d2

    def test_reboot_without_failover(self):
        """A plain reboot restarts the primary where it is; the standby stays in sync."""
        inst = self.make_multi_az("rebooted", rows=10)
        d = self.details("rebooted")
        since = len(self.events_of("rebooted"))
        r = self.rds.reboot_db_instance(DBInstanceIdentifier="rebooted")["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("rebooting", "available"))
        self.wait_available("rebooted")
        d2 = self.assertStillMultiAz("rebooted", inst, d, ",".join(map(str, range(1, 11))))
        self.assertNotEqual(d2["server"]["pid"], d["server"]["pid"], "the primary did not restart")
        ids = [e[0] for e in self.events_of("rebooted")[since:]]
        self.assertNotIn(FAILOVER_STARTED[0], ids)
        # It still fails over afterwards.
        self.rds.reboot_db_instance(DBInstanceIdentifier="rebooted", ForceFailover=True)
        self.wait_available("rebooted")
        self.assertSwapped(inst, self.wait_swapped("rebooted", inst))
        self.assertFlipped("rebooted", d2)
        self.assertEqual(self.ids(inst["Endpoint"]["Port"]),
                         ",".join(map(str, list(range(1, 11)) + [1000])))

    def test_stop_and_start(self):
        """Stopped, neither server runs; started, the instance is Multi-AZ and in sync again."""
        inst = self.make_multi_az("paused", rows=10)
        d = self.details("paused")
        r = self.rds.stop_db_instance(DBInstanceIdentifier="paused")["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("stopping", "stopped"))
        self.wait_status("paused", "stopped")
        for pid in (d["server"]["pid"], d["multi_az"]["standby"]["pid"]):
            wait_until(lambda: not pid_alive(pid), 30, 0.1, "server %d to stop" % pid)
        self.assertFalse(port_accepts(inst["Endpoint"]["Port"]))
        self.assertTrue(self.describe("paused")["MultiAZ"])

        self.rds.start_db_instance(DBInstanceIdentifier="paused")
        self.wait_available("paused")
        self.assertStillMultiAz("paused", inst, d, ",".join(map(str, range(1, 11))))

    def test_port_change(self):
        """DBPortNumber moves the endpoint; the standby follows its primary to the new port."""
        inst = self.make_multi_az("moved", rows=10)
        d = self.details("moved")
        port = self.instance_port()
        self.rds.modify_db_instance(DBInstanceIdentifier="moved", DBPortNumber=port,
                                    ApplyImmediately=True)
        self.wait_available("moved")
        self.assertEqual(self.port_of("moved"), port)
        self.assertFalse(port_accepts(inst["Endpoint"]["Port"]))
        self.assertStillMultiAz("moved", inst, d, ",".join(map(str, range(1, 11))))
        # The endpoint's new port is where a failover serves too.
        self.rds.reboot_db_instance(DBInstanceIdentifier="moved", ForceFailover=True)
        self.wait_available("moved")
        self.assertEqual(self.port_of("moved"), port)
        self.assertEqual(self.ids(port), ",".join(map(str, list(range(1, 11)) + [1000])))

    def test_delete_stops_both_servers(self):
        """DeleteDBInstance stops the primary and the standby and removes their files."""
        inst = self.make_multi_az("deleted", rows=3)
        d = self.details("deleted")
        self.rds.delete_db_instance(DBInstanceIdentifier="deleted", SkipFinalSnapshot=True)
        self.rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier="deleted",
                                                        WaiterConfig=FAST)
        for pid in (d["server"]["pid"], d["multi_az"]["standby"]["pid"]):
            wait_until(lambda: not pid_alive(pid), 30, 0.1, "server %d to stop" % pid)
        for path in (d["server"]["pgdata"], d["multi_az"]["standby"]["pgdata"]):
            self.assertFalse(os.path.exists(path), path)
        self.assertNotIn(inst["DbiResourceId"], self.h.instance_dirs())
        sock = os.path.join(self.h.socket_dir(),
                            ".s.PGSQL.%d" % d["multi_az"]["standby"]["socket_port"])
        wait_until(lambda: not os.path.exists(sock), 10, 0.1, "the standby's socket to go")


class MultiAzErrorsTest(MultiAzTestCase):
    """RDS's errors (code and HTTP status); a refused request changes nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rds.create_db_instance(
            DBInstanceIdentifier="single", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20,
            BackupRetentionPeriod=1)
        cls.rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier="single",
                                                         WaiterConfig=FAST)
        cls.rds.create_db_snapshot(DBInstanceIdentifier="single", DBSnapshotIdentifier="snap")
        cls.rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier="snap",
                                                         WaiterConfig=FAST)
        cls.rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier="single",
                                                         WaiterConfig=FAST)

    def assertUnchanged(self):
        insts = self.rds.describe_db_instances()["DBInstances"]
        self.assertEqual([(i["DBInstanceIdentifier"], i["DBInstanceStatus"], i["MultiAZ"])
                          for i in insts], [("single", "available", False)])

    def assertAzRefused(self, fn, **kw):
        err = self.assertClientError("InvalidParameterCombination", 400, fn, MultiAZ=True,
                                     AvailabilityZone="us-east-1b", **kw)
        self.assertEqual(err["Message"], AZ_WITH_MULTI_AZ)
        self.assertUnchanged()

    def test_force_failover_of_a_single_az_instance(self):
        """ForceFailover needs a Multi-AZ instance."""
        self.assertClientError("InvalidParameterCombination", 400, self.rds.reboot_db_instance,
                               DBInstanceIdentifier="single", ForceFailover=True)
        self.assertUnchanged()

    def test_force_failover_of_an_unknown_instance(self):
        self.assertClientError("DBInstanceNotFound", 404, self.rds.reboot_db_instance,
                               DBInstanceIdentifier="nope", ForceFailover=True)
        self.assertUnchanged()

    def test_zone_on_create(self):
        self.assertAzRefused(self.rds.create_db_instance, DBInstanceIdentifier="bad",
                             Engine="postgres", DBInstanceClass="db.t3.micro",
                             MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD,
                             AllocatedStorage=20)

    def test_zone_on_restore_from_snapshot(self):
        self.assertAzRefused(self.rds.restore_db_instance_from_db_snapshot,
                             DBInstanceIdentifier="bad", DBSnapshotIdentifier="snap")

    def test_zone_on_point_in_time_restore(self):
        self.assertAzRefused(self.rds.restore_db_instance_to_point_in_time,
                             SourceDBInstanceIdentifier="single",
                             TargetDBInstanceIdentifier="bad", UseLatestRestorableTime=True)

    def test_zone_on_read_replica(self):
        self.assertAzRefused(self.rds.create_db_instance_read_replica,
                             DBInstanceIdentifier="bad", SourceDBInstanceIdentifier="single")

    def test_zone_with_multi_az_by_the_query_api(self):
        """The same rule by hand: HTTP 400 with RDS's ErrorResponse."""
        status, body, err = self.h.query({
            "Action": "CreateDBInstance", "DBInstanceIdentifier": "bad", "Engine": "postgres",
            "DBInstanceClass": "db.t3.micro", "MasterUsername": MASTER_USER,
            "MasterUserPassword": MASTER_PASSWORD, "AllocatedStorage": "20", "MultiAZ": "true",
            "AvailabilityZone": "us-east-1a"})
        self.assertEqual(status, 400, body)
        self.assertEqual((err["Code"], err["Message"], err["Type"]),
                         ("InvalidParameterCombination", AZ_WITH_MULTI_AZ, "Sender"))
        self.assertUnchanged()


class MultiAzSurvivesKillTest(MultiAzTestCase):
    """A Multi-AZ instance outlives a kill -9 of localrds: adopted, still in sync, fails over."""

    def setUp(self):
        super().setUp()
        if not self.h.alive():  # a previous test failed while localrds was down
            self.h.restart()
            self.rds = self.h.client()

    def test_kill9_of_localrds(self):
        """Servers keep running without localrds; the restarted one adopts them and fails over."""
        inst = self.make_multi_az("survivor", rows=10)
        port = inst["Endpoint"]["Port"]
        d = self.details("survivor")
        pids = (d["server"]["pid"], d["multi_az"]["standby"]["pid"])

        self.h.kill9()
        # Without localrds both servers run on, and commits are still synchronous.
        self.insert(port, 11, 20)
        self.assertInSync(port)

        self.h.restart()
        self.rds = self.h.client()
        self.wait_available("survivor")
        got = self.describe("survivor")
        self.assertEqual((got["MultiAZ"], got["AvailabilityZone"],
                          got["SecondaryAvailabilityZone"], got["Endpoint"]),
                         (True, inst["AvailabilityZone"], inst["SecondaryAvailabilityZone"],
                          inst["Endpoint"]))
        d2 = self.wait_standby_ready("survivor")
        self.assertEqual((d2["server"]["pid"], d2["multi_az"]["standby"]["pid"]), pids,
                         "the servers were restarted instead of adopted")
        self.assertEqual(d2["multi_az"]["primary_host"], "a")
        self.assertEqual(self.ids(port), ",".join(str(i) for i in range(1, 21)))
        self.assertInSync(port)
        self.assertHiddenReadOnlyStandby("survivor", ",".join(str(i) for i in range(1, 21)))

        since = len(self.events_of("survivor"))
        r = self.rds.reboot_db_instance(DBInstanceIdentifier="survivor",
                                        ForceFailover=True)["DBInstance"]
        self.assertEqual(r["DBInstanceStatus"], "rebooting")
        self.wait_available("survivor")
        self.assertSwapped(inst, self.wait_swapped("survivor", inst))
        self.assertEqual(self.ids(port), ",".join(str(i) for i in range(1, 21)))
        self.assertWritable(port, 21)
        self.assertFlipped("survivor", d2)
        self.assertFailoverEvents("survivor", since, forced=True)

        # And the monitor of the restarted localrds still fails over by itself.
        before = self.describe("survivor")
        d3 = self.details("survivor")
        os.kill(d3["server"]["pid"], signal.SIGKILL)
        self.first_write_succeeds(port, 22)
        self.assertSwapped(before, self.wait_swapped("survivor", before))
        self.assertFlipped("survivor", d3)
        self.assertEqual(self.ids(port), ",".join(str(i) for i in range(1, 23)))


    def test_primary_dies_while_localrds_is_down(self):
        """localrds and the primary die together; restarted, localrds serves the endpoint again
        without losing a commit, and the instance is Multi-AZ and in sync."""
        inst = self.make_multi_az("orphaned", rows=10)
        port = inst["Endpoint"]["Port"]
        d = self.details("orphaned")
        self.h.kill9()
        os.kill(d["server"]["pid"], signal.SIGKILL)
        wait_until(lambda: not pid_alive(d["server"]["pid"]), 30, 0.1, "the primary to die")

        self.h.restart()
        self.rds = self.h.client()
        self.wait_available("orphaned")
        self.first_write_succeeds(port, 11)
        got = self.describe("orphaned")
        self.assertEqual((got["MultiAZ"], got["Endpoint"]), (True, inst["Endpoint"]))
        self.assertEqual({got["AvailabilityZone"], got["SecondaryAvailabilityZone"]},
                         {inst["AvailabilityZone"], inst["SecondaryAvailabilityZone"]})
        self.wait_standby_ready("orphaned")
        self.assertInSync(port)
        self.assertEqual(self.ids(port), ",".join(map(str, range(1, 12))))
        self.assertWritable(port, 12)
        self.assertHiddenReadOnlyStandby("orphaned", ",".join(map(str, range(1, 13))))


class MultiAzRestoresAndReplicasTest(MultiAzTestCase):
    """Restores and read replicas with MultiAZ=true."""

    def test_restore_from_snapshot_as_multi_az(self):
        """A snapshot of a single-AZ instance restores as a Multi-AZ instance that fails over."""
        src = self.create("snapsrc", DBName="app", BackupRetentionPeriod=1)
        self.sql(src["Endpoint"]["Port"], "create table t(id int primary key, v text)")
        self.insert(src["Endpoint"]["Port"], 1, 30)
        self.rds.create_db_snapshot(DBInstanceIdentifier="snapsrc", DBSnapshotIdentifier="s1")
        self.addCleanup(lambda: self.rds.delete_db_snapshot(DBSnapshotIdentifier="s1"))
        self.rds.get_waiter("db_snapshot_available").wait(DBSnapshotIdentifier="s1",
                                                          WaiterConfig=FAST)
        r = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restored", DBSnapshotIdentifier="s1", MultiAZ=True,
            BackupRetentionPeriod=1)["DBInstance"]
        self.addCleanup(self._delete_quietly, r["DbiResourceId"])
        self.assertTrue(r["MultiAZ"], r)
        self.wait_available("restored", attempts=120)
        inst = self.describe("restored")
        self.assertEqual(inst["MultiAZ"], True)
        self.assertEqual(inst["SecondaryAvailabilityZone"], next_zone(inst["AvailabilityZone"]))
        port = inst["Endpoint"]["Port"]
        all_ids = ",".join(str(i) for i in range(1, 31))
        self.assertEqual(self.ids(port), all_ids)
        self.wait_standby_ready("restored")
        self.assertInSync(port)
        self.assertHiddenReadOnlyStandby("restored", all_ids)

        d = self.details("restored")
        self.rds.reboot_db_instance(DBInstanceIdentifier="restored", ForceFailover=True)
        self.wait_available("restored")
        self.assertSwapped(inst, self.wait_swapped("restored", inst))
        self.assertEqual(self.ids(port), all_ids)
        self.assertWritable(port, 31)
        self.assertFlipped("restored", d)
        # The source is untouched and single-AZ.
        self.assertFalse(self.describe("snapsrc")["MultiAZ"])
        self.assertEqual(self.ids(src["Endpoint"]["Port"]), all_ids)

    def test_point_in_time_restore_across_a_failover(self):
        """PITR of a Multi-AZ instance that failed over (a new timeline) restores every commit,
        as a Multi-AZ instance."""
        inst = self.make_multi_az("pitrsrc", rows=5)
        port = inst["Endpoint"]["Port"]
        self.rds.reboot_db_instance(DBInstanceIdentifier="pitrsrc", ForceFailover=True)
        self.wait_available("pitrsrc")
        self.wait_swapped("pitrsrc", inst)
        self.insert(port, 6, 10)
        t = datetime.datetime.now(datetime.timezone.utc)

        def restorable():
            lrt = self.describe("pitrsrc").get("LatestRestorableTime")
            return lrt is not None and lrt >= t
        wait_until(restorable, 60, 0.5, "LatestRestorableTime of pitrsrc to pass the last commit")
        r = self.rds.restore_db_instance_to_point_in_time(
            SourceDBInstanceIdentifier="pitrsrc", TargetDBInstanceIdentifier="pitr",
            UseLatestRestorableTime=True, MultiAZ=True)["DBInstance"]
        self.addCleanup(self._delete_quietly, r["DbiResourceId"])
        self.assertTrue(r["MultiAZ"], r)
        self.wait_available("pitr", attempts=120)
        got = self.describe("pitr")
        self.assertEqual((got["MultiAZ"], got["SecondaryAvailabilityZone"]),
                         (True, next_zone(got["AvailabilityZone"])))
        pport = got["Endpoint"]["Port"]
        self.assertEqual(self.ids(pport), ",".join(str(i) for i in range(1, 11)))
        self.wait_standby_ready("pitr")
        self.assertInSync(pport)
        self.assertWritable(pport, 11)

    def test_multi_az_read_replica_fails_over_as_a_replica(self):
        """A Multi-AZ read replica's standby cascades from it; a forced failover keeps it a
        read-only replica of its source."""
        src = self.create("rsrc", DBName="app", BackupRetentionPeriod=1)
        sport = src["Endpoint"]["Port"]
        self.sql(sport, "create table t(id int primary key, v text)")
        self.insert(sport, 1, 5)
        r = self.rds.create_db_instance_read_replica(
            DBInstanceIdentifier="rmaz", SourceDBInstanceIdentifier="rsrc",
            MultiAZ=True)["DBInstance"]
        self.addCleanup(self._delete_quietly, r["DbiResourceId"])
        self.wait_available("rmaz", attempts=120)
        rep = self.describe("rmaz")
        self.assertEqual((rep["MultiAZ"], rep["ReadReplicaSourceDBInstanceIdentifier"]),
                         (True, "rsrc"))
        self.assertEqual(rep["SecondaryAvailabilityZone"], next_zone(rep["AvailabilityZone"]))
        rport = rep["Endpoint"]["Port"]
        self.wait_standby_ready("rmaz")
        wait_until(lambda: self.ids(rport) == "1,2,3,4,5", 30, 0.1, "the rows on the replica")
        # Asynchronous: a replica cannot wait for its standby.
        self.assertInSync(rport, sync_state="async")
        self.assertHiddenReadOnlyStandby("rmaz", "1,2,3,4,5")

        d = self.details("rmaz")
        self.rds.reboot_db_instance(DBInstanceIdentifier="rmaz", ForceFailover=True)
        self.wait_available("rmaz")
        after = self.wait_swapped("rmaz", rep)
        self.assertSwapped(rep, after)
        self.assertEqual(after["ReadReplicaSourceDBInstanceIdentifier"], "rsrc")
        self.assertEqual(self.describe("rsrc")["ReadReplicaDBInstanceIdentifiers"], ["rmaz"])
        self.assertFlipped("rmaz", d)
        self.assertEqual(self.sql(rport, "select pg_is_in_recovery()"), "t")
        rc, _, err = psql(rport, MASTER_USER, MASTER_PASSWORD, "app",
                          "insert into t values (-1, 'no')")
        self.assertNotEqual(rc, 0, "an INSERT on the failed-over replica succeeded")
        self.assertIn(READ_ONLY, err)
        self.insert(sport, 6, 8)
        wait_until(lambda: self.ids(rport) == "1,2,3,4,5,6,7,8", 30, 0.1,
                   "rows of rsrc on the failed-over replica")
        self.assertHiddenReadOnlyStandby("rmaz", "1,2,3,4,5,6,7,8")


    def test_read_replica_follows_its_multi_az_source_through_failovers(self):
        """A read replica of a Multi-AZ instance streams from whichever host is primary."""
        src = self.make_multi_az("msrc", rows=3)
        sport = src["Endpoint"]["Port"]
        r = self.rds.create_db_instance_read_replica(
            DBInstanceIdentifier="follower", SourceDBInstanceIdentifier="msrc")["DBInstance"]
        self.addCleanup(self._delete_quietly, r["DbiResourceId"])
        self.wait_available("follower", attempts=120)
        rport = self.port_of("follower")
        wait_until(lambda: self.ids(rport) == "1,2,3", 30, 0.1, "the rows on the replica")

        before = self.describe("msrc")
        self.rds.reboot_db_instance(DBInstanceIdentifier="msrc", ForceFailover=True)
        self.wait_available("msrc")
        self.wait_swapped("msrc", before)
        self.insert(sport, 4, 4)
        wait_until(lambda: self.ids(rport) == "1,2,3,4", 30, 0.1,
                   "a row written after the forced failover on the replica")

        before = self.describe("msrc")
        self.wait_standby_ready("msrc")
        os.kill(self.details("msrc")["server"]["pid"], signal.SIGKILL)
        self.first_write_succeeds(sport, 5)
        self.wait_swapped("msrc", before)
        wait_until(lambda: self.ids(rport) == "1,2,3,4,5", 30, 0.1,
                   "a row written after the automatic failover on the replica")
        wait_until(lambda: self.describe("follower").get("StatusInfos") == [
            {"StatusType": "read replication", "Normal": True, "Status": "replicating"}],
            30, 0.2, "the replica to be replicating")
        self.assertEqual(self.describe("msrc")["ReadReplicaDBInstanceIdentifiers"], ["follower"])


if __name__ == "__main__":
    unittest.main()
