"""Every error a client can meet: the RDS code, HTTP status and envelope, through boto3 and by hand.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_errors
"""

import socket
import unittest

from botocore.exceptions import ClientError

from harness import (MASTER_PASSWORD, LocalrdsTestCase, arn, parse_error, raw_socket,
                     wait_until)


class ErrorsTest(LocalrdsTestCase):
    """Errors against one server holding an available, a stopped and a protected instance."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        base = dict(Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="root",
                    MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        cls.rds.create_db_instance(DBInstanceIdentifier="err", **base)
        cls.rds.create_db_instance(DBInstanceIdentifier="err-stopped", **base)
        cls.rds.create_db_instance(DBInstanceIdentifier="err-protected", DeletionProtection=True,
                                   **base)
        waiter = cls.rds.get_waiter("db_instance_available")
        for i in ("err", "err-stopped", "err-protected"):
            waiter.wait(DBInstanceIdentifier=i, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        cls.rds.stop_db_instance(DBInstanceIdentifier="err-stopped")
        wait_until(lambda: cls.rds.describe_db_instances(DBInstanceIdentifier="err-stopped")
                   ["DBInstances"][0]["DBInstanceStatus"] == "stopped", 30, 0.2)
        cls.base = base

    def create_args(self, **kw):
        args = dict(self.base, DBInstanceIdentifier="bad-one")
        args.update(kw)
        return args

    def assertCreateFails(self, code, status=400, **kw):
        err = self.assertClientError(code, status, self.rds.create_db_instance,
                                     **self.create_args(**kw))
        self.assertEqual(err.get("Type"), "Sender", err)
        self.assertTrue(err.get("Message"), err)
        return err

    def assertHealthy(self):
        self.assertEqual(self.h.health()["status"], "running")
        self.assertEqual(self.describe("err")["DBInstanceStatus"], "available")

    def instance_ids(self):
        return sorted(i["DBInstanceIdentifier"]
                      for i in self.rds.describe_db_instances()["DBInstances"])

    # --- DBInstanceNotFound ---

    def test_not_found_everywhere(self):
        calls = [
            (self.rds.describe_db_instances, dict(DBInstanceIdentifier="nope")),
            (self.rds.modify_db_instance, dict(DBInstanceIdentifier="nope",
                                               BackupRetentionPeriod=3)),
            (self.rds.delete_db_instance, dict(DBInstanceIdentifier="nope",
                                               SkipFinalSnapshot=True)),
            (self.rds.reboot_db_instance, dict(DBInstanceIdentifier="nope")),
            (self.rds.stop_db_instance, dict(DBInstanceIdentifier="nope")),
            (self.rds.start_db_instance, dict(DBInstanceIdentifier="nope")),
        ]
        for fn, kw in calls:
            with self.subTest(action=fn.__name__):
                err = self.assertClientError("DBInstanceNotFound", 404, fn, **kw)
                self.assertEqual(err["Message"], "DBInstance nope not found.")
                self.assertEqual(err["Type"], "Sender")
        for fn in (self.rds.list_tags_for_resource,):
            with self.subTest(action=fn.__name__):
                self.assertClientError("DBInstanceNotFound", 404, fn, ResourceName=arn("nope"))
        with self.subTest(action="add_tags_to_resource"):
            self.assertClientError("DBInstanceNotFound", 404, self.rds.add_tags_to_resource,
                                   ResourceName=arn("nope"), Tags=[{"Key": "k", "Value": "v"}])
        with self.subTest(action="waiter"):
            # The deleted-waiter treats DBInstanceNotFound as success at the first poll.
            self.rds.get_waiter("db_instance_deleted").wait(
                DBInstanceIdentifier="nope", WaiterConfig={"Delay": 1, "MaxAttempts": 1})

    def test_not_found_by_raw_request_has_rds_envelope(self):
        status, body, err = self.h.query({"Action": "DescribeDBInstances",
                                          "DBInstanceIdentifier": "nope"})
        self.assertEqual(status, 404)
        self.assertEqual(err["Code"], "DBInstanceNotFound")
        self.assertEqual(err["Type"], "Sender")
        self.assertEqual(err["Message"], "DBInstance nope not found.")
        self.assertRegex(err["RequestId"],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

    def test_request_id_header_matches_body(self):
        with self.assertRaises(ClientError) as cm:
            self.rds.describe_db_instances(DBInstanceIdentifier="nope")
        meta = cm.exception.response["ResponseMetadata"]
        self.assertTrue(meta.get("RequestId"))
        self.assertEqual(meta["HTTPHeaders"].get("x-amzn-requestid"), meta["RequestId"])
        ok = self.rds.describe_db_instances(DBInstanceIdentifier="err")["ResponseMetadata"]
        self.assertTrue(ok["RequestId"])
        self.assertNotEqual(ok["RequestId"], meta["RequestId"])

    # --- DBInstanceAlreadyExists ---

    def test_already_exists(self):
        err = self.assertCreateFails("DBInstanceAlreadyExists", DBInstanceIdentifier="err")
        self.assertIn("already exists", err["Message"])
        # Identifiers are case-insensitive.
        self.assertCreateFails("DBInstanceAlreadyExists", DBInstanceIdentifier="ERR")
        # Renaming onto an existing instance.
        self.assertClientError("DBInstanceAlreadyExists", 400, self.rds.modify_db_instance,
                               DBInstanceIdentifier="err-protected",
                               NewDBInstanceIdentifier="err", ApplyImmediately=True)
        self.assertEqual(self.describe("err-protected")["DBInstanceStatus"], "available")

    # --- InvalidDBInstanceState ---

    def test_invalid_state(self):
        cases = [
            ("stop a stopped instance", self.rds.stop_db_instance, "err-stopped"),
            ("start an available instance", self.rds.start_db_instance, "err"),
            ("reboot a stopped instance", self.rds.reboot_db_instance, "err-stopped"),
        ]
        for what, fn, ident in cases:
            with self.subTest(what):
                err = self.assertClientError("InvalidDBInstanceState", 400, fn,
                                             DBInstanceIdentifier=ident)
                self.assertEqual(err["Type"], "Sender")
        self.assertEqual(self.describe("err-stopped")["DBInstanceStatus"], "stopped")
        self.assertEqual(self.describe("err")["DBInstanceStatus"], "available")

    # --- InvalidParameterValue ---

    def test_invalid_identifiers(self):
        for ident in ("1abc", "a--b", "abc-", "a" * 64, "a_b", "a.b", "-abc"):
            with self.subTest(identifier=ident):
                self.assertCreateFails("InvalidParameterValue", DBInstanceIdentifier=ident)
        with self.subTest("rename to an invalid identifier"):
            self.assertClientError("InvalidParameterValue", 400, self.rds.modify_db_instance,
                                   DBInstanceIdentifier="err", NewDBInstanceIdentifier="1abc",
                                   ApplyImmediately=True)
        self.assertNotIn("1abc", self.instance_ids())

    def test_longest_valid_identifier_is_accepted(self):
        ident = "a" + "b" * 62  # 63 characters: the limit
        inst = self.create(ident)
        self.assertEqual(inst["DBInstanceIdentifier"], ident)
        self.rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)

    def test_invalid_passwords(self):
        for pw in ("short7c", "with/slash", "with@at-sign", 'with"quote', "with space",
                   "x" * 129):
            with self.subTest(password=pw[:20]):
                err = self.assertCreateFails("InvalidParameterValue", MasterUserPassword=pw)
                self.assertNotIn(pw, err["Message"], "the password is echoed in the error")
        with self.subTest("modify with a bad password"):
            self.assertClientError("InvalidParameterValue", 400, self.rds.modify_db_instance,
                                   DBInstanceIdentifier="err", MasterUserPassword="short",
                                   ApplyImmediately=True)

    def test_invalid_master_usernames(self):
        for user in ("select", "1root", "rdsadmin", "a-b", "u" * 64):
            with self.subTest(user=user):
                self.assertCreateFails("InvalidParameterValue", MasterUsername=user)

    def test_invalid_values(self):
        cases = {
            "BackupRetentionPeriod 36": dict(BackupRetentionPeriod=36),
            "AllocatedStorage 10 on gp2": dict(AllocatedStorage=10, StorageType="gp2"),
            "AllocatedStorage 70000": dict(AllocatedStorage=70000),
            "Port 80": dict(Port=80),
            "PreferredBackupWindow 3am": dict(PreferredBackupWindow="3am"),
            "PreferredBackupWindow 15 minutes": dict(PreferredBackupWindow="03:00-03:15"),
            "PreferredMaintenanceWindow bad": dict(PreferredMaintenanceWindow="someday"),
            "Engine foo": dict(Engine="foo"),
            "DBName starting with a digit": dict(DBName="1db"),
            "DBName with a dash": dict(DBName="my-db"),
            "overlapping windows": dict(PreferredBackupWindow="05:00-05:30",
                                        PreferredMaintenanceWindow="mon:05:00-mon:05:30"),
            "AvailabilityZone of another region": dict(AvailabilityZone="eu-west-1a"),
            "StorageType floppy": dict(StorageType="floppy"),
        }
        for what, kw in cases.items():
            with self.subTest(what):
                self.assertCreateFails("InvalidParameterValue", **kw)
        with self.subTest("Engine mysql is named honestly"):
            err = self.assertCreateFails("InvalidParameterValue", Engine="mysql")
            self.assertIn("mysql", err["Message"])
        for n in (5, 19, 101):
            with self.subTest(MaxRecords=n):
                err = self.assertClientError("InvalidParameterValue", 400,
                                             self.rds.describe_db_instances, MaxRecords=n)
                self.assertIn("MaxRecords", err["Message"])
        with self.subTest("modify BackupRetentionPeriod 36"):
            self.assertClientError("InvalidParameterValue", 400, self.rds.modify_db_instance,
                                   DBInstanceIdentifier="err", BackupRetentionPeriod=36)
        with self.subTest("shrink storage"):
            self.assertClientError("InvalidParameterValue", 400, self.rds.modify_db_instance,
                                   DBInstanceIdentifier="err", AllocatedStorage=19,
                                   ApplyImmediately=True)
        self.assertEqual(self.describe("err")["AllocatedStorage"], 20)
        self.assertEqual(self.describe("err")["BackupRetentionPeriod"], 1)

    def test_failed_creates_leave_nothing_behind(self):
        before = self.instance_ids()
        dirs = self.h.instance_dirs()
        for kw in (dict(DBInstanceIdentifier="1abc"), dict(MasterUserPassword="x"),
                   dict(DBInstanceClass="db.foo.bar"),
                   dict(MultiAZ=True, AvailabilityZone="us-east-1a")):
            with self.assertRaises(ClientError):
                self.rds.create_db_instance(**self.create_args(**kw))
        self.assertEqual(self.instance_ids(), before)
        self.assertEqual(self.h.instance_dirs(), dirs)
        self.assertNotIn("bad-one", str(self.rds.describe_events(Duration=60)["Events"]))

    def test_invalid_tags(self):
        for what, tags in {"aws: prefix": [{"Key": "aws:owner", "Value": "x"}],
                           "key of 129 characters": [{"Key": "k" * 129, "Value": "x"}],
                           "value of 257 characters": [{"Key": "k", "Value": "v" * 257}]}.items():
            with self.subTest(what):
                self.assertClientError("InvalidParameterValue", 400,
                                       self.rds.add_tags_to_resource, ResourceName=arn("err"),
                                       Tags=tags)
        with self.subTest("not an ARN"):
            self.assertClientError("InvalidParameterValue", 400,
                                   self.rds.list_tags_for_resource, ResourceName="err")
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=arn("err"))["TagList"], [])

    # --- InvalidParameterCombination ---

    def test_invalid_combinations(self):
        for what, kw in {"class db.foo.bar": dict(DBInstanceClass="db.foo.bar"),
                         "EngineVersion 14.9": dict(EngineVersion="14.9"),
                         "MultiAZ in a chosen zone": dict(MultiAZ=True,
                                                          AvailabilityZone="us-east-1a")}.items():
            with self.subTest(what):
                self.assertCreateFails("InvalidParameterCombination", **kw)
        with self.subTest("modify to class db.foo.bar"):
            self.assertClientError("InvalidParameterCombination", 400,
                                   self.rds.modify_db_instance, DBInstanceIdentifier="err",
                                   DBInstanceClass="db.foo.bar", ApplyImmediately=True)
        with self.subTest("delete without SkipFinalSnapshot or FinalDBSnapshotIdentifier"):
            self.assertClientError("InvalidParameterCombination", 400,
                                   self.rds.delete_db_instance, DBInstanceIdentifier="err")
        with self.subTest("delete with an invalid final snapshot identifier"):
            err = self.assertClientError("InvalidParameterValue", 400,
                                         self.rds.delete_db_instance, DBInstanceIdentifier="err",
                                         FinalDBSnapshotIdentifier="err--final")
            self.assertIn("FinalDBSnapshotIdentifier", err["Message"])
        with self.subTest("delete with both"):
            self.assertClientError("InvalidParameterCombination", 400,
                                   self.rds.delete_db_instance, DBInstanceIdentifier="err",
                                   SkipFinalSnapshot=True, FinalDBSnapshotIdentifier="err-final")
        with self.subTest("ForceFailover on single-AZ"):
            self.assertClientError("InvalidParameterCombination", 400,
                                   self.rds.reboot_db_instance, DBInstanceIdentifier="err",
                                   ForceFailover=True)
        with self.subTest("delete a protected instance"):
            self.assertClientError("InvalidParameterCombination", 400,
                                   self.rds.delete_db_instance,
                                   DBInstanceIdentifier="err-protected", SkipFinalSnapshot=True)
        # None of it touched the instances.
        self.assertEqual(self.describe("err")["DBInstanceStatus"], "available")
        self.assertEqual(self.describe("err-protected")["DBInstanceStatus"], "available")

    def test_deletion_protection_can_be_lifted(self):
        self.create("guarded", DeletionProtection=True)
        self.assertClientError("InvalidParameterCombination", 400, self.rds.delete_db_instance,
                               DBInstanceIdentifier="guarded", SkipFinalSnapshot=True)
        self.rds.modify_db_instance(DBInstanceIdentifier="guarded", DeletionProtection=False,
                                    ApplyImmediately=True)
        self.assertIs(self.describe("guarded")["DeletionProtection"], False)
        self.rds.delete_db_instance(DBInstanceIdentifier="guarded", SkipFinalSnapshot=True)
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="guarded")

    # --- DBParameterGroupNotFound, InvalidAction ---

    def test_parameter_group_not_found(self):
        err = self.assertCreateFails("DBParameterGroupNotFound", 404,
                                     DBParameterGroupName="custom")
        self.assertIn("custom", err["Message"])

    def test_unimplemented_real_action_is_invalid_action(self):
        err = self.assertClientError("InvalidAction", 400, self.rds.create_db_cluster_snapshot,
                                     DBClusterIdentifier="err", DBClusterSnapshotIdentifier="snap")
        self.assertIn("CreateDBClusterSnapshot", err["Message"])

    # --- by hand: the Query protocol's own errors ---

    def test_missing_parameter(self):
        status, _, err = self.h.query({"Action": "CreateDBInstance", "Engine": "postgres",
                                       "DBInstanceClass": "db.t3.micro"})
        self.assertEqual((status, err["Code"], err["Type"]), (400, "MissingParameter", "Sender"))
        self.assertIn("DBInstanceIdentifier", err["Message"])
        status, _, err = self.h.query({"Action": "DeleteDBInstance", "SkipFinalSnapshot": "true"})
        self.assertEqual((status, err["Code"]), (400, "MissingParameter"))
        self.assertHealthy()

    def test_missing_action(self):
        status, body, err = self.h.query({"DBInstanceIdentifier": "err"})
        self.assertEqual((status, err["Code"], err["Type"]), (400, "MissingAction", "Sender"), body)
        status, body = self.h.raw("POST", "/", "")
        self.assertEqual((status, parse_error(body)["Code"]), (400, "MissingAction"))
        status, body = self.h.raw("GET", "/")
        self.assertEqual((status, parse_error(body)["Code"]), (400, "MissingAction"))

    def test_invalid_action(self):
        for action in ("Nope", "CreateDBClusterSnapshot", "describedbinstances"):
            with self.subTest(action=action):
                status, body, err = self.h.query({"Action": action})
                self.assertEqual((status, err["Code"]), (400, "InvalidAction"), body)
                self.assertIn(action, err["Message"])

    def test_malformed_query_string(self):
        status, body = self.h.raw("POST", "/", "Action=%ZZ&Version=2014-10-31")
        err = parse_error(body)
        self.assertEqual((status, err["Code"], err["Type"]),
                         (404, "MalformedQueryString", "Sender"))
        status, body = self.h.raw("GET", "/?Action=DescribeDBInstances&Version=2014-10-31&X=%G1")
        self.assertEqual((status, parse_error(body)["Code"]), (404, "MalformedQueryString"))
        self.assertHealthy()

    def test_get_query_string_requests_work(self):
        status, body, err = self.h.query({"Action": "DescribeDBInstances",
                                          "DBInstanceIdentifier": "err"}, method="GET")
        self.assertEqual(status, 200, body)
        self.assertIsNone(err)
        self.assertIn("<DescribeDBInstancesResponse", body)
        self.assertIn("<DBInstanceIdentifier>err</DBInstanceIdentifier>", body)
        status, body, err = self.h.query({"Action": "DescribeDBInstances",
                                          "DBInstanceIdentifier": "nope"}, method="GET")
        self.assertEqual((status, err["Code"]), (404, "DBInstanceNotFound"))

    def test_unsigned_requests_are_refused_like_rds(self):
        body = "Action=DescribeDBInstances&Version=2014-10-31"
        status, text = self.h.raw("POST", "/", body, headers={"Authorization": None})
        err = parse_error(text)
        self.assertEqual((status, err["Code"], err["Type"]), (403, "MissingAuthenticationToken", "Sender"))
        self.assertEqual(err["Message"], "Request is missing Authentication Token")
        status, text = self.h.raw("POST", "/", body, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertEqual((status, parse_error(text)["Code"]), (400, "IncompleteSignature"))
        # A presigned GET (SigV4 in the query string) is signed too.
        status, text = self.h.raw(
            "GET", "/?Action=DescribeDBInstances&Version=2014-10-31&X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=test%2F20260101%2Fus-east-1%2Frds%2Faws4_request&X-Amz-Signature=00",
            headers={"Authorization": None})
        self.assertEqual(status, 200, text[:300])

    def test_requests_from_web_pages_are_refused(self):
        # An <img src> on any page the user visits, or a form posted to the controls.
        status, _ = self.h.raw("GET", "/?Action=DescribeDBInstances&Version=2014-10-31",
                               headers={"Sec-Fetch-Site": "cross-site"})
        self.assertEqual(status, 403)
        status, _ = self.h.raw("POST", "/_localrds/reset", "",
                               headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 403)
        self.assertHealthy()

    def test_other_http_methods_are_refused(self):
        for method in ("PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                status, body = self.h.raw(method, "/", "Action=DescribeDBInstances")
                self.assertGreaterEqual(status, 400)
                self.assertLess(status, 500)
                self.assertIsNotNone(parse_error(body), body)
        self.assertHealthy()

    def test_body_over_1_mib_is_413(self):
        # Declared too large: refused from the headers.
        out = raw_socket(self.h.api_port, b"POST / HTTP/1.1\r\nHost: localrds\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: 2000000\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out[:200])
        self.assertIsNotNone(parse_error(out.split(b"\r\n\r\n", 1)[1].decode()))
        # Really sent.
        body = b"Action=DescribeDBInstances&Version=2014-10-31&Pad=" + b"a" * (1024 * 1024 + 1)
        out = raw_socket(self.h.api_port, b"POST / HTTP/1.1\r\nHost: localrds\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out[:200])
        # Just under the limit is an ordinary request.
        pad = 1024 * 1024 - 200
        status, body = self.h.raw("POST", "/", "Action=DescribeDBInstances&Version=2014-10-31"
                                  "&DBInstanceIdentifier=err&Pad=" + "a" * pad)
        self.assertEqual(status, 200, body[:300])
        self.assertHealthy()

    def test_garbage_on_the_socket_gets_4xx(self):
        payloads = [
            b"\x00\x01\x02garbage\xff\xfe\r\n\r\n",
            b"NOT-HTTP AT ALL\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"POST / HTTP/9.9\r\n\r\n",
            b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
        ]
        for p in payloads:
            with self.subTest(payload=p[:30]):
                out = raw_socket(self.h.api_port, p)
                self.assertRegex(out[:12], rb"^HTTP/1\.[01] 4\d\d", out[:200])
        # A connection dropped half-way through a request.
        with socket.create_connection(("127.0.0.1", self.h.api_port), timeout=5) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=Desc")
        self.assertHealthy()

    def test_control_errors(self):
        status, body = self.h.crash_instance("nope")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"], "DBInstanceNotFound")
        status, body = self.h.control("GET", "/_localrds/nothing-here")
        self.assertEqual(status, 404)

    @classmethod
    def tearDownClass(cls):
        # After every test, whatever their order: nothing they did broke the server or the
        # instances (a failure here fails the suite as an error in tearDownClass).
        try:
            if cls.h is not None and cls.h.alive():
                statuses = {i["DBInstanceIdentifier"]: i["DBInstanceStatus"]
                            for i in cls.rds.describe_db_instances()["DBInstances"]}
                expected = {"err": "available", "err-stopped": "stopped",
                            "err-protected": "available"}
                if cls.h.health()["status"] != "running" or statuses != expected:
                    raise AssertionError("after the suite: health %r, instances %r (expected %r)"
                                         % (cls.h.health(), statuses, expected))
            elif cls.h is not None:
                raise AssertionError("localrds died during the suite")
        finally:
            super().tearDownClass()


class QuotaTest(LocalrdsTestCase):
    """--max-instances 1: the second create is InstanceQuotaExceeded."""

    server_kwargs = {"max_instances": 1}

    def test_instance_quota(self):
        self.create("only-one")
        err = self.assertClientError(
            "InstanceQuotaExceeded", 400, self.rds.create_db_instance,
            DBInstanceIdentifier="second", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername="root", MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        self.assertEqual(err["Type"], "Sender")
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="second")
        # Room again once the first is gone.
        self.rds.delete_db_instance(DBInstanceIdentifier="only-one", SkipFinalSnapshot=True)
        self.create("second")


class ParameterValidationTest(LocalrdsTestCase):
    """Values RDS refuses are refused everywhere they are accepted (Create, Modify, the two
    restores, CreateDBInstanceReadReplica), with RDS's code, status and message, and nothing is
    stored or created."""

    SOURCE = "pv"
    SNAPSHOT = "pv-snap"
    MARKER_REFUSED = ("Invalid value for Marker: pass the Marker returned by the previous page of "
                      "the same request.")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base = dict(Engine="postgres", DBInstanceClass="db.t3.micro", MasterUsername="root",
                        MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        cls.rds.create_db_instance(DBInstanceIdentifier=cls.SOURCE, BackupRetentionPeriod=1,
                                   **cls.base)
        cls.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=cls.SOURCE, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        cls.rds.create_db_snapshot(DBInstanceIdentifier=cls.SOURCE,
                                   DBSnapshotIdentifier=cls.SNAPSHOT)
        cls.rds.get_waiter("db_snapshot_available").wait(
            DBSnapshotIdentifier=cls.SNAPSHOT, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        wait_until(lambda: cls.rds.describe_db_instances(DBInstanceIdentifier=cls.SOURCE)
                   ["DBInstances"][0].get("LatestRestorableTime")
                   and cls.rds.describe_db_instances(DBInstanceIdentifier=cls.SOURCE)
                   ["DBInstances"][0]["DBInstanceStatus"] == "available", 60, 0.5,
                   "pv to be available and restorable")

    def instance_ids(self):
        return sorted(i["DBInstanceIdentifier"]
                      for i in self.rds.describe_db_instances()["DBInstances"])

    def refused_everywhere(self, code, message, **params):
        """`params` are refused with (code, 400, message) by CreateDBInstance, ModifyDBInstance,
        both restores and CreateDBInstanceReadReplica where the action has them; the source is
        unchanged and no instance appeared."""
        before = self.describe(self.SOURCE)
        names = set(params)
        calls = [("CreateDBInstance", self.rds.create_db_instance,
                  dict(self.base, DBInstanceIdentifier="pv-new", **params)),
                 ("ModifyDBInstance", self.rds.modify_db_instance,
                  dict(DBInstanceIdentifier=self.SOURCE, ApplyImmediately=True, **params))]
        if names <= {"StorageThroughput", "Iops", "AllocatedStorage", "StorageType"}:
            calls.append(("RestoreDBInstanceFromDBSnapshot",
                          self.rds.restore_db_instance_from_db_snapshot,
                          dict(DBInstanceIdentifier="pv-restored",
                               DBSnapshotIdentifier=self.SNAPSHOT, **params)))
        if names <= {"StorageThroughput", "Iops", "AllocatedStorage", "StorageType",
                     "MaxAllocatedStorage"}:
            calls.append(("RestoreDBInstanceToPointInTime",
                          self.rds.restore_db_instance_to_point_in_time,
                          dict(SourceDBInstanceIdentifier=self.SOURCE,
                               TargetDBInstanceIdentifier="pv-pitr",
                               UseLatestRestorableTime=True, **params)))
        if "PromotionTier" not in names:
            calls.append(("CreateDBInstanceReadReplica",
                          self.rds.create_db_instance_read_replica,
                          dict(DBInstanceIdentifier="pv-replica",
                               SourceDBInstanceIdentifier=self.SOURCE, **params)))
        for action, fn, kw in calls:
            with self.subTest(action=action, params=params):
                err = self.assertClientError(code, 400, fn, **kw)
                self.assertEqual(err["Message"], message)
                self.assertEqual(err["Type"], "Sender")
        after = self.describe(self.SOURCE)
        for name in ("MonitoringInterval", "PromotionTier", "MaxAllocatedStorage", "Iops",
                     "StorageThroughput", "PerformanceInsightsRetentionPeriod"):
            self.assertEqual(after.get(name), before.get(name), name)
        self.assertEqual(after["DBInstanceStatus"], "available")
        self.assertEqual(self.instance_ids(), [self.SOURCE])

    def test_monitoring_interval(self):
        for value in (-1, 2, 61):
            self.refused_everywhere(
                "InvalidParameterValue",
                "Invalid value %d for MonitoringInterval. Must be one of 0, 1, 5, 10, 15, 30, 60"
                % value, MonitoringInterval=value)

    def test_promotion_tier(self):
        for value in (-1, 16):
            self.refused_everywhere(
                "InvalidParameterValue",
                "Invalid value %d for PromotionTier. Must be between 0 and 15" % value,
                PromotionTier=value)

    def test_storage_throughput(self):
        self.refused_everywhere(
            "InvalidParameterValue", "Invalid value -1 for StorageThroughput. Must not be negative",
            StorageThroughput=-1)
        self.refused_everywhere(
            "InvalidParameterCombination",
            "You can't specify storage throughput for engine postgres and storage type gp2.",
            StorageThroughput=125)

    def test_iops(self):
        self.refused_everywhere(
            "InvalidParameterValue", "Invalid value -1 for Iops. Must not be negative", Iops=-1)
        err = self.assertClientError("InvalidParameterCombination", 400,
                                     self.rds.create_db_instance,
                                     **dict(self.base, DBInstanceIdentifier="pv-io1",
                                            StorageType="io1", AllocatedStorage=100, Iops=30))
        self.assertEqual(err["Message"], "Invalid iops to storage (GB) ratio for engine name "
                                         "postgres and storage type io1: 0.3000")
        self.assertEqual(self.instance_ids(), [self.SOURCE])

    def test_performance_insights_retention(self):
        for value in (-1, 8, 744):
            self.refused_everywhere(
                "InvalidParameterValue",
                "Invalid value %d for PerformanceInsightsRetentionPeriod. Must be 7, 731, or a "
                "multiple of 31 between 31 and 713" % value,
                PerformanceInsightsRetentionPeriod=value)

    def test_max_allocated_storage(self):
        for value in (-1, 10, 20):
            self.refused_everywhere("InvalidParameterCombination",
                                    "Max storage size must be greater than storage size",
                                    MaxAllocatedStorage=value)
        self.refused_everywhere(
            "InvalidParameterCombination",
            "The maximum allocated storage must be increased by at least 10 percent.",
            MaxAllocatedStorage=21)

    def test_valid_settings_are_still_stored(self):
        self.rds.modify_db_instance(DBInstanceIdentifier=self.SOURCE, ApplyImmediately=True,
                                    PerformanceInsightsRetentionPeriod=93,
                                    MaxAllocatedStorage=100, MonitoringInterval=0)
        inst = self.describe(self.SOURCE)
        self.assertEqual(inst["PerformanceInsightsRetentionPeriod"], 93)
        self.assertEqual(inst["MaxAllocatedStorage"], 100)
        self.assertEqual(inst["DBInstanceStatus"], "available")
        # A storage change that leaves the stored ceiling under the 10% margin is refused.
        err = self.assertClientError("InvalidParameterCombination", 400,
                                     self.rds.modify_db_instance,
                                     DBInstanceIdentifier=self.SOURCE, AllocatedStorage=95,
                                     ApplyImmediately=True)
        self.assertEqual(err["Message"],
                         "The maximum allocated storage must be increased by at least 10 percent.")
        self.assertEqual(self.describe(self.SOURCE)["AllocatedStorage"], 20)

    def test_reserved_master_usernames(self):
        for user in ("rds_replication", "rds_password", "RDS_REPLICATION", "admin"):
            with self.subTest(user=user):
                err = self.assertClientError(
                    "InvalidParameterValue", 400, self.rds.create_db_instance,
                    **dict(self.base, DBInstanceIdentifier="pv-user", MasterUsername=user))
                self.assertEqual(err["Message"], "MasterUsername %s cannot be used as it is a "
                                                 "reserved word used by the engine" % user)
        self.assertEqual(self.instance_ids(), [self.SOURCE])

    def test_malformed_integers_and_booleans(self):
        cases = [
            ("MaxRecords", "Action=DescribeDBInstances&MaxRecords=20%00junk", "20\ufffdjunk",
             "an integer"),
            ("MaxRecords", "Action=DescribeDBInstances&MaxRecords=%2020", " 20", "an integer"),
            ("AllocatedStorage", "Action=CreateDBInstance&DBInstanceIdentifier=pv-raw"
             "&Engine=postgres&DBInstanceClass=db.t3.micro&MasterUsername=root"
             "&MasterUserPassword=" + MASTER_PASSWORD + "&AllocatedStorage=20%00junk",
             "20\ufffdjunk", "an integer"),
            ("DeletionProtection", "Action=ModifyDBInstance&DBInstanceIdentifier=pv"
             "&DeletionProtection=true%00junk", "true\ufffdjunk", "true or false"),
        ]
        for name, body, shown, kind in cases:
            with self.subTest(body=body):
                status, text = self.h.raw("POST", "/", body + "&Version=2014-10-31")
                err = parse_error(text)
                self.assertEqual((status, err["Code"], err["Type"]),
                                 (400, "InvalidParameterValue", "Sender"), text)
                self.assertEqual(err["Message"], "Invalid value '%s' for parameter %s: it must be "
                                                 "%s." % (shown, name, kind))
        self.assertEqual(self.instance_ids(), [self.SOURCE])
        self.assertIs(self.describe(self.SOURCE)["DeletionProtection"], False)

    def test_garbage_markers(self):
        calls = [
            (self.rds.describe_db_instances, {}, "garbage!"),
            (self.rds.describe_db_instances, {}, "1abc"),
            (self.rds.describe_db_snapshots, {}, "garbage"),
            (self.rds.describe_db_snapshots, {}, "+20"),
            (self.rds.describe_db_instance_automated_backups, {}, " 0"),
            (self.rds.describe_events, {}, "garbage"),
            (self.rds.describe_db_engine_versions, {}, "-1"),
            (self.rds.describe_orderable_db_instance_options, {"Engine": "postgres"}, "x1"),
        ]
        for fn, kw, marker in calls:
            with self.subTest(action=fn.__name__, marker=marker):
                err = self.assertClientError("InvalidParameterValue", 400, fn, Marker=marker,
                                             **kw)
                self.assertEqual(err["Message"], self.MARKER_REFUSED)
        # The markers localrds hands out still work.
        first = self.rds.describe_orderable_db_instance_options(Engine="postgres", MaxRecords=20)
        self.assertIn("Marker", first)
        second = self.rds.describe_orderable_db_instance_options(Engine="postgres", MaxRecords=20,
                                                                 Marker=first["Marker"])
        self.assertTrue(second["OrderableDBInstanceOptions"])
        self.assertEqual(self.rds.describe_db_instances(Marker="pv")["DBInstances"], [])

    def test_point_in_time_source_is_named_once(self):
        rid = self.describe(self.SOURCE)["DbiResourceId"]
        backups_arn = self.rds.describe_db_instance_automated_backups(
            DBInstanceIdentifier=self.SOURCE)["DBInstanceAutomatedBackups"][0][
                "DBInstanceAutomatedBackupsArn"]
        message = ("Specify only one of SourceDBInstanceIdentifier, SourceDbiResourceId and "
                   "SourceDBInstanceAutomatedBackupsArn.")
        for what, sources in {
                "identifier and a garbage resource id": dict(
                    SourceDBInstanceIdentifier=self.SOURCE, SourceDbiResourceId="garbage"),
                "identifier and its own resource id": dict(
                    SourceDBInstanceIdentifier=self.SOURCE, SourceDbiResourceId=rid),
                "resource id and backups ARN": dict(
                    SourceDbiResourceId=rid, SourceDBInstanceAutomatedBackupsArn=backups_arn),
                "all three": dict(SourceDBInstanceIdentifier=self.SOURCE,
                                  SourceDbiResourceId=rid,
                                  SourceDBInstanceAutomatedBackupsArn=backups_arn)}.items():
            with self.subTest(what):
                err = self.assertClientError(
                    "InvalidParameterCombination", 400,
                    self.rds.restore_db_instance_to_point_in_time,
                    TargetDBInstanceIdentifier="pv-pitr", UseLatestRestorableTime=True, **sources)
                self.assertEqual(err["Message"], message)
        self.assertEqual(self.instance_ids(), [self.SOURCE])

if __name__ == "__main__":
    unittest.main()
