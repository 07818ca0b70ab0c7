"""Regions and accounts on one endpoint: a request's region is its SigV4 credential scope's, its
account the 12-digit access key (else --account-id); every resource lives in one account and
region, and nothing leaks between them.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_regions
"""

import json
import unittest

from botocore.exceptions import ClientError

from harness import (ACCOUNT, MASTER_PASSWORD, LocalrdsTestCase, psql, wait_until)

EAST, WEST, WEST2, EU = "us-east-1", "us-west-1", "us-west-2", "eu-west-1"
OTHER_ACCOUNT = "111122223333"
BASE = dict(Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="root",
            MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20, BackupRetentionPeriod=0)


class RegionsTest(LocalrdsTestCase):
    """One localrds; the same identifier in us-east-1, eu-west-1 and in another account."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.east = cls.rds  # us-east-1, access key "test": the default account
        cls.eu = cls.h.client(region=EU)
        cls.other = cls.h.client(access_key=OTHER_ACCOUNT)  # us-east-1, another account
        cls.west = cls.h.client(region=WEST)
        for client in (cls.east, cls.eu, cls.other):
            client.create_db_instance(DBInstanceIdentifier="same", **BASE)
        for client in (cls.east, cls.eu, cls.other):
            client.get_waiter("db_instance_available").wait(
                DBInstanceIdentifier="same", WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def one(self, client, identifier="same"):
        return client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]

    def test_same_identifier_in_each_region_and_account_is_its_own_instance(self):
        east, eu, other = self.one(self.east), self.one(self.eu), self.one(self.other)
        self.assertEqual(len({east["DbiResourceId"], eu["DbiResourceId"],
                              other["DbiResourceId"]}), 3)
        self.assertEqual(len({east["Endpoint"]["Port"], eu["Endpoint"]["Port"],
                              other["Endpoint"]["Port"]}), 3)
        self.assertEqual(east["DBInstanceArn"], "arn:aws:rds:us-east-1:%s:db:same" % ACCOUNT)
        self.assertEqual(eu["DBInstanceArn"], "arn:aws:rds:eu-west-1:%s:db:same" % ACCOUNT)
        self.assertEqual(other["DBInstanceArn"],
                         "arn:aws:rds:us-east-1:%s:db:same" % OTHER_ACCOUNT)
        # Each region's own zones and Route 53 zone of RDS endpoints.
        self.assertTrue(eu["AvailabilityZone"].startswith("eu-west-1"), eu["AvailabilityZone"])
        self.assertTrue(east["AvailabilityZone"].startswith("us-east-1"))
        self.assertEqual(eu["Endpoint"]["HostedZoneId"], "Z29XKXDKYMONMX")
        self.assertEqual(east["Endpoint"]["HostedZoneId"], "Z2R2ITUGPM61AM")
        # Each is a real server of its own: a table made in one is not in the others.
        self.psql_ok(east["Endpoint"]["Port"], "CREATE TABLE only_east(x int)")
        out = self.psql_ok(eu["Endpoint"]["Port"],
                           "SELECT count(*) FROM pg_tables WHERE tablename = 'only_east'")
        self.assertEqual(out.strip(), "0")

    def test_describe_sees_only_its_own_region_and_account(self):
        self.assertEqual([i["DBInstanceArn"] for i in
                          self.west.describe_db_instances()["DBInstances"]], [])
        for client, region, account in ((self.east, EAST, ACCOUNT), (self.eu, EU, ACCOUNT),
                                        (self.other, EAST, OTHER_ACCOUNT)):
            arns = {i["DBInstanceArn"] for i in client.describe_db_instances()["DBInstances"]}
            self.assertIn("arn:aws:rds:%s:%s:db:same" % (region, account), arns)
            self.assertTrue(all(a.startswith("arn:aws:rds:%s:%s:" % (region, account))
                                for a in arns), arns)
        # The account's quotas count what it has in the region of the request.
        quotas = {q["AccountQuotaName"]: (q["Used"], q["Max"])
                  for q in self.west.describe_account_attributes()["AccountQuotas"]}
        self.assertEqual(quotas["DBInstances"], (0, 40))
        quotas = {q["AccountQuotaName"]: (q["Used"], q["Max"])
                  for q in self.eu.describe_account_attributes()["AccountQuotas"]}
        self.assertEqual(quotas["DBInstances"],
                         (len(self.eu.describe_db_instances()["DBInstances"]), 40))
        # An ARN of another region or account is not found, not served from the caller's own.
        for client, foreign in ((self.east, self.one(self.eu)["DBInstanceArn"]),
                                (self.other, self.one(self.east)["DBInstanceArn"])):
            self.assertClientError("DBInstanceNotFound", 404, client.describe_db_instances,
                                   DBInstanceIdentifier=foreign)

    def test_a_new_identifier_is_free_in_another_region_but_not_in_its_own(self):
        self.assertClientError("DBInstanceAlreadyExists", 400, self.eu.create_db_instance,
                               DBInstanceIdentifier="same", **BASE)
        self.west.create_db_instance(DBInstanceIdentifier="same", **BASE)
        try:
            inst = self.west.describe_db_instances(DBInstanceIdentifier="same")["DBInstances"][0]
            self.assertIn(inst["AvailabilityZone"], ("us-west-1b", "us-west-1c"))
        finally:
            self.west.get_waiter("db_instance_available").wait(
                DBInstanceIdentifier="same", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            self.west.delete_db_instance(DBInstanceIdentifier="same", SkipFinalSnapshot=True)
        self.west.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier="same", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self.assertEqual(self.one(self.east)["DBInstanceStatus"], "available")

    def test_availability_zones_are_the_regions_own(self):
        # us-west-1 has only b and c (AWS), us-east-1 a to f.
        self.assertClientError("InvalidParameterValue", 400, self.west.create_db_instance,
                               DBInstanceIdentifier="zone-a", AvailabilityZone="us-west-1a",
                               **BASE)
        self.assertClientError("InvalidParameterValue", 400, self.east.create_db_instance,
                               DBInstanceIdentifier="zone-eu", AvailabilityZone="eu-west-1a",
                               **BASE)
        zones = {z["Name"] for o in self.west.describe_orderable_db_instance_options(
            Engine="postgres", DBInstanceClass="db.t3.micro", MaxRecords=20)
            ["OrderableDBInstanceOptions"] for z in o["AvailabilityZones"]}
        self.assertEqual(zones, {"us-west-1b", "us-west-1c"})

    def test_tags_by_arn_stay_in_their_region_and_account(self):
        arn = self.one(self.eu)["DBInstanceArn"]
        self.eu.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "team", "Value": "eu"}])
        self.assertEqual(self.eu.list_tags_for_resource(ResourceName=arn)["TagList"],
                         [{"Key": "team", "Value": "eu"}])
        for client in (self.east, self.other):
            self.assertClientError("DBInstanceNotFound", 404, client.list_tags_for_resource,
                                   ResourceName=arn)
            self.assertClientError("DBInstanceNotFound", 404, client.add_tags_to_resource,
                                   ResourceName=arn, Tags=[{"Key": "x", "Value": "y"}])
        self.assertNotIn({"Key": "team", "Value": "eu"}, self.one(self.east)["TagList"])

    def test_snapshots_and_events_are_per_region_and_account(self):
        self.eu.create_db_snapshot(DBInstanceIdentifier="same", DBSnapshotIdentifier="snap-eu")
        self.eu.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="snap-eu", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        snap = self.eu.describe_db_snapshots(DBSnapshotIdentifier="snap-eu")["DBSnapshots"][0]
        self.assertEqual(snap["DBSnapshotArn"],
                         "arn:aws:rds:eu-west-1:%s:snapshot:snap-eu" % ACCOUNT)
        self.assertTrue(snap["AvailabilityZone"].startswith("eu-west-1"), snap)
        for client in (self.east, self.other):
            names = [s["DBSnapshotIdentifier"]
                     for s in client.describe_db_snapshots()["DBSnapshots"]]
            self.assertNotIn("snap-eu", names)
            self.assertClientError("DBSnapshotNotFound", 404, client.describe_db_snapshots,
                                   DBSnapshotIdentifier="snap-eu")
            self.assertClientError("DBSnapshotNotFound", 404,
                                   client.restore_db_instance_from_db_snapshot,
                                   DBInstanceIdentifier="from-eu",
                                   DBSnapshotIdentifier=snap["DBSnapshotArn"])
        # The same snapshot name is free in the other region.
        self.east.create_db_snapshot(DBInstanceIdentifier="same", DBSnapshotIdentifier="snap-eu")
        self.east.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="snap-eu", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        east_snap = self.east.describe_db_snapshots(DBSnapshotIdentifier="snap-eu")
        self.assertEqual(east_snap["DBSnapshots"][0]["DBSnapshotArn"],
                         "arn:aws:rds:us-east-1:%s:snapshot:snap-eu" % ACCOUNT)

        def arns(client):
            return {e["SourceArn"] for e in client.describe_events(Duration=60)["Events"]}
        self.assertIn("arn:aws:rds:eu-west-1:%s:snapshot:snap-eu" % ACCOUNT, arns(self.eu))
        self.assertTrue(all(":eu-west-1:%s:" % ACCOUNT in a for a in arns(self.eu)))
        self.assertTrue(all(":us-east-1:%s:" % OTHER_ACCOUNT in a for a in arns(self.other)))
        self.assertNotIn("arn:aws:rds:eu-west-1:%s:snapshot:snap-eu" % ACCOUNT,
                         arns(self.east))

    def test_a_snapshot_copied_to_another_region_restores_there_with_its_data(self):
        port = self.one(self.east)["Endpoint"]["Port"]
        self.psql_ok(port, "CREATE TABLE runbook(step text); INSERT INTO runbook VALUES ('east')")
        self.east.create_db_snapshot(DBInstanceIdentifier="same", DBSnapshotIdentifier="to-copy")
        self.east.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="to-copy", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        source_arn = "arn:aws:rds:us-east-1:%s:snapshot:to-copy" % ACCOUNT
        # As the SDKs send it: SourceRegion makes botocore add a PreSignedUrl.
        copied = self.eu.copy_db_snapshot(SourceDBSnapshotIdentifier=source_arn,
                                          TargetDBSnapshotIdentifier="dr-copy",
                                          SourceRegion=EAST, CopyTags=True)["DBSnapshot"]
        self.assertEqual(copied["DBSnapshotArn"],
                         "arn:aws:rds:eu-west-1:%s:snapshot:dr-copy" % ACCOUNT)
        self.eu.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="dr-copy", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        snap = self.eu.describe_db_snapshots(DBSnapshotIdentifier="dr-copy")["DBSnapshots"][0]
        self.assertEqual((snap["SourceRegion"], snap["SourceDBSnapshotIdentifier"]),
                         (EAST, source_arn))
        self.assertEqual(snap["SnapshotType"], "manual")
        self.assertClientError("DBSnapshotNotFound", 404, self.east.describe_db_snapshots,
                               DBSnapshotIdentifier="dr-copy")
        # The same copy by name from the DR region: the name is looked for there, not found.
        self.assertClientError("DBSnapshotNotFound", 404, self.eu.copy_db_snapshot,
                               SourceDBSnapshotIdentifier="to-copy",
                               TargetDBSnapshotIdentifier="dr-copy-2")
        self.eu.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="dr-restored",
                                                     DBSnapshotIdentifier="dr-copy")
        self.eu.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="dr-restored", WaiterConfig={"Delay": 1, "MaxAttempts": 90})
        restored = self.one(self.eu, "dr-restored")
        self.assertTrue(restored["AvailabilityZone"].startswith(EU), restored)
        out = self.psql_ok(restored["Endpoint"]["Port"], "SELECT step FROM runbook")
        self.assertEqual(out.strip(), "east")
        self.eu.delete_db_instance(DBInstanceIdentifier="dr-restored", SkipFinalSnapshot=True)
        self.eu.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier="dr-restored", WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def test_the_cli_reaches_the_region_it_is_given(self):
        r = self.h.aws("--region", EU, "rds", "describe-db-instances")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([i["DBInstanceArn"] for i in r.json["DBInstances"]],
                         ["arn:aws:rds:eu-west-1:%s:db:same" % ACCOUNT])
        r = self.h.aws("--region", "ap-southeast-2", "rds", "describe-db-instances")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json["DBInstances"], [])

    def test_an_unknown_region_is_refused_as_aws_does(self):
        nowhere = self.h.client(region="xx-nowhere-1")
        err = self.assertClientError("SignatureDoesNotMatch", 403,
                                     nowhere.describe_db_instances)
        self.assertEqual(err["Message"],
                         "Credential should be scoped to a valid region, not 'xx-nowhere-1'. ")

    def test_controls_take_region_and_account(self):
        eu = self.one(self.eu)
        status, body = self.h.control("GET", "/_localrds/instances/same?region=eu-west-1")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["DbiResourceId"], eu["DbiResourceId"])
        status, body = self.h.control(
            "GET", "/_localrds/instances/same?account=%s" % OTHER_ACCOUNT)
        self.assertEqual(body["DbiResourceId"], self.one(self.other)["DbiResourceId"])
        status, body = self.h.control("GET", "/_localrds/instances/same")
        self.assertEqual(body["DbiResourceId"], self.one(self.east)["DbiResourceId"])
        status, body = self.h.control("GET", "/_localrds/instances/same?region=ap-south-1")
        self.assertEqual((status, body["error"]), (404, "DBInstanceNotFound"))
        status, body = self.h.control("GET", "/_localrds/instances/same?region=mars-1")
        self.assertEqual((status, body["error"]), (400, "InvalidParameterValue"))
        health = self.h.health()
        self.assertGreaterEqual(health["regions"][EU]["total"], 1)
        self.assertEqual(health["regions"][EU]["by_status"].get("available"), 1)
        self.assertGreaterEqual(health["regions"][EAST]["total"], 2)
        self.assertNotIn("ap-south-1", health["regions"])

    def test_zz_scopes_survive_a_restart(self):
        before = {c: self.one(c)["DBInstanceArn"] for c in (self.east, self.eu, self.other)}
        self.h.restart()
        for client, arn in before.items():
            wait_until(lambda c=client: self.one(c)["DBInstanceStatus"] == "available", 60,
                       desc="available after restart")
            self.assertEqual(self.one(client)["DBInstanceArn"], arn)
        self.assertEqual(self.west.describe_db_instances()["DBInstances"], [])


class CrossRegionReplicaTest(LocalrdsTestCase):
    """A read replica in another region of a source given by ARN: a real streaming standby,
    read-only, late by --inter-region-latency, promotable in its own region."""

    def test_a_cross_region_replica_streams_and_is_promoted_in_its_region(self):
        west = self.h.client(region=WEST2)
        self.rds.create_db_instance(DBInstanceIdentifier="prod", DBName="app",
                                    **dict(BASE, BackupRetentionPeriod=1))
        self.wait_available("prod", attempts=90)
        source = self.rds.describe_db_instances(DBInstanceIdentifier="prod")["DBInstances"][0]
        sport = source["Endpoint"]["Port"]
        self.psql_ok(sport, "CREATE TABLE orders(id int); INSERT INTO orders VALUES (1), (2)",
                     user="root", db="app")
        source_arn = source["DBInstanceArn"]
        # By name, the source is looked for in us-west-2: not there.
        self.assertClientError("DBInstanceNotFound", 404, west.create_db_instance_read_replica,
                               DBInstanceIdentifier="dr", SourceDBInstanceIdentifier="prod")
        # Another account cannot replicate this one's instance.
        self.assertClientError(
            "DBInstanceNotFound", 404,
            self.h.client(region=WEST2, access_key=OTHER_ACCOUNT).create_db_instance_read_replica,
            DBInstanceIdentifier="dr", SourceDBInstanceIdentifier=source_arn)
        # As DR code sends it: the source's ARN and SourceRegion (botocore adds a PreSignedUrl).
        west.create_db_instance_read_replica(DBInstanceIdentifier="dr",
                                             SourceDBInstanceIdentifier=source_arn,
                                             SourceRegion=EAST)
        self.wait_available("dr", rds=west, attempts=120)
        dr = west.describe_db_instances(DBInstanceIdentifier="dr")["DBInstances"][0]
        self.assertEqual(dr["DBInstanceArn"], "arn:aws:rds:us-west-2:%s:db:dr" % ACCOUNT)
        self.assertEqual(dr["ReadReplicaSourceDBInstanceIdentifier"], source_arn)
        self.assertRegex(dr["AvailabilityZone"], r"^us-west-2[a-d]$")
        self.assertEqual(
            self.rds.describe_db_instances(DBInstanceIdentifier="prod")["DBInstances"][0][
                "ReadReplicaDBInstanceIdentifiers"], [dr["DBInstanceArn"]])
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="dr")
        rport = dr["Endpoint"]["Port"]
        # A real standby of the source, applying its commits the regions' distance late.
        self.assertEqual(self.psql_ok(rport, "SHOW recovery_min_apply_delay", user="root",
                                      db="app").strip(), "40ms")
        self.psql_ok(sport, "INSERT INTO orders VALUES (3)", user="root", db="app")
        wait_until(lambda: self.psql_ok(rport, "SELECT count(*) FROM orders", user="root",
                                        db="app").strip() == "3", 30, 0.1, "row 3 on the replica")
        rc, _, err = psql(rport, "root", MASTER_PASSWORD, "app", "INSERT INTO orders VALUES (9)")
        self.assertNotEqual(rc, 0)
        self.assertIn("read-only transaction", err)
        # The region is lost: promote the replica there; it takes writes, the source lets go.
        r = west.promote_read_replica(DBInstanceIdentifier="dr",
                                      BackupRetentionPeriod=1)["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("modifying", "backing-up", "available"))

        def promoted():
            dr = west.describe_db_instances(DBInstanceIdentifier="dr")["DBInstances"][0]
            return (dr["DBInstanceStatus"] == "available"
                    and "ReadReplicaSourceDBInstanceIdentifier" not in dr)
        wait_until(promoted, 120, 0.2, "dr promoted")
        self.psql_ok(rport, "INSERT INTO orders VALUES (4)", user="root", db="app")
        self.assertEqual(self.psql_ok(rport, "SELECT string_agg(id::text, ',' ORDER BY id) "
                                      "FROM orders", user="root", db="app").strip(), "1,2,3,4")
        self.assertEqual(self.rds.describe_db_instances(DBInstanceIdentifier="prod")[
            "DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"], [])


class SnapshotSharingTest(LocalrdsTestCase):
    """A manual snapshot shared with a backup account: that account sees it, restores it by ARN
    and gets the data; an account it is not shared with gets RDS's not-found answer."""

    def test_a_snapshot_shared_with_a_backup_account_restores_there_with_its_data(self):
        backup = self.h.client(access_key=OTHER_ACCOUNT)
        stranger = self.h.client(access_key="444455556666")
        self.rds.create_db_instance(DBInstanceIdentifier="ledger", DBName="app",
                                    **dict(BASE, BackupRetentionPeriod=1))
        self.wait_available("ledger", attempts=90)
        port = self.describe("ledger")["Endpoint"]["Port"]
        self.psql_ok(port, "CREATE TABLE entries(v text); INSERT INTO entries VALUES ('paid')",
                     db="app")
        self.rds.create_db_snapshot(DBInstanceIdentifier="ledger", DBSnapshotIdentifier="nightly")
        self.rds.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="nightly", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        arn = "arn:aws:rds:us-east-1:%s:snapshot:nightly" % ACCOUNT
        attrs = self.rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="nightly")
        self.assertEqual(attrs["DBSnapshotAttributesResult"]["DBSnapshotAttributes"],
                         [{"AttributeName": "restore", "AttributeValues": []}])
        # Not shared yet: the backup account cannot restore it.
        self.assertClientError("DBSnapshotNotFound", 404,
                               backup.restore_db_instance_from_db_snapshot,
                               DBInstanceIdentifier="ledger-restored", DBSnapshotIdentifier=arn)
        shared = self.rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier="nightly", AttributeName="restore",
            ValuesToAdd=[OTHER_ACCOUNT])["DBSnapshotAttributesResult"]
        self.assertEqual(shared["DBSnapshotAttributes"][0]["AttributeValues"], [OTHER_ACCOUNT])
        seen = backup.describe_db_snapshots(SnapshotType="shared",
                                            IncludeShared=True)["DBSnapshots"]
        self.assertEqual([(s["DBSnapshotIdentifier"], s["SnapshotType"]) for s in seen],
                         [(arn, "shared")])
        self.assertEqual(backup.describe_db_snapshots()["DBSnapshots"], [])
        self.assertEqual(stranger.describe_db_snapshots(IncludeShared=True)["DBSnapshots"], [])
        self.assertClientError("DBSnapshotNotFound", 404,
                               stranger.restore_db_instance_from_db_snapshot,
                               DBInstanceIdentifier="stolen", DBSnapshotIdentifier=arn)
        backup.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="ledger-restored",
                                                    DBSnapshotIdentifier=arn)
        self.wait_available("ledger-restored", rds=backup, attempts=90)
        restored = self.describe("ledger-restored", rds=backup)
        self.assertEqual(restored["DBInstanceArn"],
                         "arn:aws:rds:us-east-1:%s:db:ledger-restored" % OTHER_ACCOUNT)
        self.assertEqual(self.psql_ok(restored["Endpoint"]["Port"], "SELECT v FROM entries",
                                      db="app").strip(), "paid")
        # Automated snapshots cannot be shared.
        automated = self.rds.describe_db_snapshots(
            DBInstanceIdentifier="ledger", SnapshotType="automated")["DBSnapshots"]
        self.assertTrue(automated)
        self.assertClientError("InvalidParameterValue", 400,
                               self.rds.modify_db_snapshot_attribute,
                               DBSnapshotIdentifier=automated[0]["DBSnapshotIdentifier"],
                               AttributeName="restore", ValuesToAdd=[OTHER_ACCOUNT])


if __name__ == "__main__":
    unittest.main()
