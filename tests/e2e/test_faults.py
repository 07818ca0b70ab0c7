"""Injected API faults (/_localrds/faults): what boto3 sees when a rule answers an error, throttles
an action or delays it, so retry logic and DR runbooks can be rehearsed against AWS's failures.
The actions that do run are real (a snapshot is a real base backup)."""

import json
import time

import botocore.exceptions

from harness import LocalrdsTestCase, MASTER_PASSWORD


class FaultsTest(LocalrdsTestCase):
    server_kwargs = {"pool_size": 1}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rds.create_db_instance(DBInstanceIdentifier="faulty", Engine="postgres",
                                   DBInstanceClass="db.t3.micro", MasterUsername="root",
                                   MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        cls.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="faulty", WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    def tearDown(self):
        self.faults("DELETE")
        super().tearDown()

    def faults(self, method, rule=None, path="/_localrds/faults"):
        return self.h.control(method, path, body=None if rule is None else json.dumps(rule))

    def retrying_client(self):
        """A client that retries as the SDKs do by default (standard mode, 5 attempts)."""
        return self.h.client(retries={"mode": "standard", "total_max_attempts": 5})

    def test_an_error_rule_is_seen_count_times_then_the_action_runs(self):
        status, added = self.faults("POST", {
            "action": "CreateDBSnapshot", "count": 2,
            "error": {"code": "InternalFailure", "http_status": 500,
                      "message": "An internal error has occurred."}})
        self.assertEqual(status, 201, added)
        once = self.rds  # no retries: every answer reaches the test
        for _ in range(2):
            with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                once.create_db_snapshot(DBInstanceIdentifier="faulty",
                                        DBSnapshotIdentifier="after-faults")
            err = ctx.exception.response
            self.assertEqual(err["Error"]["Code"], "InternalFailure")
            self.assertEqual(err["Error"]["Message"], "An internal error has occurred.")
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(self.rds.describe_db_snapshots(
            DBInstanceIdentifier="faulty", SnapshotType="manual")["DBSnapshots"], [])
        once.create_db_snapshot(DBInstanceIdentifier="faulty", DBSnapshotIdentifier="after-faults")
        self.rds.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier="after-faults", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self.assertEqual(self.faults("GET")[1]["faults"], [])  # the count is used up

    def test_the_sdks_retry_an_injected_503_and_succeed(self):
        self.faults("POST", {"action": "DescribeDBInstances", "count": 2,
                             "error": {"code": "ServiceUnavailable", "http_status": 503}})
        res = self.retrying_client().describe_db_instances(DBInstanceIdentifier="faulty")
        self.assertEqual(res["DBInstances"][0]["DBInstanceStatus"], "available")
        self.assertEqual(res["ResponseMetadata"]["RetryAttempts"], 2)

    def test_throttling_makes_boto3_back_off_and_succeed(self):
        status, added = self.faults("POST", {"action": "DescribeDBInstances",
                                             "rate_per_second": 1, "burst": 1})
        self.assertEqual(status, 201, added)
        retries = 0
        retrying = self.retrying_client()
        for _ in range(3):
            res = retrying.describe_db_instances(DBInstanceIdentifier="faulty")
            self.assertEqual(res["DBInstances"][0]["DBInstanceIdentifier"], "faulty")
            retries += res["ResponseMetadata"]["RetryAttempts"]
        self.assertGreater(retries, 0)
        once = self.rds
        throttled = 0
        for _ in range(5):
            try:
                once.describe_db_instances(DBInstanceIdentifier="faulty")
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "Throttling")
                self.assertEqual(e.response["Error"]["Message"], "Rate exceeded")
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 400)
                throttled += 1
        self.assertGreater(throttled, 0)
        self.assertIn("fault=%d" % added["fault"]["id"], self.h.log_text())

    def test_latency_delays_the_answer(self):
        self.faults("POST", {"action": "DescribeDBEngineVersions", "latency_ms": 400})
        t0 = time.monotonic()
        res = self.rds.describe_db_engine_versions(Engine="postgres")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.assertTrue(res["DBEngineVersions"])

    def test_rules_are_listed_removed_and_refused_when_wrong(self):
        status, body = self.faults("POST", {"action": "RebootDBInstance", "probability": 0.5,
                                            "error": {"code": "InvalidDBInstanceState"}})
        self.assertEqual(status, 201)
        rule = body["fault"]
        self.assertEqual(rule["error"], {"code": "InvalidDBInstanceState", "http_status": 400,
                                         "message": "Injected by a localrds fault rule."})
        self.assertEqual(self.faults("GET")[1]["faults"], [rule])
        status, body = self.faults("POST", {"action": "NoSuchAction", "latency_ms": 1})
        self.assertEqual((status, body["error"]), (400, "InvalidParameterValue"))
        self.assertEqual(body["message"], 'fault rule: "NoSuchAction" is not an RDS action')
        self.assertEqual(self.faults("DELETE", path="/_localrds/faults/%d" % rule["id"])[0], 200)
        self.assertEqual(self.faults("GET")[1]["faults"], [])
