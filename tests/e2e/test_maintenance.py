"""Pending modifications, maintenance actions, ModifyDBSnapshot and RDS's validation messages,
through boto3.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_maintenance
"""

import datetime
import unittest

from harness import LocalrdsTestCase, arn


class MaintenanceTest(LocalrdsTestCase):

    def test_pending_class_and_storage_applied_at_reboot(self):
        i = self.create("maint")
        # A maintenance window three days from now, so that only the reboot applies them.
        day = (datetime.datetime.now(datetime.timezone.utc)
               + datetime.timedelta(days=3)).strftime("%a").lower()
        r = self.rds.modify_db_instance(
            DBInstanceIdentifier="maint", DBInstanceClass="db.t3.small", AllocatedStorage=30,
            PreferredBackupWindow="03:00-03:30",
            PreferredMaintenanceWindow="%s:12:00-%s:12:30" % (day, day),
            ApplyImmediately=False)["DBInstance"]
        self.assertEqual(r["PendingModifiedValues"],
                         {"DBInstanceClass": "db.t3.small", "AllocatedStorage": 30})
        i = self.describe("maint")
        self.assertEqual((i["DBInstanceClass"], i["AllocatedStorage"], i["DBInstanceStatus"]),
                         ("db.t3.micro", 20, "available"))
        r = self.rds.reboot_db_instance(DBInstanceIdentifier="maint")["DBInstance"]
        self.assertEqual(r["DBInstanceStatus"], "rebooting")
        self.wait_available("maint")
        i = self.describe("maint")
        self.assertEqual((i["DBInstanceClass"], i["AllocatedStorage"]), ("db.t3.small", 30))
        self.assertEqual(i["PendingModifiedValues"], {})
        self.psql_ok(i["Endpoint"]["Port"], "select 1")
        events = [e["Message"] for e in self.rds.describe_events(
            SourceIdentifier="maint", SourceType="db-instance", Duration=60)["Events"]]
        for m in ("DB instance shutdown", "DB instance restarted",
                  "Finished applying modification to DB instance class",
                  "Finished applying modification to allocated storage"):
            self.assertIn(m, events)

        # Pending maintenance actions: RDS's shape; localrds has none to offer (README).
        out = self.rds.describe_pending_maintenance_actions(ResourceIdentifier=arn("maint"))
        self.assertEqual(out["PendingMaintenanceActions"], [])
        self.assertEqual(self.rds.describe_pending_maintenance_actions(
            Filters=[{"Name": "db-instance-id", "Values": ["maint"]}])["PendingMaintenanceActions"],
            [])
        err = self.assertClientError(
            "InvalidParameterCombination", 400, self.rds.apply_pending_maintenance_action,
            ResourceIdentifier=arn("maint"), ApplyAction="system-update", OptInType="immediate")
        self.assertEqual(err["Message"], "There is no pending system-update action for "
                         + arn("maint"))
        err = self.assertClientError(
            "ResourceNotFoundFault", 404, self.rds.describe_pending_maintenance_actions,
            ResourceIdentifier=arn("nope"))
        self.assertEqual(err["Message"], "The specified resource ARN %s was not found." % arn("nope"))

        # ModifyDBSnapshot: the same version is accepted, another one has no upgrade path.
        self.rds.create_db_snapshot(DBInstanceIdentifier="maint", DBSnapshotIdentifier="msnap")
        self.rds.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="msnap", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self.addCleanup(lambda: self.rds.delete_db_snapshot(DBSnapshotIdentifier="msnap"))
        s = self.rds.modify_db_snapshot(DBSnapshotIdentifier="msnap",
                                        EngineVersion=i["EngineVersion"])["DBSnapshot"]
        self.assertEqual((s["DBSnapshotIdentifier"], s["EngineVersion"], s["Status"]),
                         ("msnap", i["EngineVersion"], "available"))
        err = self.assertClientError("InvalidParameterCombination", 400,
                                     self.rds.modify_db_snapshot, DBSnapshotIdentifier="msnap",
                                     EngineVersion="99.1")
        self.assertEqual(err["Message"],
                         "Cannot find upgrade path from %s to 99.1." % i["EngineVersion"])
        self.assertClientError("DBSnapshotNotFound", 404, self.rds.modify_db_snapshot,
                               DBSnapshotIdentifier="nope", EngineVersion="15.1")

    def test_validation_messages(self):
        rules = (" is not a valid identifier. Identifiers must begin with a letter; must contain "
                 "only ASCII letters, digits, and hyphens; and must not end with a hyphen or "
                 "contain two consecutive hyphens.")
        for ident, message in (
                ("", "The parameter DBSnapshotIdentifier must be provided and must not be blank."),
                ("-snap", "Invalid snapshot identifier:  -snap"),
                ("snap-", "The parameter DBSnapshotIdentifier" + rules),
                ("sn--ap", "The parameter DBSnapshotIdentifier" + rules)):
            err = self.assertClientError("InvalidParameterValue", 400, self.rds.create_db_snapshot,
                                         DBInstanceIdentifier="whatever",
                                         DBSnapshotIdentifier=ident)
            self.assertEqual(err["Message"], message, ident)
        for ident in ("-db", "db-", "d--b"):
            err = self.assertClientError(
                "InvalidParameterValue", 400, self.rds.create_db_instance,
                DBInstanceIdentifier=ident, Engine="postgres", DBInstanceClass="db.t3.micro",
                MasterUsername="root", MasterUserPassword="secret99", AllocatedStorage=20)
            self.assertEqual(err["Message"], "The parameter DBInstanceIdentifier" + rules, ident)
        for window, message in (
                ("sun:05:00", "Invalid maintenance window format: sun:05:00. Should be specified "
                              "as a range ddd:hh24:mi-ddd:hh24:mi (24H Clock UTC). Example: "
                              "Sun:23:45-Mon:00:15"),
                ("sun:05:00-sun:05:10", "The maintenance window must be at least 30 minutes."),
                ("sun:05:00-tue:05:00", "Maintenance window must be less than 24 hours."),
                ("xyz:05:00-sun:05:30", "Invalid day:hour:minute value: xyz:05:00-sun:05:30")):
            err = self.assertClientError(
                "InvalidParameterValue", 400, self.rds.create_db_instance,
                DBInstanceIdentifier="windows", Engine="postgres", DBInstanceClass="db.t3.micro",
                MasterUsername="root", MasterUserPassword="secret99", AllocatedStorage=20,
                PreferredMaintenanceWindow=window)
            self.assertEqual(err["Message"], message, window)
        err = self.assertClientError(
            "InvalidParameterValue", 400, self.rds.create_db_instance,
            DBInstanceIdentifier="windows", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername="root", MasterUserPassword="secret99", AllocatedStorage=20,
            PreferredBackupWindow="05:00-05:30", PreferredMaintenanceWindow="sun:05:15-sun:05:45")
        self.assertEqual(err["Message"], "The backup window and maintenance window must not overlap.")
        err = self.assertClientError("InvalidParameterValue", 400, self.rds.modify_db_snapshot,
                                     DBSnapshotIdentifier="")
        self.assertEqual(err["Message"],
                         "The parameter DBSnapshotIdentifier must be provided and must not be blank.")


if __name__ == "__main__":
    unittest.main()
