"""The disaster-recovery runbook of the README, as a user runs it with the AWS CLI (and boto3 for
the backup account): a primary in us-east-1 with backups; its automated backups replicated to
us-west-2 and restored there to a second between two commits; a snapshot copied to us-west-2
and restored there; a snapshot shared with a backup account and restored in that account. Every
restore is checked for the data, not for a status.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_dr_runbook
"""

import datetime
import time
import unittest

from harness import ACCOUNT, MASTER_PASSWORD, LocalrdsTestCase, wait_until

EAST, WEST = "us-east-1", "us-west-2"
BACKUP_ACCOUNT = "210987654321"


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def let_time_pass(seconds):
    """The time between two commits is what the restore is about: nothing to poll for."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


class DrRunbookTest(LocalrdsTestCase):

    def cli(self, region, *args):
        r = self.h.aws("--region", region, "rds", *args)
        self.assertEqual(r.rc, 0, "aws rds %s: %s" % (" ".join(args), r.stderr))
        return r.json

    def rows(self, port, table="orders"):
        return self.psql_ok(port, "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + table,
                            db="app").strip()

    def wait_instance(self, region, ident, attempts=120):
        r = self.h.aws("--region", region, "rds", "wait", "db-instance-available",
                       "--db-instance-identifier", ident, timeout=600)
        self.assertEqual(r.rc, 0, r.stderr)
        return self.cli(region, "describe-db-instances",
                        "--db-instance-identifier", ident)["DBInstances"][0]

    def test_the_runbook(self):
        # 1. The primary, with automated backups.
        self.cli(EAST, "create-db-instance", "--db-instance-identifier", "prod",
                 "--engine", "postgres", "--db-instance-class", "db.t3.micro",
                 "--master-username", "root", "--master-user-password", MASTER_PASSWORD,
                 "--allocated-storage", "20", "--backup-retention-period", "1",
                 "--db-name", "app", "--storage-encrypted", "--kms-key-id", "alias/prod-key")
        prod = self.wait_instance(EAST, "prod")
        # Encrypted with a key of its region and account (reported; localrds has no KMS).
        self.assertTrue(prod["StorageEncrypted"])
        self.assertRegex(prod["KmsKeyId"], r"^arn:aws:kms:us-east-1:%s:key/[0-9a-f-]{36}$" % ACCOUNT)
        port = prod["Endpoint"]["Port"]
        self.psql_ok(port, "CREATE TABLE orders(id int primary key)", db="app")

        # 2. Its automated backups replicated to us-west-2 (the CLI presigns with --source-region).
        started = self.cli(WEST, "start-db-instance-automated-backups-replication",
                           "--source-db-instance-arn", prod["DBInstanceArn"],
                           "--backup-retention-period", "7",
                           "--source-region", EAST)["DBInstanceAutomatedBackup"]
        self.assertEqual((started["Status"], started["Region"], started["DbiResourceId"]),
                         ("pending", WEST, prod["DbiResourceId"]))
        replicated_arn = started["DBInstanceAutomatedBackupsArn"]
        self.assertTrue(replicated_arn.startswith("arn:aws:rds:us-west-2:%s:auto-backup:ab-"
                                                  % ACCOUNT), replicated_arn)
        prod = self.cli(EAST, "describe-db-instances",
                        "--db-instance-identifier", "prod")["DBInstances"][0]
        self.assertEqual(prod["DBInstanceAutomatedBackupsReplications"],
                         [{"DBInstanceAutomatedBackupsArn": replicated_arn}])

        # Two commits a second apart; the restore in us-west-2 lands between them.
        self.psql_ok(port, "INSERT INTO orders VALUES (1)", db="app")
        let_time_pass(1.0)
        between = now_utc()
        let_time_pass(1.0)
        self.psql_ok(port, "INSERT INTO orders VALUES (2)", db="app")
        after_second = now_utc()

        def replicated_past_second_commit():
            backups = self.cli(WEST, "describe-db-instance-automated-backups",
                               "--db-instance-automated-backups-arn",
                               replicated_arn)["DBInstanceAutomatedBackups"]
            latest = backups[0].get("RestoreWindow", {}).get("LatestTime")
            return (backups[0]["Status"] == "replicating" and latest is not None
                    and datetime.datetime.fromisoformat(latest.replace("Z", "+00:00"))
                    >= after_second)
        wait_until(replicated_past_second_commit, 90, 0.5,
                   "the replicated backups in us-west-2 to cover the second commit")
        self.cli(WEST, "restore-db-instance-to-point-in-time",
                 "--source-db-instance-automated-backups-arn", replicated_arn,
                 "--target-db-instance-identifier", "prod-pitr",
                 "--restore-time", between.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        pitr = self.wait_instance(WEST, "prod-pitr")
        self.assertTrue(pitr["AvailabilityZone"].startswith(WEST), pitr["AvailabilityZone"])
        self.assertEqual(self.rows(pitr["Endpoint"]["Port"]), "1")

        # 3. A snapshot copied to us-west-2 and restored there.
        self.cli(EAST, "create-db-snapshot", "--db-instance-identifier", "prod",
                 "--db-snapshot-identifier", "prod-manual")
        self.h.aws("--region", EAST, "rds", "wait", "db-snapshot-available",
                   "--db-snapshot-identifier", "prod-manual", timeout=300)
        snap_arn = "arn:aws:rds:us-east-1:%s:snapshot:prod-manual" % ACCOUNT
        # Tagged by its ARN, as Terraform tags an aws_db_snapshot; the copy takes them along.
        self.cli(EAST, "add-tags-to-resource", "--resource-name", snap_arn,
                 "--tags", "Key=keep,Value=30d")
        self.assertEqual(self.cli(EAST, "list-tags-for-resource", "--resource-name",
                                  snap_arn)["TagList"], [{"Key": "keep", "Value": "30d"}])
        copy = self.cli(WEST, "copy-db-snapshot", "--source-db-snapshot-identifier", snap_arn,
                        "--target-db-snapshot-identifier", "prod-manual-dr",
                        "--copy-tags", "--kms-key-id", "alias/dr-key",
                        "--source-region", EAST)["DBSnapshot"]
        self.assertEqual(copy["SourceRegion"], EAST)
        self.assertRegex(copy["KmsKeyId"], r"^arn:aws:kms:us-west-2:%s:key/" % ACCOUNT)
        self.assertEqual(self.cli(WEST, "list-tags-for-resource", "--resource-name",
                                  copy["DBSnapshotArn"])["TagList"],
                         [{"Key": "keep", "Value": "30d"}])
        r = self.h.aws("--region", WEST, "rds", "wait", "db-snapshot-available",
                       "--db-snapshot-identifier", "prod-manual-dr", timeout=300)
        self.assertEqual(r.rc, 0, r.stderr)
        self.cli(WEST, "restore-db-instance-from-db-snapshot",
                 "--db-instance-identifier", "prod-copy", "--db-snapshot-identifier",
                 "prod-manual-dr")
        self.assertEqual(self.rows(self.wait_instance(WEST, "prod-copy")["Endpoint"]["Port"]),
                         "1,2")

        # 4. The snapshot shared with the backup account, which restores it by ARN.
        shared = self.cli(EAST, "modify-db-snapshot-attribute", "--db-snapshot-identifier",
                          "prod-manual", "--attribute-name", "restore",
                          "--values-to-add", BACKUP_ACCOUNT)
        self.assertEqual(shared["DBSnapshotAttributesResult"]["DBSnapshotAttributes"],
                         [{"AttributeName": "restore", "AttributeValues": [BACKUP_ACCOUNT]}])
        backup = self.h.client(access_key=BACKUP_ACCOUNT)
        seen = backup.describe_db_snapshots(SnapshotType="shared",
                                            IncludeShared=True)["DBSnapshots"]
        self.assertEqual([s["DBSnapshotIdentifier"] for s in seen], [snap_arn])
        backup.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="vault",
                                                    DBSnapshotIdentifier=snap_arn)
        self.wait_available("vault", rds=backup, attempts=120)
        vault = self.describe("vault", rds=backup)
        self.assertEqual(self.rows(vault["Endpoint"]["Port"]), "1,2")

        # 5. The primary is deleted: the replicated backups stay in us-west-2, retained.
        self.cli(EAST, "delete-db-instance", "--db-instance-identifier", "prod",
                 "--skip-final-snapshot", "--delete-automated-backups")
        wait_until(lambda: self.cli(WEST, "describe-db-instance-automated-backups",
                                    "--db-instance-automated-backups-arn", replicated_arn)[
            "DBInstanceAutomatedBackups"][0]["Status"] == "retained", 60, 0.5,
            "the replicated backups retained after the source's deletion")


if __name__ == "__main__":
    unittest.main()
