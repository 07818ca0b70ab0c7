"""Outage drills: a Region or an Availability Zone goes down (POST /_localrds/regions/<region>/
outage, /_localrds/zones/<az>/outage) and comes back (.../recover). The servers there freeze;
the Region's RDS API answers 503 ServiceUnavailable, which boto3 retries and then raises; DR
code in another Region promotes its cross-Region replica, which keeps every commit it had; a
Multi-AZ instance whose primary's zone is out fails over; recovery brings it all back without a
split brain, and the events say when each step happened.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_outage
"""

import time
import unittest

from botocore.exceptions import ClientError

from harness import MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, psql, wait_until

EAST, WEST2 = "us-east-1", "us-west-2"


class OutageTest(LocalrdsTestCase):

    def sql(self, port, statement):
        rc, out, err = psql(port, MASTER_USER, MASTER_PASSWORD, "app", statement, timeout=20)
        self.assertEqual(rc, 0, "psql on port %s failed: %s" % (port, err))
        return out

    def drill(self, path):
        status, body = self.h.control("POST", path)
        self.assertEqual(status, 200, body)
        return body

    def events_since(self, seq_from, event_id=None):
        events = self.h.events()[seq_from:]
        return [e for e in events if event_id is None or e["event_id"] == event_id]

    def test_a_region_outage_dr_promotes_the_cross_region_replica_and_recovery_has_no_split_brain(
            self):
        west = self.h.client(region=WEST2)
        prod = self.create("prod", DBName="app", BackupRetentionPeriod=1)
        sport = prod["Endpoint"]["Port"]
        self.sql(sport, "CREATE TABLE orders(id int primary key); "
                        "INSERT INTO orders SELECT generate_series(1, 50)")
        west.create_db_instance_read_replica(DBInstanceIdentifier="dr",
                                             SourceDBInstanceIdentifier=prod["DBInstanceArn"],
                                             SourceRegion=EAST)
        self.wait_available("dr", rds=west, attempts=120)
        rport = self.describe("dr", rds=west)["Endpoint"]["Port"]
        self.sql(sport, "INSERT INTO orders SELECT generate_series(51, 100)")
        wait_until(lambda: self.sql(rport, "SELECT count(*) FROM orders") == "100", 30, 0.1,
                   "every commit on the replica")
        before = len(self.h.events())

        # Unknown names are refused like the other controls'.
        status, body = self.h.control("POST", "/_localrds/regions/us-moon-1/outage")
        self.assertEqual((status, body["error"]), (400, "InvalidParameterValue"), body)
        status, body = self.h.control("POST", "/_localrds/zones/us-east-1z/outage")
        self.assertEqual((status, body["error"]), (400, "InvalidParameterValue"), body)

        t0 = time.monotonic()
        body = self.drill("/_localrds/regions/%s/outage" % EAST)
        self.addCleanup(self.h.control, "POST", "/_localrds/regions/%s/recover" % EAST)
        self.assertEqual((body["outage"], body["changed"]), (EAST, True), body)
        self.assertEqual(self.drill("/_localrds/regions/%s/outage" % EAST)["changed"], False)
        self.assertEqual([(o["kind"], o["name"]) for o in self.h.health()["outages"]],
                         [("region", EAST)])
        # The Region's API answers as AWS's does while a Region is down: 503 ServiceUnavailable,
        # which botocore retries (here 3 attempts) and then raises.
        sdk = self.h.client(retries={"total_max_attempts": 3, "mode": "standard"})
        with self.assertRaises(ClientError) as cm:
            sdk.describe_db_instances()
        err = cm.exception.response
        self.assertEqual((err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]),
                         ("ServiceUnavailable", 503), err)
        self.assertEqual(err["Error"]["Message"], "Service is unavailable. Please try again later.")
        self.assertEqual(err["ResponseMetadata"]["RetryAttempts"], 2, err)
        # Its server answers nothing: frozen.
        self.assertTrue(self.h.control("GET", "/_localrds/instances/prod")[1]["server"]["frozen"])

        # us-west-2 answers; the replica's replication is `error` once its WAL receiver gives up.
        def replication_error():
            dr = self.describe("dr", rds=west)
            infos = dr.get("StatusInfos") or [{}]
            return infos[0].get("Status") == "error" and infos[0]
        info = wait_until(replication_error, 40, 0.2, "the replica's replication to be error")
        self.assertEqual((info["StatusType"], info["Normal"]), ("read replication", False), info)
        # What the replica had of its source when the Region went down: the data a promotion keeps.
        noted = [e["message"] for e in self.events_since(before, "LOCALRDS-OUTAGE")
                 if e["source_identifier"] == "dr"]
        self.assertEqual(len(noted), 1, noted)
        # (Every commit had arrived; a WAL record written since, a switch say, may not have.)
        self.assertRegex(noted[0], r"This replica has its WAL up to \S+ of \S+: \d+ bytes not "
                                   r"received\.$")

        # DR code promotes it in its own Region: it keeps every commit and takes writes.
        west.promote_read_replica(DBInstanceIdentifier="dr")

        def promoted():
            dr = self.describe("dr", rds=west)
            return (dr["DBInstanceStatus"] == "available"
                    and "ReadReplicaSourceDBInstanceIdentifier" not in dr)
        wait_until(promoted, 60, 0.2, "dr promoted")
        rto = time.monotonic() - t0
        self.assertEqual(self.sql(rport, "SELECT count(*), max(id) FROM orders"), "100|100")
        self.sql(rport, "INSERT INTO orders VALUES (101)")

        # A crash and restart of localrds keeps the Region out and its server frozen.
        frozen_pid = self.h.control("GET", "/_localrds/instances/prod")[1]["server"]["pid"]
        self.h.restart()
        self.assertEqual([(o["kind"], o["name"]) for o in self.h.health()["outages"]],
                         [("region", EAST)])
        self.assertClientError("ServiceUnavailable", 503, self.rds.describe_db_instances)
        server = self.h.control("GET", "/_localrds/instances/prod")[1]["server"]
        self.assertEqual((server["pid"], server["frozen"]), (frozen_pid, True), server)

        # us-east-1 comes back: its instance as RDS shows it, with no replica any more; the
        # promoted one stays standalone and writable.
        body = self.drill("/_localrds/regions/%s/recover" % EAST)
        self.assertEqual((body["recovered"], body["changed"]), (EAST, True), body)
        self.assertEqual(self.h.health()["outages"], [])
        self.assertEqual(body["servers"], ["prod: thawed the primary"], body)
        server = self.h.control("GET", "/_localrds/instances/prod")[1]["server"]
        self.assertEqual((server["pid"], server["frozen"]), (frozen_pid, False), server)
        back = self.describe("prod")
        self.assertEqual(back["ReadReplicaDBInstanceIdentifiers"], [])
        self.assertEqual(self.sql(sport, "SELECT count(*) FROM orders"), "100")
        self.sql(sport, "INSERT INTO orders VALUES (102)")
        self.assertEqual(self.sql(rport, "SELECT string_agg(id::text, ',') FROM orders "
                                         "WHERE id > 100"), "101")
        self.assertNotIn("ReadReplicaSourceDBInstanceIdentifier", self.describe("dr", rds=west))
        # The promoted replica's slot is gone from its old source.
        slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'localrds%'"
        wait_until(lambda: self.sql(sport, slots) == "0", 20, 0.2,
                   "the promoted replica's slot dropped on prod")
        # Every step has its time.
        steps = [(e["event_id"], e["source_identifier"]) for e in self.events_since(before)
                 if e["event_id"].startswith("LOCALRDS-")]
        self.assertEqual(steps[0], ("LOCALRDS-OUTAGE", EAST), steps)
        self.assertIn(("LOCALRDS-OUTAGE-RECOVERED", EAST), steps)
        print("\nregion outage: replica promoted and writable %.1f s after the outage" % rto)

    def test_a_zone_outage_fails_a_multi_az_instance_over_and_recovery_rebuilds_its_standby(self):
        inst = self.create("ha", DBName="app", BackupRetentionPeriod=1, MultiAZ=True)
        port, az = inst["Endpoint"]["Port"], inst["AvailabilityZone"]
        second = inst["SecondaryAvailabilityZone"]
        self.sql(port, "CREATE TABLE t(id int primary key); "
                       "INSERT INTO t SELECT generate_series(1, 20)")

        def standby_ready():
            sb = self.h.control("GET", "/_localrds/instances/ha")[1]["multi_az"]["standby"]
            return sb["state"] == "ready" and sb["running"] and not sb["frozen"]
        wait_until(standby_ready, 60, 0.2, "the standby of ha to be ready")
        before = len(self.h.events())

        t0 = time.monotonic()
        self.drill("/_localrds/zones/%s/outage" % az)
        self.addCleanup(self.h.control, "POST", "/_localrds/zones/%s/recover" % az)
        # A zone: the Region's API still answers, and the instance fails over to its standby.
        wait_until(lambda: self.describe("ha")["AvailabilityZone"] == second, 40, 0.1,
                   "ha to fail over to %s" % second)
        wait_until(lambda: psql(port, MASTER_USER, MASTER_PASSWORD, "app",
                                "INSERT INTO t VALUES (21)", timeout=5)[0] == 0, 30, 0.2,
                   "a write through the endpoint")
        rto = time.monotonic() - t0
        self.assertEqual(self.sql(port, "SELECT count(*), max(id) FROM t"), "21|21")
        after = self.describe("ha")
        self.assertEqual((after["DBInstanceStatus"], after["SecondaryAvailabilityZone"]),
                         ("available", az))
        ids = [e["event_id"] for e in self.events_since(before)]
        self.assertLess(ids.index("LOCALRDS-OUTAGE"), ids.index("RDS-EVENT-0049"), ids)

        # Recovery: the new primary stays; the old host is rebuilt as its standby.
        self.drill("/_localrds/zones/%s/recover" % az)
        wait_until(standby_ready, 60, 0.2, "the rebuilt standby of ha")
        self.assertEqual(self.describe("ha")["AvailabilityZone"], second)
        wait_until(lambda: "RDS-EVENT-0053" in [e["event_id"] for e in self.events_since(before)],
                   20, 0.2, "RDS-EVENT-0053")
        self.sql(port, "INSERT INTO t VALUES (22)")  # synchronous again: its standby answers
        print("\nzone outage: failed over and writable %.1f s after the outage" % rto)


if __name__ == "__main__":
    unittest.main()
