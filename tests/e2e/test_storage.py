"""Storage that fills: an instance whose data grows past AllocatedStorage goes `storage-full` as
on RDS (its writes fail with PostgreSQL's disk-full error, RDS's events, the status), a
ModifyDBInstance AllocatedStorage brings it back, and MaxAllocatedStorage grows it as RDS storage
autoscaling does. localrds runs with --storage-unit 4 MiB, so that AllocatedStorage=20 is 80 MiB
(a fresh cluster takes about 40) and a few INSERTs fill it; autoscaling's waits (5 minutes low,
6 hours between changes) scale with the unit."""

import botocore.exceptions

from harness import LocalrdsTestCase, MASTER_PASSWORD, MASTER_USER, psql, wait_until

UNIT = 4 << 20
# About 4 MiB of incompressible text a statement.
FILL = ("INSERT INTO big SELECT string_agg(md5(random()::text), '') "
        "FROM generate_series(1, 32), generate_series(1, 1024) g GROUP BY g")
EXHAUSTED = "Allocated storage has been exhausted. Allocate additional storage to resolve the issue."


class StorageTest(LocalrdsTestCase):
    server_kwargs = {"pool_size": 1, "extra_args": ["--storage-unit", str(UNIT)]}

    def events(self, identifier):
        return [e["Message"] for e in self.rds.describe_events(
            SourceType="db-instance", SourceIdentifier=identifier, Duration=60)["Events"]]

    def status(self, identifier):
        return self.describe(identifier)["DBInstanceStatus"]

    def fill(self, identifier, port, until):
        """Inserts 4 MiB at a time as the master user until `until()` holds or a write fails;
        returns the failed write's error ("" when none failed)."""
        self.psql_ok(port, "CREATE TABLE IF NOT EXISTS big (v text)")
        for _ in range(60):
            if until():
                return ""
            rc, _, err = self.psql(port, FILL)
            if rc != 0:
                return err
        self.fail("%s did not fill: %s" % (identifier, self.describe(identifier)))

    def psql(self, port, sql):
        return psql(port, MASTER_USER, MASTER_PASSWORD, "postgres", sql)

    def test_an_instance_filled_past_its_storage_is_storage_full_until_a_storage_increase(self):
        port = self.create("filling", AllocatedStorage=20)["Endpoint"]["Port"]
        failed = self.fill("filling", port, lambda: self.status("filling") != "available")
        if failed:  # the writes stop a moment before the status says so
            self.assertIn("No space left on device", failed)
        wait_until(lambda: self.status("filling") == "storage-full", timeout=30,
                   desc="filling is storage-full")

        rc, _, err = self.psql(port, "INSERT INTO big VALUES ('one more row')")
        self.assertNotEqual(rc, 0)
        self.assertIn('could not extend file "base/', err)
        self.assertIn("No space left on device", err)
        rc, _, err = self.psql(port, "CREATE TABLE other (id int)")
        self.assertIn("No space left on device", err)
        self.assertEqual(self.psql_ok(port, "SELECT count(*) > 0 FROM big"), "t")  # reads work
        status, details = self.h.control("GET", "/_localrds/instances/filling")
        self.assertEqual(status, 200, details)
        self.assertEqual(details["storage"]["allocated_bytes"], 20 * UNIT)
        self.assertGreater(details["storage"]["used_bytes"], 20 * UNIT)
        self.assertTrue(details["storage"]["full"])
        self.assertIn(EXHAUSTED, self.events("filling"))
        self.assertIn("RDS-EVENT-0007", [e["event_id"] for e in self.h.events()
                                         if e["source_identifier"] == "filling"])

        # RDS's rules for the way out: at least 10% more, never less.
        for size, code in ((21, "InvalidParameterCombination"), (10, "InvalidParameterValue")):
            with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                self.rds.modify_db_instance(DBInstanceIdentifier="filling", AllocatedStorage=size,
                                            ApplyImmediately=True)
            self.assertEqual(ctx.exception.response["Error"]["Code"], code)
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertEqual(self.status("filling"), "storage-full")

        modified = self.rds.modify_db_instance(DBInstanceIdentifier="filling",
                                               AllocatedStorage=40, ApplyImmediately=True)
        self.assertEqual(modified["DBInstance"]["DBInstanceStatus"], "modifying")
        self.wait_available("filling")
        described = self.describe("filling")
        self.assertEqual(described["AllocatedStorage"], 40)
        self.psql_ok(port, "INSERT INTO big VALUES ('written again'); CREATE TABLE other (id int)")
        self.assertIn("Finished applying modification to allocated storage", self.events("filling"))
        self.assertEqual(self.status("filling"), "available")

    def test_a_full_instance_stays_full_across_kill_9_of_localrds_and_of_its_servers(self):
        port = self.create("crashfull", AllocatedStorage=20,
                           BackupRetentionPeriod=0)["Endpoint"]["Port"]
        self.fill("crashfull", port, lambda: self.status("crashfull") != "available")
        wait_until(lambda: self.status("crashfull") == "storage-full", timeout=30,
                   desc="crashfull is storage-full")
        try:
            self.h.restart()  # kill -9 of localrds; its servers live on and are adopted
            self.rds = self.h.client()
            self.assertEqual(self.status("crashfull"), "storage-full")
            rc, _, err = self.psql(port, "INSERT INTO big VALUES ('after a restart')")
            self.assertIn("No space left on device", err)

            self.h.kill9()  # the machine goes down: localrds and every server
            self.h.kill_leftover_postgres()
            self.h.start()
            self.rds = self.h.client()
            self.assertEqual(self.status("crashfull"), "storage-full")
            wait_until(lambda: self.psql(port, "SELECT 1")[0] == 0, timeout=60,
                       desc="crashfull's server is back")
            rc, _, err = self.psql(port, "INSERT INTO big VALUES ('after a host crash')")
            self.assertIn("No space left on device", err)
        finally:
            if not self.h.alive():
                self.h.start()
                self.rds = self.h.client()
        self.rds.modify_db_instance(DBInstanceIdentifier="crashfull", AllocatedStorage=40,
                                    ApplyImmediately=True)
        self.wait_available("crashfull")
        self.psql_ok(port, "INSERT INTO big VALUES ('written again')")

    def test_max_allocated_storage_autoscales_a_filling_instance(self):
        port = self.create("growing", AllocatedStorage=20,
                           MaxAllocatedStorage=60)["Endpoint"]["Port"]
        self.fill("growing", port, lambda: self.describe("growing")["AllocatedStorage"] != 20
                  or self.status("growing") != "available")
        # Free space at most 10% for "5 minutes" (1.2 s at this unit): +10 units, within 60.
        wait_until(lambda: self.describe("growing")["AllocatedStorage"] == 30 and
                   self.status("growing") == "available", timeout=60,
                   desc="growing autoscaled to 30")
        events = self.events("growing")
        self.assertIn("Applying autoscaling-initiated modification to allocated storage.", events)
        self.assertIn("Finished applying autoscaling-initiated modification to allocated storage.",
                      events)
        self.psql_ok(port, "INSERT INTO big VALUES ('room again')")
