"""The user story with the AWS CLI, exactly as the README tells users to do it.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_cli
"""

import os
import unittest
from unittest import mock

import boto3
import botocore

from harness import LocalrdsTestCase, arn, psql

# The CLI's waiters poll every 30 s (db-instance-available) / 30 s (db-instance-deleted): a wait
# that returns well before that succeeded at its first poll.
PROMPT = 15.0


class CliStoryTest(LocalrdsTestCase):

    def cli(self, *args, expect_ok=True, **kw):
        r = self.h.aws(*args, **kw)
        if expect_ok:
            self.assertEqual(r.rc, 0, r)
        return r

    def test_user_story(self):
        r = self.cli("rds", "create-db-instance",
                     "--db-instance-identifier", "clidb",
                     "--engine", "postgres",
                     "--db-instance-class", "db.t3.micro",
                     "--master-username", "root",
                     "--master-user-password", "secret99",
                     "--db-name", "test",
                     "--allocated-storage", "20",
                     "--backup-retention-period", "7",
                     "--tags", "Key=env,Value=dev")
        created = r.json["DBInstance"]
        self.assertEqual(created["DBInstanceIdentifier"], "clidb")
        self.assertEqual(created["DBInstanceStatus"], "creating")
        self.assertEqual(created["TagList"], [{"Key": "env", "Value": "dev"}])

        r = self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clidb")
        self.assertLess(r.elapsed, PROMPT, "the waiter did not succeed at its first poll")

        r = self.cli("rds", "describe-db-instances", "--db-instance-identifier", "clidb")
        inst = r.json["DBInstances"][0]
        self.assertEqual(inst["DBInstanceStatus"], "available")
        self.assertEqual(inst["BackupRetentionPeriod"], 7)
        port = inst["Endpoint"]["Port"]
        address = inst["Endpoint"]["Address"]
        self.assertEqual(address, "127.0.0.1")

        # --query/--output text work as scripts use them.
        r = self.cli("rds", "describe-db-instances", "--db-instance-identifier", "clidb",
                     "--query", "DBInstances[0].Endpoint.Port")
        self.assertEqual(r.json, port)

        self.assertEqual(self.psql_ok(port, "select current_user", db="test"), "root")
        self.psql_ok(port, "create table t(v int); insert into t values (1), (2), (3)", db="test")

        # Password.
        r = self.cli("rds", "modify-db-instance", "--db-instance-identifier", "clidb",
                     "--master-user-password", "cli-pass-2", "--apply-immediately")
        self.assertEqual(r.json["DBInstance"]["PendingModifiedValues"].get("MasterUserPassword"),
                         "****")
        self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clidb")
        self.assertEqual(self.psql_ok(port, "select count(*) from t", db="test",
                                      password="cli-pass-2"), "3")
        self.assertNotEqual(psql(port, "root", "secret99", "test", "select 1")[0], 0)

        # Stop / start / reboot.
        r = self.cli("rds", "stop-db-instance", "--db-instance-identifier", "clidb")
        self.assertIn(r.json["DBInstance"]["DBInstanceStatus"], ("stopping", "stopped"))
        r = self.cli("rds", "describe-db-instances", "--db-instance-identifier", "clidb",
                     "--query", "DBInstances[0].DBInstanceStatus")
        self.assertEqual(r.json, "stopped")
        self.cli("rds", "start-db-instance", "--db-instance-identifier", "clidb")
        r = self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clidb")
        self.assertLess(r.elapsed, PROMPT)
        self.cli("rds", "reboot-db-instance", "--db-instance-identifier", "clidb")
        r = self.cli("rds", "wait", "db-instance-available", "--db-instance-identifier", "clidb")
        self.assertLess(r.elapsed, PROMPT)
        port = self.cli("rds", "describe-db-instances", "--db-instance-identifier", "clidb",
                        "--query", "DBInstances[0].Endpoint.Port").json
        self.assertEqual(self.psql_ok(port, "select sum(v) from t", db="test",
                                      password="cli-pass-2"), "6")

        # Tags.
        self.cli("rds", "add-tags-to-resource", "--resource-name", arn("clidb"),
                 "--tags", "Key=team,Value=data", "Key=env,Value=prod")
        r = self.cli("rds", "list-tags-for-resource", "--resource-name", arn("clidb"))
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in r.json["TagList"]),
                         [("env", "prod"), ("team", "data")])
        self.cli("rds", "remove-tags-from-resource", "--resource-name", arn("clidb"),
                 "--tag-keys", "team")
        r = self.cli("rds", "list-tags-for-resource", "--resource-name", arn("clidb"))
        self.assertEqual(r.json["TagList"], [{"Key": "env", "Value": "prod"}])

        # Events.
        r = self.cli("rds", "describe-events", "--source-type", "db-instance",
                     "--source-identifier", "clidb", "--duration", "60")
        msgs = [e["Message"] for e in r.json["Events"]]
        for m in ("DB instance created", "Reset master credentials", "DB instance stopped",
                  "DB instance started", "DB instance shutdown", "DB instance restarted"):
            self.assertIn(m, msgs)

        # Delete.
        r = self.cli("rds", "delete-db-instance", "--db-instance-identifier", "clidb",
                     "--skip-final-snapshot")
        self.assertEqual(r.json["DBInstance"]["DBInstanceStatus"], "deleting")
        r = self.cli("rds", "wait", "db-instance-deleted", "--db-instance-identifier", "clidb")
        self.assertLess(r.elapsed, PROMPT, "the deleted-waiter did not succeed at its first poll")
        r = self.cli("rds", "describe-db-instances", "--db-instance-identifier", "clidb",
                     expect_ok=False)
        self.assertNotEqual(r.rc, 0)
        self.assertEqual(r.error_code, "DBInstanceNotFound")
        self.assertNotEqual(psql(port, "root", "cli-pass-2", "test", "select 1")[0], 0)

    def test_not_found_error_output(self):
        r = self.h.aws("rds", "describe-db-instances", "--db-instance-identifier", "nope")
        self.assertIn(r.rc, (254, 255), r)  # CLI v1: 255, v2: 254 for service errors
        self.assertEqual(r.stdout, "")
        self.assertRegex(r.stderr, r"An error occurred \(DBInstanceNotFound\) when calling the "
                                   r"DescribeDBInstances operation( \([^)]*\))?: "
                                   r"DBInstance nope not found\.")

    def test_waiter_fails_fast_on_missing_instance(self):
        # DBInstanceNotFound matches no acceptor of db-instance-available: the waiter stops at
        # the first poll and reports the service error (no 30 s polling of a missing instance).
        r = self.h.aws("rds", "wait", "db-instance-available", "--db-instance-identifier", "nope")
        self.assertNotEqual(r.rc, 0, r)
        self.assertLess(r.elapsed, PROMPT, r)
        self.assertIn("DBInstanceNotFound", r.stderr)

    def test_validation_error_output(self):
        r = self.h.aws("rds", "create-db-instance", "--db-instance-identifier", "1abc",
                       "--engine", "postgres", "--db-instance-class", "db.t3.micro",
                       "--master-username", "root", "--master-user-password", "secret99",
                       "--allocated-storage", "20")
        self.assertIn(r.rc, (254, 255), r)
        self.assertEqual(r.error_code, "InvalidParameterValue", r)

    def test_metadata_commands(self):
        r = self.h.aws("rds", "describe-db-engine-versions", "--engine", "postgres")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(any(v["EngineVersion"].startswith("15.")
                            for v in r.json["DBEngineVersions"]))
        r = self.h.aws("rds", "describe-orderable-db-instance-options", "--engine", "postgres",
                       "--db-instance-class", "db.t3.micro")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.json["OrderableDBInstanceOptions"])


    def test_sdk_endpoint_from_environment(self):
        # `localrds --help` says: export AWS_ENDPOINT_URL_RDS=http://127.0.0.1:<port>. SDKs read
        # it since botocore 1.31 (boto3 1.28, AWS CLI v2 2.13); boto3 is the SDK at hand. Debian
        # 12's boto3 (1.26) and AWS CLI (2.9.19), which the suites run with, predate it and
        # ignore it (so do the AWS CLI v1: hence --endpoint-url above): there the README's
        # other way, endpoint_url=, is what reaches localrds.
        env = {"AWS_ENDPOINT_URL_RDS": self.h.endpoint, "AWS_ACCESS_KEY_ID": "test",
               "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}
        with mock.patch.dict(os.environ, env):
            rds = boto3.session.Session().client("rds")
        if tuple(int(x) for x in botocore.__version__.split(".")[:2]) < (1, 31):
            self.assertEqual(rds.meta.endpoint_url, "https://rds.us-east-1.amazonaws.com",
                             "botocore %s read AWS_ENDPOINT_URL_RDS" % botocore.__version__)
            with mock.patch.dict(os.environ, env):
                rds = boto3.session.Session().client("rds", endpoint_url=self.h.endpoint)
        self.assertEqual(rds.meta.endpoint_url, self.h.endpoint)
        r = rds.describe_db_instances()
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)


if __name__ == "__main__":
    unittest.main()
