"""The call sequences of the Terraform AWS provider's RDS resources (../shared/IAC-CALLS.md, from
the provider's source), replayed with boto3: create, read, update, read, delete, with each
resource's waiter rules (statuses it waits through, consecutive target reads, not-found
tolerance) and consistency checks (the name read back equals the ID, values and apply methods
echoed exactly). Every read is done twice: a plan settles only when nothing changes between two
reads. The waiters' first delays (60 s, 30 s) are client-side and left out; their polls are kept.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_terraform
"""

import time
import unittest

import botocore.exceptions

from harness import ACCOUNT, MASTER_PASSWORD, LocalrdsTestCase

INSTANCE_PENDING = {"backing-up", "configuring-enhanced-monitoring", "configuring-iam-database-auth",
                    "configuring-log-exports", "creating", "maintenance", "modifying",
                    "moving-to-vpc", "rebooting", "renaming", "resetting-master-credentials",
                    "starting", "stopping", "storage-full", "upgrading"}
INSTANCE_TARGET = {"available", "storage-optimization"}
DELETE_PENDING = {"available", "backing-up", "configuring-enhanced-monitoring",
                  "configuring-log-exports", "creating", "delete-precheck", "deleting",
                  "incompatible-parameters", "incompatible-restore", "modifying", "starting",
                  "stopping", "storage-full", "storage-optimization"}

# What aws_db_instance's Read takes from DescribeDBInstances (instance.go).
INSTANCE_READ = [
    "AllocatedStorage", "DBInstanceArn", "AutoMinorVersionUpgrade", "AvailabilityZone",
    "BackupRetentionPeriod", "BackupTarget", "PreferredBackupWindow", "CACertificateIdentifier",
    "CopyTagsToSnapshot", "DBName", "DeletionProtection", "Engine", "EngineVersion",
    "IAMDatabaseAuthenticationEnabled", "DBInstanceIdentifier", "DBInstanceClass", "KmsKeyId",
    "LicenseModel", "PreferredMaintenanceWindow", "MaxAllocatedStorage", "MonitoringInterval",
    "MultiAZ", "NetworkType", "DbInstancePort", "PubliclyAccessible",
    "ReadReplicaDBInstanceIdentifiers", "ReadReplicaSourceDBInstanceIdentifier", "DbiResourceId",
    "DBInstanceStatus", "StorageEncrypted", "StorageThroughput", "StorageType", "MasterUsername",
    "Endpoint", "TagList"]


class TerraformCallsTest(LocalrdsTestCase):

    # --- the provider's helpers ---------------------------------------------------------

    def state_change(self, refresh, pending, target, consecutive=1, timeout=120, delay=0.0,
                     not_found_ok=20):
        """retry.StateChangeConf: a status in neither list fails at once; `consecutive` target
        reads in a row end it; "not found" is tolerated `not_found_ok` times in a row."""
        time.sleep(delay)
        deadline = time.monotonic() + timeout
        seen, misses = 0, 0
        while time.monotonic() < deadline:
            status = refresh()
            if status is None:
                misses += 1
                self.assertLessEqual(misses, not_found_ok, "not found too many times")
                seen = 0
            elif status in target:
                misses = 0
                seen += 1
                if seen >= consecutive:
                    return status
            else:
                misses, seen = 0, 0
                self.assertIn(status, pending, "unexpected state %r" % status)
            time.sleep(0.25)
        self.fail("timed out waiting for %s" % target)

    def find_instance(self, resource_id):
        """findDBInstanceByIDSDKv1: the dbi-resource-id filter, then the identifier (which for
        a db-… id must be DBInstanceNotFound)."""
        r = self.rds.describe_db_instances(
            Filters=[{"Name": "dbi-resource-id", "Values": [resource_id]}])["DBInstances"]
        if r:
            self.assertEqual(len(r), 1)
            return r[0]
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.rds.describe_db_instances(DBInstanceIdentifier=resource_id)
        self.assertEqual(e.exception.response["Error"]["Code"], "DBInstanceNotFound")
        return None

    def wait_instance(self, identifier):
        def refresh():
            try:
                return self.rds.describe_db_instances(
                    DBInstanceIdentifier=identifier)["DBInstances"][0]["DBInstanceStatus"]
            except botocore.exceptions.ClientError as e:
                if e.response["Error"]["Code"] == "DBInstanceNotFound":
                    return None
                raise
        self.state_change(refresh, INSTANCE_PENDING, INSTANCE_TARGET, consecutive=3)

    def read_instance(self, resource_id):
        """Read, twice: the fields the provider keeps must not change between two reads."""
        first = self.find_instance(resource_id)
        second = self.find_instance(resource_id)
        self.assertIsNotNone(first)
        kept = lambda d: {k: d.get(k) for k in INSTANCE_READ} | {
            "DBSubnetGroupName": d["DBSubnetGroup"]["DBSubnetGroupName"],
            "OptionGroupName": d["OptionGroupMemberships"][0]["OptionGroupName"],
            "DBParameterGroupName": d["DBParameterGroups"][0]["DBParameterGroupName"]}
        self.assertEqual(kept(first), kept(second))
        return first

    def delete_instance(self, resource_id, identifier, **kw):
        self.rds.delete_db_instance(DBInstanceIdentifier=identifier, **kw)

        def refresh():
            d = self.find_instance(resource_id)
            return None if d is None else d["DBInstanceStatus"]
        # Gone (not found) three times in a row is the target.
        gone = 0
        deadline = time.monotonic() + 120
        while gone < 3 and time.monotonic() < deadline:
            status = refresh()
            if status is None:
                gone += 1
            else:
                gone = 0
                self.assertIn(status, DELETE_PENDING)
            time.sleep(0.25)
        self.assertEqual(gone, 3)

    def tags(self, arn):
        return {t["Key"]: t["Value"]
                for t in self.rds.list_tags_for_resource(ResourceName=arn)["TagList"]}

    def delete_retrying(self, code, fn, **kw):
        """Deletes retried on `code` (the group still in use), as the provider does."""
        deadline = time.monotonic() + 60
        while True:
            try:
                return fn(**kw)
            except botocore.exceptions.ClientError as e:
                if e.response["Error"]["Code"] != code or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    # --- the resources ------------------------------------------------------------------

    def subnet_group(self):
        # aws_db_subnet_group: create, read (name must equal the id), tags.
        g = self.rds.create_db_subnet_group(
            DBSubnetGroupName="app-subnets", DBSubnetGroupDescription="Managed by Terraform",
            SubnetIds=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
            Tags=[{"Key": "env", "Value": "test"}])["DBSubnetGroup"]
        sid = g["DBSubnetGroupName"]

        def read():
            r = self.rds.describe_db_subnet_groups(DBSubnetGroupName=sid)["DBSubnetGroups"][0]
            self.assertEqual(r["DBSubnetGroupName"], sid)
            return ({k: r[k] for k in ("DBSubnetGroupArn", "DBSubnetGroupDescription",
                                       "DBSubnetGroupName", "SupportedNetworkTypes", "VpcId")}
                    | {"Subnets": sorted(s["SubnetIdentifier"] for s in r["Subnets"])},
                    self.tags(r["DBSubnetGroupArn"]))
        self.assertEqual(read(), read())
        self.assertEqual(read()[1], {"env": "test"})
        zones = {s["SubnetAvailabilityZone"]["Name"] for s in g["Subnets"]}
        self.assertEqual(len(zones), 2)
        # Update: description and all subnet ids.
        self.rds.modify_db_subnet_group(
            DBSubnetGroupName=sid, DBSubnetGroupDescription="app subnets",
            SubnetIds=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002",
                       "subnet-0a1b2c3d4e5f60003"])
        self.assertEqual(read(), read())
        self.assertEqual(len(read()[0]["Subnets"]), 3)
        g = self.rds.describe_db_subnet_groups(DBSubnetGroupName=sid)["DBSubnetGroups"][0]
        zones = {s["SubnetAvailabilityZone"]["Name"] for s in g["Subnets"]}
        self.assertEqual(len(zones), 3)  # the new subnet in a zone the group did not cover
        return sid, zones

    def parameter_group(self):
        # aws_db_parameter_group: create, then Update (modify in chunks), then Read.
        g = self.rds.create_db_parameter_group(
            DBParameterGroupName="app-params", DBParameterGroupFamily="postgres15",
            Description="Managed by Terraform", Tags=[{"Key": "env", "Value": "test"}]
        )["DBParameterGroup"]
        pid = g["DBParameterGroupName"]
        configured = {"log_min_duration_statement": ("100", "immediate"),
                      "work_mem": ("8192", "immediate"),
                      "shared_buffers": ("{DBInstanceClassMemory/32768}", "pending-reboot")}
        dynamic = [n for n, (_, m) in configured.items() if m != "pending-reboot"]
        static = [n for n, (_, m) in configured.items() if m == "pending-reboot"]
        for names in (dynamic, static):
            self.rds.modify_db_parameter_group(DBParameterGroupName=pid, Parameters=[
                {"ParameterName": n, "ParameterValue": configured[n][0],
                 "ApplyMethod": configured[n][1]} for n in names])

        def read():
            r = self.rds.describe_db_parameter_groups(
                DBParameterGroupName=pid)["DBParameterGroups"][0]
            kept = {}
            for page in self.rds.get_paginator("describe_db_parameters").paginate(
                    DBParameterGroupName=pid):
                for p in page["Parameters"]:
                    if p["Source"] == "user" or p["ParameterName"] in configured:
                        kept[p["ParameterName"]] = (p.get("ParameterValue"), p.get("ApplyMethod"))
            return ({k: r[k] for k in ("DBParameterGroupArn", "Description",
                                       "DBParameterGroupFamily", "DBParameterGroupName")},
                    kept, self.tags(r["DBParameterGroupArn"]))
        first = read()
        self.assertEqual(first, read())
        self.assertEqual(first[1], configured)  # the exact value strings and apply methods
        self.assertEqual(first[0]["DBParameterGroupName"], pid)
        return pid

    def option_group(self):
        g = self.rds.create_option_group(
            EngineName="postgres", MajorEngineVersion="15",
            OptionGroupDescription="Managed by Terraform", OptionGroupName="App-Options",
            Tags=[{"Key": "env", "Value": "test"}])["OptionGroup"]
        oid = "App-Options".lower()  # the provider's id
        self.assertEqual(g["OptionGroupName"], oid)

        def read():
            r = self.rds.describe_option_groups(OptionGroupName=oid)["OptionGroupsList"][0]
            self.assertEqual(r["OptionGroupName"], oid)
            return ({k: r[k] for k in ("OptionGroupArn", "EngineName", "MajorEngineVersion",
                                       "OptionGroupName", "Options", "OptionGroupDescription")},
                    self.tags(r["OptionGroupArn"]))
        self.assertEqual(read(), read())
        return oid

    def test_instance_with_groups_replica_and_restore_settle(self):
        sid, zones = self.subnet_group()
        pid = self.parameter_group()
        oid = self.option_group()

        # aws_db_instance, plain create: what the provider always sends (EngineVersion and DBName
        # empty when not configured), plus the three groups.
        created = self.rds.create_db_instance(
            AllocatedStorage=20, AutoMinorVersionUpgrade=True, BackupRetentionPeriod=1,
            CopyTagsToSnapshot=False, DBInstanceClass="db.t3.micro",
            DBInstanceIdentifier="tf-primary", DBName="", DeletionProtection=False,
            Engine="postgres", EngineVersion="", MasterUsername="root",
            MasterUserPassword=MASTER_PASSWORD, PubliclyAccessible=False, StorageEncrypted=False,
            DBSubnetGroupName=sid, DBParameterGroupName=pid, OptionGroupName=oid,
            Tags=[{"Key": "env", "Value": "test"}])["DBInstance"]
        rid = created["DbiResourceId"]
        self.assertRegex(rid, r"^db-[0-9A-Za-z]{2,255}$")
        self.assertIn("CACertificateIdentifier", created)
        self.wait_instance("tf-primary")
        d = self.read_instance(rid)
        self.assertEqual(d["DBSubnetGroup"]["DBSubnetGroupName"], sid)
        self.assertIn(d["AvailabilityZone"], zones)
        self.assertEqual(d["DBParameterGroups"][0],
                         {"DBParameterGroupName": pid, "ParameterApplyStatus": "in-sync"})
        self.assertEqual(d["OptionGroupMemberships"][0]["OptionGroupName"], oid)
        self.assertNotIn("DBName", d)  # DBName= was absent, as RDS takes it
        port = d["Endpoint"]["Port"]
        self.assertEqual(self.psql_ok(port, "SHOW shared_buffers", db="postgres").strip(),
                         "256MB")  # the formula of db.t3.micro
        self.assertEqual(self.psql_ok(port, "SHOW work_mem", db="postgres").strip(), "8MB")

        # Update: a value changed in the group (immediate) is live without a reboot.
        self.rds.modify_db_parameter_group(DBParameterGroupName=pid, Parameters=[
            {"ParameterName": "log_min_duration_statement", "ParameterValue": "0",
             "ApplyMethod": "immediate"}])
        self.assertTrue(self.wait_for(lambda: self.psql_ok(
            port, "SHOW log_min_duration_statement", db="postgres").strip() == "0"))
        self.rds.modify_db_instance(DBInstanceIdentifier="tf-primary", ApplyImmediately=True,
                                    BackupRetentionPeriod=2)
        self.wait_instance("tf-primary")
        self.assertEqual(self.read_instance(rid)["BackupRetentionPeriod"], 2)

        # aws_db_instance with replicate_source_db (same Region: no DBParameterGroupName sent):
        # the replica takes its source's groups.
        replica = self.rds.create_db_instance_read_replica(
            AutoMinorVersionUpgrade=True, CopyTagsToSnapshot=False, DBInstanceClass="db.t3.micro",
            DBInstanceIdentifier="tf-replica", DeletionProtection=False, PubliclyAccessible=False,
            SourceDBInstanceIdentifier="tf-primary", Tags=[])["DBInstance"]
        self.assertEqual(replica["DBParameterGroups"][0]["DBParameterGroupName"], pid)
        self.wait_instance("tf-replica")
        r = self.read_instance(replica["DbiResourceId"])
        self.assertEqual(r["ReadReplicaSourceDBInstanceIdentifier"], "tf-primary")
        self.assertEqual(r["DBSubnetGroup"]["DBSubnetGroupName"], sid)
        self.assertIn(r["AvailabilityZone"], zones)
        self.assertEqual(r["OptionGroupMemberships"][0]["OptionGroupName"], oid)

        # A restore that sets the groups (snapshot of the primary first: aws_db_snapshot).
        snap = self.rds.create_db_snapshot(DBInstanceIdentifier="tf-primary",
                                           DBSnapshotIdentifier="tf-snap",
                                           Tags=[{"Key": "env", "Value": "test"}])["DBSnapshot"]
        self.state_change(lambda: self.rds.describe_db_snapshots(
            DBSnapshotIdentifier="tf-snap")["DBSnapshots"][0]["Status"], {"creating"},
            {"available"})
        attrs = self.rds.describe_db_snapshot_attributes(
            DBSnapshotIdentifier="tf-snap")["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
        self.assertEqual(attrs[0]["AttributeName"], "restore")
        s = self.rds.describe_db_snapshots(DBSnapshotIdentifier="tf-snap")["DBSnapshots"][0]
        self.assertEqual(s["OptionGroupName"], oid)
        self.assertEqual(s["VpcId"], d["DBSubnetGroup"]["VpcId"])
        self.assertEqual(s["TagList"], [{"Key": "env", "Value": "test"}])
        restored = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="tf-restored", DBSnapshotIdentifier=snap["DBSnapshotIdentifier"],
            DBSubnetGroupName=sid, DBParameterGroupName=pid, OptionGroupName=oid,
            DBInstanceClass="db.t3.small")["DBInstance"]
        self.wait_instance("tf-restored")
        t = self.read_instance(restored["DbiResourceId"])
        self.assertEqual(t["DBParameterGroups"][0]["DBParameterGroupName"], pid)
        self.assertEqual(t["DBSubnetGroup"]["DBSubnetGroupName"], sid)
        self.assertEqual(self.psql_ok(t["Endpoint"]["Port"], "SHOW shared_buffers",
                                      db="postgres").strip(), "512MB")  # db.t3.small

        # Groups in use cannot go; the provider retries until they are free.
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.rds.delete_db_parameter_group(DBParameterGroupName=pid)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidDBParameterGroupState")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

        # Delete: replica, restore, primary (final snapshot), then the groups.
        self.delete_instance(replica["DbiResourceId"], "tf-replica", SkipFinalSnapshot=True)
        self.delete_instance(restored["DbiResourceId"], "tf-restored", SkipFinalSnapshot=True,
                             DeleteAutomatedBackups=True)
        self.delete_instance(rid, "tf-primary", FinalDBSnapshotIdentifier="tf-final",
                             DeleteAutomatedBackups=True)
        self.rds.delete_db_snapshot(DBSnapshotIdentifier="tf-snap")
        self.delete_retrying("InvalidDBParameterGroupState", self.rds.delete_db_parameter_group,
                             DBParameterGroupName=pid)
        # The final snapshot keeps the option group in use.
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.rds.delete_option_group(OptionGroupName=oid)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidOptionGroupStateFault")
        self.rds.delete_db_snapshot(DBSnapshotIdentifier="tf-final")
        self.delete_retrying("InvalidOptionGroupStateFault", self.rds.delete_option_group,
                             OptionGroupName=oid)
        self.rds.delete_db_subnet_group(DBSubnetGroupName=sid)

        def subnet_group_gone():
            try:
                self.rds.describe_db_subnet_groups(DBSubnetGroupName=sid)
                return "present"
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "DBSubnetGroupNotFoundFault")
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 404)
                return None
        self.assertIsNone(subnet_group_gone())

    def test_event_subscription_settles(self):
        topic = "arn:aws:sns:us-east-1:%s:rds-events" % ACCOUNT
        self.rds.create_event_subscription(
            SubscriptionName="tf-events", SnsTopicArn=topic, SourceType="db-instance",
            EventCategories=["failover", "backup"], Enabled=True,
            Tags=[{"Key": "env", "Value": "test"}])

        def status():
            return self.rds.describe_event_subscriptions(
                SubscriptionName="tf-events")["EventSubscriptionsList"][0]["Status"]

        def read():
            r = self.rds.describe_event_subscriptions(
                SubscriptionName="tf-events")["EventSubscriptionsList"][0]
            self.assertEqual(r["CustSubscriptionId"], "tf-events")
            return ({k: r.get(k) for k in ("EventSubscriptionArn", "CustomerAwsId", "Enabled",
                                           "EventCategoriesList", "SnsTopicArn", "SourceIdsList",
                                           "SourceType")},
                    self.tags(r["EventSubscriptionArn"]))
        self.state_change(status, {"creating"}, {"active"})
        self.assertEqual(read(), read())
        self.assertEqual(read()[0]["CustomerAwsId"], ACCOUNT)
        self.rds.modify_event_subscription(SubscriptionName="tf-events", Enabled=False,
                                           EventCategories=["failover"], SourceType="db-instance")
        self.state_change(status, {"modifying"}, {"active"}, consecutive=2)
        self.assertEqual(read()[0]["EventCategoriesList"], ["failover"])
        self.rds.delete_event_subscription(SubscriptionName="tf-events")

        def gone():
            try:
                return status()
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "SubscriptionNotFound")
                return "gone"
        self.state_change(gone, {"deleting"}, {"gone"})

    def wait_for(self, fn, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if fn():
                return True
            time.sleep(0.2)
        return False


if __name__ == "__main__":
    unittest.main()
