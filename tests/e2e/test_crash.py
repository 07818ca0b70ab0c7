"""Crashes: localrds killed with SIGKILL (by hand or by LOCALRDS_CRASH_AT drills), restarted on the
same data dir, and an instance's PostgreSQL killed under it. Nothing may be lost or half-made.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_crash
"""

import signal
import time
import unittest

from botocore.exceptions import BotoCoreError, ClientError

from harness import (MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, port_accepts,
                     postgres_processes, psql, wait_until)


class CrashTestCase(LocalrdsTestCase):
    """Shared checks. The class's server is restarted (same data dir) by the tests."""

    def setUp(self):
        super().setUp()
        if not self.h.alive():  # a previous test failed while the server was down
            self.restart()

    def restart(self, env=None):
        self.h.restart(env=env)
        self.rds = self.h.client()

    def crash_during(self, kind_step, call, host_crash=False, **kw):
        """Restarts localrds with LOCALRDS_CRASH_AT=kind_step, makes the call (whose connection
        dies with the server), checks the server really killed itself, and restarts it
        without the drill. With host_crash, every PostgreSQL server of the data dir dies too
        before the restart (the machine went down, not just localrds)."""
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
                self.restart()  # never leave a server with a drill armed for the next tests
            raise
        self.assertEqual(rc, -signal.SIGKILL, "localrds did not die by SIGKILL at %s" % kind_step)
        self.assertEqual(self.h.log_text().count(marker), drills_before + 1,
                         "the drill did not fire at %s" % kind_step)
        if host_crash:
            self.h.kill_leftover_postgres()
        self.restart()

    def all_instances(self):
        return self.rds.describe_db_instances()["DBInstances"]

    def assertNoOrphans(self):
        """Every directory under <data-dir>/instances is a live instance's DbiResourceId, every
        PostgreSQL process of the data dir belongs to one, and no instance is stuck mid-way."""
        insts = self.all_instances()
        rids = {i["DbiResourceId"] for i in insts}
        self.assertEqual(set(self.h.instance_dirs()), rids)
        for pid, cmd in postgres_processes(self.h.data_dir).items():
            self.assertTrue(any(r in cmd for r in rids), "orphan PostgreSQL %d: %s" % (pid, cmd))
        stuck = {i["DBInstanceIdentifier"]: i["DBInstanceStatus"] for i in insts
                 if i["DBInstanceStatus"] not in ("available", "stopped")}
        self.assertEqual(stuck, {})

    def events_for(self, ident):
        return [e["Message"] for e in self.rds.describe_events(
            SourceIdentifier=ident, SourceType="db-instance", Duration=60)["Events"]]

    def assertServesWhenAvailable(self, ident, sql="select 1", db="app",
                                  password=MASTER_PASSWORD):
        """Waits for `available`, then PostgreSQL must accept the master at once: `available`
        is what the waiters (and scripts) take as "connect now"."""
        self.wait_status(ident, "available")
        port = self.describe(ident)["Endpoint"]["Port"]
        rc, out, err = psql(port, MASTER_USER, password, db, sql)
        if rc != 0:
            t0 = time.monotonic()
            wait_until(lambda: psql(port, MASTER_USER, password, db, sql)[0] == 0,
                       20, 0.2, "%s to accept connections at all" % ident)
            self.fail("%s was reported available but PostgreSQL refused the connection (%s); "
                      "it accepted connections only %.1fs later"
                      % (ident, err.replace("\n", " "), time.monotonic() - t0))
        return port, out

    def make_with_data(self, ident, rows=1000, **kw):
        inst = self.create(ident, DBName="app", **kw)
        port = inst["Endpoint"]["Port"]
        self.psql_ok(port, "create table t(id int primary key, v text);"
                           "insert into t select g, md5(g::text) from generate_series(1, %d) g"
                     % rows, db="app")
        return inst

    def count_rows(self, port, password=MASTER_PASSWORD):
        return int(self.psql_ok(port, "select count(*) from t", db="app", password=password))


class KillRestartTest(CrashTestCase):
    """(a) SIGKILL localrds with running instances; restart on the same data dir."""

    def test_kill9_and_restart_twice(self):
        inst = self.make_with_data("durable")
        port, rid = inst["Endpoint"]["Port"], inst["DbiResourceId"]
        for round_ in (1, 2):
            with self.subTest(round=round_):
                self.h.kill9()
                self.restart()
                i = self.describe("durable")
                self.assertEqual(i["DBInstanceStatus"], "available")
                self.assertEqual(i["Endpoint"]["Port"], port)
                self.assertEqual(i["DbiResourceId"], rid)
                self.assertEqual(i["InstanceCreateTime"], inst["InstanceCreateTime"])
                self.assertEqual(self.count_rows(port), 999 + round_)
                self.psql_ok(port, "insert into t values (%d, 'round')" % (1000 + round_), db="app")
        self.assertEqual(self.count_rows(port), 1002)
        self.assertEqual(self.events_for("durable").count("DB instance created"), 1)
        self.assertNoOrphans()
        self.rds.delete_db_instance(DBInstanceIdentifier="durable", SkipFinalSnapshot=True)

    def test_host_reboot_brings_back_what_should_run(self):
        # localrds and every PostgreSQL die (a machine reboot): the running instances come back
        # on their ports with their data, the stopped one stays stopped.
        up = self.make_with_data("comes-back")
        down = self.make_with_data("stays-down")
        self.rds.stop_db_instance(DBInstanceIdentifier="stays-down")
        self.wait_status("stays-down", "stopped")
        self.h.kill9()
        self.h.kill_leftover_postgres()
        self.assertFalse(port_accepts(up["Endpoint"]["Port"]))
        self.restart()
        self.wait_status("comes-back", "available")
        i = self.describe("comes-back")
        self.assertEqual(i["Endpoint"]["Port"], up["Endpoint"]["Port"])
        self.assertEqual(self.count_rows(i["Endpoint"]["Port"]), 1000)
        self.assertEqual(self.describe("stays-down")["DBInstanceStatus"], "stopped")
        self.assertFalse(port_accepts(down["Endpoint"]["Port"]))
        self.rds.start_db_instance(DBInstanceIdentifier="stays-down")
        self.wait_available("stays-down")
        self.assertEqual(self.count_rows(self.describe("stays-down")["Endpoint"]["Port"]), 1000)
        self.assertNoOrphans()
        for ident in ("comes-back", "stays-down"):
            self.rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)

    def test_sigterm_stops_servers_and_restart_resumes(self):
        inst = self.make_with_data("graceful")
        port = inst["Endpoint"]["Port"]
        rc = self.h.terminate()
        self.assertEqual(rc, 0, "localrds did not exit cleanly on SIGTERM")
        wait_until(lambda: not postgres_processes(inst["DbiResourceId"]), 10, 0.1,
                   "PostgreSQL servers to stop with localrds")
        self.assertFalse(port_accepts(port))
        self.restart()
        self.wait_status("graceful", "available")
        self.assertEqual(self.describe("graceful")["Endpoint"]["Port"], port)
        self.assertEqual(self.count_rows(port), 1000)
        self.assertNoOrphans()
        self.rds.delete_db_instance(DBInstanceIdentifier="graceful", SkipFinalSnapshot=True)


class CreateCrashTest(CrashTestCase):
    """(b) LOCALRDS_CRASH_AT=create:<step> for every step of create."""

    STEPS = {0: "prepare-cluster", 1: "configure", 2: "start", 3: "bootstrap", 4: "finish"}

    def check_create_crash(self, step, host_crash=False):
        ident = "crash-create-%d%s" % (step, "-host" if host_crash else "")
        self.crash_during("create:%d" % step, "create_db_instance", host_crash=host_crash,
                          DBInstanceIdentifier=ident, Engine="postgres",
                          DBInstanceClass="db.t3.micro", MasterUsername=MASTER_USER,
                          MasterUserPassword=MASTER_PASSWORD, DBName="app",
                          AllocatedStorage=20)
        try:
            self.describe(ident)
        except ClientError as e:
            # Acceptable only as "never happened": nothing left, and the name is free.
            self.assertEqual(e.response["Error"]["Code"], "DBInstanceNotFound")
            self.assertNoOrphans()
            self.create(ident, DBName="app")
        port, out = self.assertServesWhenAvailable(ident, "select current_user, current_database()")
        self.assertEqual(out, "root|app")
        self.assertEqual(self.psql_ok(port, "select rolsuper, pg_has_role('root', "
                                            "'rds_superuser', 'member') from pg_roles "
                                            "where rolname = 'root'"), "f|t")
        rc, _, err = psql(port, MASTER_USER, "not-the-password", "app", "select 1")
        self.assertNotEqual(rc, 0)
        self.assertEqual(self.events_for(ident).count("DB instance created"), 1)
        self.assertNoOrphans()
        # Fully usable: it stops, starts and deletes like any other.
        self.rds.stop_db_instance(DBInstanceIdentifier=ident)
        self.wait_status(ident, "stopped")
        self.rds.start_db_instance(DBInstanceIdentifier=ident)
        self.wait_status(ident, "available")
        self.rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)
        self.assertNoOrphans()

    def test_crash_before_prepare_cluster(self):
        self.check_create_crash(0)

    def test_crash_before_configure(self):
        self.check_create_crash(1)

    def test_crash_before_start(self):
        self.check_create_crash(2)

    def test_crash_before_bootstrap(self):
        self.check_create_crash(3)

    def test_crash_before_finish(self):
        self.check_create_crash(4)

    def test_host_crash_during_create(self):
        # The machine goes down during the create: localrds *and* the new PostgreSQL server die.
        # After the restart the create must still finish (RDS never leaves a create half-done).
        for step in sorted(self.STEPS):
            with self.subTest(step="%d %s" % (step, self.STEPS[step])):
                self.check_create_crash(step, host_crash=True)


class DeleteCrashTest(CrashTestCase):
    """(c) LOCALRDS_CRASH_AT=delete:<step>: after the restart the instance is gone for good."""

    def check_delete_crash(self, step):
        ident = "crash-delete-%d" % step
        inst = self.make_with_data(ident, rows=10)
        rid, port = inst["DbiResourceId"], inst["Endpoint"]["Port"]
        self.assertTrue(postgres_processes(rid))
        self.crash_during("delete:%d" % step, "delete_db_instance",
                          DBInstanceIdentifier=ident, SkipFinalSnapshot=True)
        wait_until(lambda: self.rds.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 1}) or True,
            30, 0.5, "%s to be deleted" % ident)
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier=ident)
        self.assertEqual(self.h.paths_named(rid), [], "the instance's files are still there")
        wait_until(lambda: not postgres_processes(rid), 10, 0.1,
                   "the PostgreSQL processes of %s to be gone" % ident)
        self.assertFalse(port_accepts(port), "something still listens on the deleted port")
        self.assertEqual(self.events_for(ident).count("DB instance deleted"), 1)
        self.assertNoOrphans()
        # The identifier is free again.
        again = self.create(ident)
        self.assertNotEqual(again["DbiResourceId"], rid)
        self.rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)

    def test_crash_before_stop(self):
        self.check_delete_crash(0)

    def test_crash_before_remove_files(self):
        self.check_delete_crash(1)

    def test_crash_before_forget(self):
        self.check_delete_crash(2)


class OtherOperationsCrashTest(CrashTestCase):
    """Stop, start, reboot and modify interrupted by a crash finish after the restart."""

    def test_stop_interrupted(self):
        for step in (0, 1):
            with self.subTest(step=step):
                ident = "crash-stop-%d" % step
                inst = self.make_with_data(ident, rows=10)
                self.crash_during("stop:%d" % step, "stop_db_instance", DBInstanceIdentifier=ident)
                self.wait_status(ident, "stopped")
                self.assertFalse(port_accepts(inst["Endpoint"]["Port"]))
                self.assertEqual(self.events_for(ident).count("DB instance stopped"), 1)
                self.rds.start_db_instance(DBInstanceIdentifier=ident)
                self.wait_available(ident)
                self.assertEqual(self.count_rows(self.describe(ident)["Endpoint"]["Port"]), 10)
                self.assertNoOrphans()

    def test_start_interrupted(self):
        for step in (0, 1, 2):
            with self.subTest(step=step):
                ident = "crash-start-%d" % step
                self.make_with_data(ident, rows=10)
                self.rds.stop_db_instance(DBInstanceIdentifier=ident)
                self.wait_status(ident, "stopped")
                self.crash_during("start:%d" % step, "start_db_instance",
                                  DBInstanceIdentifier=ident)
                self.wait_status(ident, "available")
                self.assertEqual(self.count_rows(self.describe(ident)["Endpoint"]["Port"]), 10)
                self.assertEqual(self.events_for(ident).count("DB instance started"), 1)
                self.assertNoOrphans()

    def test_reboot_interrupted(self):
        for step in (0, 2, 3):
            with self.subTest(step=step):
                ident = "crash-reboot-%d" % step
                self.make_with_data(ident, rows=10)
                self.crash_during("reboot:%d" % step, "reboot_db_instance",
                                  DBInstanceIdentifier=ident)
                self.wait_status(ident, "available")
                self.assertEqual(self.count_rows(self.describe(ident)["Endpoint"]["Port"]), 10)
                self.assertNoOrphans()

    def test_password_change_interrupted(self):
        for step in (0, 2):
            with self.subTest(step=step):
                ident = "crash-modify-%d" % step
                inst = self.make_with_data(ident, rows=10)
                port = inst["Endpoint"]["Port"]
                self.crash_during("modify:%d" % step, "modify_db_instance",
                                  DBInstanceIdentifier=ident, MasterUserPassword="after-crash",
                                  ApplyImmediately=True)
                self.wait_status(ident, "available")
                self.assertEqual(self.count_rows(port, password="after-crash"), 10)
                self.assertNotEqual(psql(port, MASTER_USER, MASTER_PASSWORD, "app", "select 1")[0],
                                    0, "the old password still works")
                self.assertEqual(self.describe(ident)["PendingModifiedValues"], {})
                self.assertNoOrphans()

    def test_host_crash_during_password_change(self):
        # Machine down in the middle of ModifyDBInstance(MasterUserPassword): after the restart
        # the instance runs again and the new password is the one that works.
        ident = "host-crash-modify"
        self.make_with_data(ident, rows=10)
        self.crash_during("modify:0", "modify_db_instance", host_crash=True,
                          DBInstanceIdentifier=ident, MasterUserPassword="after-crash",
                          ApplyImmediately=True)
        port, out = self.assertServesWhenAvailable(ident, "select count(*) from t",
                                                   password="after-crash")
        self.assertEqual(out, "10")
        self.assertNotEqual(psql(port, MASTER_USER, MASTER_PASSWORD, "app", "select 1")[0], 0,
                            "the old password still works")
        self.assertNoOrphans()

    def test_host_crash_during_reboot_and_start(self):
        for kind_step, call, prepare in (("reboot:2", "reboot_db_instance", None),
                                         ("reboot:3", "reboot_db_instance", None),
                                         ("start:2", "start_db_instance", "stop")):
            with self.subTest(kind_step):
                ident = "host-crash-" + kind_step.replace(":", "-")
                inst = self.make_with_data(ident, rows=10)
                if prepare == "stop":
                    self.rds.stop_db_instance(DBInstanceIdentifier=ident)
                    self.wait_status(ident, "stopped")
                self.crash_during(kind_step, call, host_crash=True, DBInstanceIdentifier=ident)
                port, out = self.assertServesWhenAvailable(ident, "select count(*) from t")
                self.assertEqual(out, "10")
                self.assertEqual(port, inst["Endpoint"]["Port"])
                self.assertNoOrphans()

    def test_port_change_interrupted(self):
        ident = "crash-port"
        inst = self.make_with_data(ident, rows=10)
        new = next(p for p in range(self.h.port_hi, self.h.port_lo, -1) if not port_accepts(p)
                   and p != inst["Endpoint"]["Port"])
        self.crash_during("modify:1", "modify_db_instance", DBInstanceIdentifier=ident,
                          DBPortNumber=new, ApplyImmediately=True)
        self.wait_status(ident, "available")
        self.assertEqual(self.describe(ident)["Endpoint"]["Port"], new)
        self.assertEqual(self.count_rows(new), 10)
        self.assertNoOrphans()


class PostmasterCrashTest(CrashTestCase):
    """(d) The instance's PostgreSQL dies under localrds: the reconciler brings it back."""

    def wait_restarted(self, port, started, ident):
        """Until a *new* PostgreSQL server (another start time) accepts the master."""
        def new_server():
            rc, out, _ = psql(port, MASTER_USER, MASTER_PASSWORD, "postgres",
                              "select pg_postmaster_start_time()")
            return rc == 0 and out != started
        wait_until(new_server, 20, 0.2, "PostgreSQL of %s to come back" % ident)

    def test_postmaster_crash_recovers(self):
        inst = self.make_with_data("crashy", rows=100)
        port = inst["Endpoint"]["Port"]
        started = self.psql_ok(port, "select pg_postmaster_start_time()")
        status, body = self.h.crash_instance("crashy")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"crashed": "crashy"})
        self.wait_restarted(port, started, "crashy")
        self.assertEqual(self.count_rows(port), 100)
        self.assertEqual(self.describe("crashy")["DBInstanceStatus"], "available")

        def recovery_events():
            msgs = [e["message"] for e in self.h.events() if e["source_identifier"] == "crashy"]
            return (any(m.startswith("Recovery of the DB instance has started") for m in msgs)
                    and "Recovery of the DB instance is complete." in msgs) and msgs
        wait_until(recovery_events, 10, 0.1, "recovery events for crashy")
        msgs = self.events_for("crashy")
        started_i = next(i for i, m in enumerate(msgs)
                         if m.startswith("Recovery of the DB instance has started"))
        self.assertIn("Recovery of the DB instance is complete.", msgs[started_i:])
        self.assertNoOrphans()

    def test_repeated_crashes(self):
        inst = self.make_with_data("crashy-again", rows=10)
        port = inst["Endpoint"]["Port"]
        for _ in range(3):
            started = self.psql_ok(port, "select pg_postmaster_start_time()")
            status, _ = self.h.crash_instance("crashy-again")
            self.assertEqual(status, 200)
            self.wait_restarted(port, started, "crashy-again")
            self.assertEqual(self.count_rows(port), 10)
        self.assertEqual(self.describe("crashy-again")["DBInstanceStatus"], "available")

    def test_crash_of_a_stopped_instance_keeps_it_stopped(self):
        inst = self.make_with_data("sleepy", rows=1)
        self.rds.stop_db_instance(DBInstanceIdentifier="sleepy")
        self.wait_status("sleepy", "stopped")
        status, _ = self.h.crash_instance("sleepy")
        self.assertEqual(status, 200)
        # Give the reconciler (~1 s period) several passes: it must not start a stopped instance.
        seen = []

        def several_reconciler_passes():
            seen.append(self.describe("sleepy")["DBInstanceStatus"])
            return len(seen) >= 12  # ~2.5 s of 0.2 s polls
        wait_until(several_reconciler_passes, 10, 0.2)
        self.assertEqual(set(seen), {"stopped"})
        self.assertFalse(port_accepts(inst["Endpoint"]["Port"]))


if __name__ == "__main__":
    unittest.main()
