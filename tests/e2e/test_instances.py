"""The DB instance user story through boto3, as an application developer would live it.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_instances
"""

import concurrent.futures
import contextlib
import datetime
import re
import socket
import threading
import unittest

from botocore.exceptions import ClientError

from harness import (MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, arn, port_accepts,
                     postgres_processes, psql, wait_until)

WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
MAINT_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):"
    r"([01]\d|2[0-3]):[0-5]\d$")


@contextlib.contextmanager
def relay_from(source_ip, target_port):
    """A TCP relay on 127.0.0.1 whose connections reach 127.0.0.1:target_port from source_ip:
    what the server sees of a client that comes from another address (as Docker's published
    ports do). Yields the relay's port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def pump(a, b):
        with contextlib.suppress(OSError):
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def serve():
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket()
            upstream.bind((source_ip, 0))
            upstream.connect(("127.0.0.1", target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pump, args=(a, b), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()


def event_messages(rds, identifier, **kw):
    r = rds.describe_events(SourceIdentifier=identifier, SourceType="db-instance",
                            Duration=60, **kw)
    return [e["Message"] for e in r["Events"]]


class InstanceStoryTest(LocalrdsTestCase):
    """The issue's "done when": create `test`, wait, connect, and run its whole life."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.created = cls.rds.create_db_instance(
            DBInstanceIdentifier="test", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername="root", MasterUserPassword="secret99", DBName="test",
            AllocatedStorage=20, BackupRetentionPeriod=7)["DBInstance"]
        cls.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="test", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        cls.inst = cls.rds.describe_db_instances(DBInstanceIdentifier="test")["DBInstances"][0]
        cls.port = cls.inst["Endpoint"]["Port"]

    # --- create / describe ---

    def test_create_response(self):
        c = self.created
        self.assertEqual(c["DBInstanceIdentifier"], "test")
        self.assertEqual(c["DBInstanceStatus"], "creating")
        self.assertEqual(c["Engine"], "postgres")
        self.assertEqual(c["DBInstanceClass"], "db.t3.micro")
        self.assertEqual(c["MasterUsername"], "root")
        self.assertEqual(c["DBName"], "test")
        self.assertEqual(c["BackupRetentionPeriod"], 7)
        self.assertTrue(c["DbiResourceId"].startswith("db-"), c["DbiResourceId"])
        self.assertEqual(c["DBInstanceArn"], arn("test"))
        self.assertNotIn("MasterUserPassword", c)
        self.assertNotIn("Endpoint", c)  # RDS has no endpoint yet while creating

    def test_described_instance_has_every_field_clients_read(self):
        i = self.inst
        self.assertEqual(i["DBInstanceIdentifier"], "test")
        self.assertEqual(i["DBInstanceStatus"], "available")
        self.assertRegex(i["DbiResourceId"], r"^db-[A-Z0-9]{26}$")
        self.assertEqual(i["DbiResourceId"], self.created["DbiResourceId"])
        self.assertEqual(i["DBInstanceArn"], "arn:aws:rds:us-east-1:000000000000:db:test")
        ep = i["Endpoint"]
        self.assertIsInstance(ep["Address"], str)
        self.assertTrue(ep["Address"])
        self.assertIsInstance(ep["Port"], int)
        self.assertTrue(self.h.in_port_range(ep["Port"]) or ep["Port"] == 5432, ep)
        self.assertTrue(ep["HostedZoneId"])
        self.assertEqual(i["Engine"], "postgres")
        self.assertRegex(i["EngineVersion"], r"^15\.\d+$")
        self.assertEqual(i["DBInstanceClass"], "db.t3.micro")
        self.assertEqual(i["AllocatedStorage"], 20)
        self.assertEqual(i["MasterUsername"], "root")
        self.assertEqual(i["DBName"], "test")
        self.assertRegex(i["AvailabilityZone"], r"^us-east-1[a-f]$")
        self.assertEqual(i["BackupRetentionPeriod"], 7)
        self.assertRegex(i["PreferredBackupWindow"], WINDOW)
        self.assertRegex(i["PreferredMaintenanceWindow"], MAINT_WINDOW)
        self.assertIsInstance(i["InstanceCreateTime"], datetime.datetime)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - i["InstanceCreateTime"]).total_seconds()), 600)
        self.assertIs(i["MultiAZ"], False)
        self.assertIsInstance(i["PubliclyAccessible"], bool)
        self.assertEqual(i["TagList"], [])
        self.assertEqual(i["PendingModifiedValues"], {})
        self.assertEqual(i["StorageType"], "gp2")
        self.assertEqual(i["LicenseModel"], "postgresql-license")
        self.assertIsInstance(i["AutoMinorVersionUpgrade"], bool)
        self.assertIsInstance(i["StorageEncrypted"], bool)
        self.assertIsInstance(i["DeletionProtection"], bool)
        self.assertIsInstance(i["IAMDatabaseAuthenticationEnabled"], bool)
        self.assertIsInstance(i["CopyTagsToSnapshot"], bool)
        self.assertEqual(i["ReadReplicaDBInstanceIdentifiers"], [])
        self.assertTrue(i["VpcSecurityGroups"])
        for sg in i["VpcSecurityGroups"]:
            self.assertTrue(sg["VpcSecurityGroupId"].startswith("sg-"), sg)
            self.assertEqual(sg["Status"], "active")
        self.assertEqual(i["DBParameterGroups"][0]["DBParameterGroupName"], "default.postgres15")
        self.assertTrue(i["DBParameterGroups"][0]["ParameterApplyStatus"])
        self.assertTrue(i["DBSubnetGroup"]["DBSubnetGroupName"])
        self.assertTrue(i["OptionGroupMemberships"][0]["OptionGroupName"])
        self.assertTrue(i["CACertificateIdentifier"])

    def test_describe_all_and_health_count_the_instance(self):
        ids = [i["DBInstanceIdentifier"] for i in self.rds.describe_db_instances()["DBInstances"]]
        self.assertIn("test", ids)
        health = self.h.health()
        self.assertEqual(health["status"], "running")
        self.assertEqual(health["instances"]["total"], len(ids))

    def test_identifier_is_case_insensitive(self):
        self.assertEqual(self.describe("TEST")["DBInstanceIdentifier"], "test")

    def test_describe_by_arn(self):
        # DescribeDBInstances: "DBInstanceIdentifier - The user-supplied instance identifier or
        # the Amazon Resource Name (ARN) of the DB instance."
        try:
            r = self.rds.describe_db_instances(DBInstanceIdentifier=arn("test"))
        except ClientError as e:
            self.fail("DescribeDBInstances with the instance's ARN: %s" % e)
        self.assertEqual([i["DBInstanceIdentifier"] for i in r["DBInstances"]], ["test"])

    def test_mutations_complete_before_responding(self):
        # localrds answers mutating calls when their operation is done: the next read already
        # sees the result, without any waiting.
        self.rds.create_db_instance(DBInstanceIdentifier="instant", Engine="postgres",
                                    DBInstanceClass="db.t3.micro", MasterUsername=MASTER_USER,
                                    MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        i = self.describe("instant")
        self.assertEqual(i["DBInstanceStatus"], "available")
        self.assertEqual(psql(i["Endpoint"]["Port"], MASTER_USER, MASTER_PASSWORD, "postgres",
                              "select 1")[:2], (0, "1"))
        self.rds.stop_db_instance(DBInstanceIdentifier="instant")
        self.assertEqual(self.status("instant"), "stopped")
        self.rds.start_db_instance(DBInstanceIdentifier="instant")
        self.assertEqual(self.status("instant"), "available")
        self.rds.delete_db_instance(DBInstanceIdentifier="instant", SkipFinalSnapshot=True)
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="instant")

    # --- connecting ---

    def test_master_password_logs_in_and_wrong_password_is_refused(self):
        out = self.psql_ok(self.port, "select current_user, current_database()", db="test")
        self.assertEqual(out, "root|test")
        # The endpoint address the API gives is the one to use.
        rc, out, err = psql(self.port, "root", "secret99", "test", "select 1")
        self.assertEqual((rc, out), (0, "1"), err)
        rc, out, err = psql(self.port, "root", "wrong-password", "test", "select 1")
        self.assertNotEqual(rc, 0)
        self.assertIn("password authentication failed", err)
        rc, out, err = psql(self.port, "nobody", "secret99", "test", "select 1")
        self.assertNotEqual(rc, 0)

    def test_master_is_rds_superuser_not_superuser(self):
        out = self.psql_ok(
            self.port,
            "select rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, "
            "pg_has_role('root', 'rds_superuser', 'member') from pg_roles where rolname = 'root'",
            db="test")
        self.assertEqual(out, "f|t|t|t|t")
        # What the master can do, and what it cannot, as on RDS.
        self.psql_ok(self.port, "create role e2e_app login password 'app-pass-1'", db="test")
        # PostgreSQL 15: CREATEROLE does not make the creator a member; RDS users grant first.
        self.psql_ok(self.port, "grant e2e_app to root", db="test")
        self.psql_ok(self.port, "create database e2e_appdb owner e2e_app", db="test")
        self.assertEqual(psql(self.port, "e2e_app", "app-pass-1", "e2e_appdb", "select 42")[1],
                         "42")
        rc, _, err = psql(self.port, "root", "secret99", "test", "alter role root superuser")
        self.assertNotEqual(rc, 0)
        self.assertIn("must be superuser", err)
        self.psql_ok(self.port, "drop database e2e_appdb", db="test")
        self.psql_ok(self.port, "drop role e2e_app", db="test")

    def test_master_owns_the_default_postgres_database(self):
        # On RDS `\l` shows the master user as the owner of `postgres` and `template1` (only
        # rdsadmin and template0 belong to rdsadmin). With PostgreSQL 15's public schema owned
        # by pg_database_owner, that is what lets the master create tables in `postgres`, the
        # database an instance made without DBName is used through.
        inst = self.create("nodbname")
        port = inst["Endpoint"]["Port"]
        self.assertNotIn("DBName", inst)
        self.psql_ok(port, "create table notes(v text); insert into notes values ('hi')")
        self.assertEqual(self.psql_ok(port, "select v from notes"), "hi")
        owners = self.psql_ok(port, "select datname, pg_get_userbyid(datdba) from pg_database "
                                    "where datname in ('postgres', 'template1') order by 1")
        self.assertEqual(owners, "postgres|root\ntemplate1|root")
        self.rds.delete_db_instance(DBInstanceIdentifier="nodbname", SkipFinalSnapshot=True)

    def test_database_is_owned_by_master(self):
        out = self.psql_ok(self.port, "select pg_get_userbyid(datdba) from pg_database "
                                      "where datname = 'test'")
        self.assertEqual(out, "root")
        self.assertIn("PostgreSQL 15.", self.psql_ok(self.port, "select version()"))

    def test_empty_parameters_are_absent_as_terraform_sends_them(self):
        """The Terraform provider always sends EngineVersion and DBName, empty when unset
        (../shared/IAC-CALLS.md); RDS takes an empty string as absent."""
        status, body, err = self.h.query({
            "Action": "CreateDBInstance", "DBInstanceIdentifier": "tf-empty",
            "DBInstanceClass": "db.t3.micro", "Engine": "postgres", "EngineVersion": "",
            "DBName": "", "MasterUsername": MASTER_USER, "MasterUserPassword": MASTER_PASSWORD,
            "AllocatedStorage": "20", "AutoMinorVersionUpgrade": "true",
            "PreferredMaintenanceWindow": ""})
        self.assertEqual(status, 200, err or body[:300])
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="tf-empty", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        i = self.describe("tf-empty")
        self.assertTrue(i["EngineVersion"].startswith("15."), i["EngineVersion"])
        self.assertNotIn("DBName", i)
        self.assertRegex(i["PreferredMaintenanceWindow"], MAINT_WINDOW)
        self.rds.delete_db_instance(DBInstanceIdentifier="tf-empty", SkipFinalSnapshot=True)

    # --- tags ---

    def test_tags_add_list_remove_via_arn(self):
        a = self.inst["DBInstanceArn"]
        self.rds.add_tags_to_resource(ResourceName=a, Tags=[{"Key": "env", "Value": "dev"},
                                                            {"Key": "team", "Value": "db"}])
        tags = self.rds.list_tags_for_resource(ResourceName=a)["TagList"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags),
                         [("env", "dev"), ("team", "db")])
        # Same key again overwrites.
        self.rds.add_tags_to_resource(ResourceName=a, Tags=[{"Key": "env", "Value": "prod"}])
        described = {t["Key"]: t["Value"] for t in self.describe("test")["TagList"]}
        self.assertEqual(described, {"env": "prod", "team": "db"})
        self.rds.remove_tags_from_resource(ResourceName=a, TagKeys=["env", "team"])
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=a)["TagList"], [])
        self.assertEqual(self.describe("test")["TagList"], [])
        self.assertClientError("DBInstanceNotFound", 404, self.rds.list_tags_for_resource,
                               ResourceName=arn("no-such-db"))

    def test_tag_values_survive_the_wire(self):
        # XML-special characters, non-ASCII, '+', '=' and '&' (form encoding) and empty values.
        tags = [{"Key": "xml", "Value": "a<b>&c\"d'e"},
                {"Key": "unicode", "Value": "caf\u00e9 \u2713 \u6771\u4eac"},
                {"Key": "form", "Value": "1+1=2&x=%41 y"},
                {"Key": "empty", "Value": ""},
                {"Key": "with space", "Value": "v"}]
        a = arn("test")
        self.rds.add_tags_to_resource(ResourceName=a, Tags=tags)
        got = self.rds.list_tags_for_resource(ResourceName=a)["TagList"]
        self.assertEqual(sorted(got, key=lambda t: t["Key"]), sorted(tags, key=lambda t: t["Key"]))
        self.rds.remove_tags_from_resource(ResourceName=a, TagKeys=[t["Key"] for t in tags])
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=a)["TagList"], [])

    def test_concurrent_creates_of_one_identifier(self):
        def attempt(_):
            try:
                self.rds.create_db_instance(
                    DBInstanceIdentifier="racer", Engine="postgres",
                    DBInstanceClass="db.t3.micro", MasterUsername=MASTER_USER,
                    MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
                return "ok"
            except ClientError as e:
                return e.response["Error"]["Code"]
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            outcomes = sorted(pool.map(attempt, range(5)))
        self.assertEqual(outcomes, ["DBInstanceAlreadyExists"] * 4 + ["ok"])
        self.wait_available("racer")
        rid = self.describe("racer")["DbiResourceId"]
        self.assertEqual([d for d in self.h.instance_dirs()
                          if d not in {i["DbiResourceId"] for i in
                                       self.rds.describe_db_instances()["DBInstances"]}], [])
        self.rds.delete_db_instance(DBInstanceIdentifier="racer", SkipFinalSnapshot=True)
        self.assertNotIn(rid, self.h.instance_dirs())

    def test_create_with_tags(self):
        inst = self.create("tagged", Tags=[{"Key": "owner", "Value": "e2e"}])
        self.assertEqual(inst["TagList"], [{"Key": "owner", "Value": "e2e"}])
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=arn("tagged"))["TagList"],
                         [{"Key": "owner", "Value": "e2e"}])
        self.rds.delete_db_instance(DBInstanceIdentifier="tagged", SkipFinalSnapshot=True)

    # --- modify ---

    def test_modify_password(self):
        inst = self.create("pwd")
        port = inst["Endpoint"]["Port"]
        self.psql_ok(port, "select 1")
        resp = self.rds.modify_db_instance(DBInstanceIdentifier="pwd",
                                           MasterUserPassword="n3w-Passw0rd",
                                           ApplyImmediately=True)["DBInstance"]
        self.assertEqual(resp["PendingModifiedValues"].get("MasterUserPassword"), "****")
        self.assertNotIn("n3w-Passw0rd", str(resp))
        self.wait_available("pwd")
        self.assertEqual(self.psql_ok(port, "select 7", password="n3w-Passw0rd"), "7")
        rc, _, err = psql(port, MASTER_USER, MASTER_PASSWORD, "postgres", "select 1")
        self.assertNotEqual(rc, 0, "the old password still works")
        self.assertIn("password authentication failed", err)
        self.assertEqual(self.describe("pwd")["PendingModifiedValues"], {})
        self.assertIn("Reset master credentials", event_messages(self.rds, "pwd"))
        # Without ApplyImmediately the password changes at once too (as on RDS).
        self.rds.modify_db_instance(DBInstanceIdentifier="pwd", MasterUserPassword="third-pass")
        self.wait_available("pwd")
        self.assertEqual(self.psql_ok(port, "select 8", password="third-pass"), "8")
        self.rds.delete_db_instance(DBInstanceIdentifier="pwd", SkipFinalSnapshot=True)

    def test_class_change_pending_then_immediate(self):
        self.create("klass")
        r = self.rds.modify_db_instance(DBInstanceIdentifier="klass",
                                        DBInstanceClass="db.t3.small",
                                        ApplyImmediately=False)["DBInstance"]
        self.assertEqual(r["PendingModifiedValues"].get("DBInstanceClass"), "db.t3.small")
        i = self.describe("klass")
        self.assertEqual(i["DBInstanceClass"], "db.t3.micro")
        self.assertEqual(i["PendingModifiedValues"].get("DBInstanceClass"), "db.t3.small")
        self.assertEqual(i["DBInstanceStatus"], "available")
        # Storage without ApplyImmediately waits as well.
        self.rds.modify_db_instance(DBInstanceIdentifier="klass", AllocatedStorage=30)
        self.assertEqual(self.describe("klass")["PendingModifiedValues"].get("AllocatedStorage"),
                         30)
        self.assertEqual(self.describe("klass")["AllocatedStorage"], 20)
        # Applied now.
        self.rds.modify_db_instance(DBInstanceIdentifier="klass", DBInstanceClass="db.t3.small",
                                    AllocatedStorage=30, ApplyImmediately=True)
        self.wait_available("klass")
        i = self.describe("klass")
        self.assertEqual(i["DBInstanceClass"], "db.t3.small")
        self.assertEqual(i["AllocatedStorage"], 30)
        self.assertNotIn("DBInstanceClass", i["PendingModifiedValues"])
        self.assertNotIn("AllocatedStorage", i["PendingModifiedValues"])
        self.psql_ok(i["Endpoint"]["Port"], "select 1")
        self.rds.delete_db_instance(DBInstanceIdentifier="klass", SkipFinalSnapshot=True)

    def test_modify_backup_settings(self):
        self.create("backups", BackupRetentionPeriod=7)
        r = self.rds.modify_db_instance(DBInstanceIdentifier="backups", BackupRetentionPeriod=3,
                                        PreferredBackupWindow="04:00-04:30",
                                        PreferredMaintenanceWindow="Mon:05:00-Mon:05:30",
                                        ApplyImmediately=True)["DBInstance"]
        self.assertEqual(r["BackupRetentionPeriod"], 3)
        i = self.describe("backups")
        self.assertEqual(i["BackupRetentionPeriod"], 3)
        self.assertEqual(i["PreferredBackupWindow"], "04:00-04:30")
        self.assertEqual(i["PreferredMaintenanceWindow"], "mon:05:00-mon:05:30")
        self.rds.delete_db_instance(DBInstanceIdentifier="backups", SkipFinalSnapshot=True)

    def test_rename(self):
        inst = self.create("old-name", DBName="app")
        port = inst["Endpoint"]["Port"]
        rid = inst["DbiResourceId"]
        self.psql_ok(port, "create table t(v int); insert into t values (41), (42)", db="app")
        self.rds.add_tags_to_resource(ResourceName=arn("old-name"),
                                      Tags=[{"Key": "keep", "Value": "me"}])
        r = self.rds.modify_db_instance(DBInstanceIdentifier="old-name",
                                        NewDBInstanceIdentifier="new-name",
                                        ApplyImmediately=True)["DBInstance"]
        self.assertIn(r["DBInstanceIdentifier"], ("old-name", "new-name"))
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="old-name")
        self.wait_available("new-name")
        i = self.describe("new-name")
        self.assertEqual(i["DbiResourceId"], rid)
        self.assertEqual(i["DBInstanceArn"], arn("new-name"))
        self.assertEqual(i["Endpoint"]["Port"], port)
        self.assertEqual(self.psql_ok(port, "select sum(v) from t", db="app"), "83")
        self.assertEqual(self.rds.list_tags_for_resource(ResourceName=arn("new-name"))["TagList"],
                         [{"Key": "keep", "Value": "me"}])
        self.assertIn("new-name", [e["SourceIdentifier"] for e in self.rds.describe_events(
            SourceType="db-instance", Duration=60)["Events"]])
        self.assertEqual(
            self.rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id",
                                                     "Values": [rid]}])["DBInstances"][0]
            ["DBInstanceIdentifier"], "new-name")
        # The old name is free again.
        self.create("old-name")
        self.rds.delete_db_instance(DBInstanceIdentifier="old-name", SkipFinalSnapshot=True)
        self.rds.delete_db_instance(DBInstanceIdentifier="new-name", SkipFinalSnapshot=True)

    def test_rename_without_apply_immediately_is_pending(self):
        self.create("later-name")
        self.rds.modify_db_instance(DBInstanceIdentifier="later-name",
                                    NewDBInstanceIdentifier="renamed-later")
        i = self.describe("later-name")
        self.assertEqual(i["PendingModifiedValues"].get("DBInstanceIdentifier"), "renamed-later")
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                               DBInstanceIdentifier="renamed-later")
        self.rds.delete_db_instance(DBInstanceIdentifier="later-name", SkipFinalSnapshot=True)

    def test_port_change(self):
        inst = self.create("porty", DBName="app")
        old = inst["Endpoint"]["Port"]
        new = next(p for p in range(self.h.port_hi, self.h.port_lo, -1)
                   if p != old and not port_accepts(p))
        self.psql_ok(old, "create table keep(v int); insert into keep values (5)", db="app")
        self.rds.modify_db_instance(DBInstanceIdentifier="porty", DBPortNumber=new,
                                    ApplyImmediately=True)
        self.wait_available("porty")
        i = self.describe("porty")
        self.assertEqual(i["Endpoint"]["Port"], new)
        self.assertEqual(self.psql_ok(new, "select v from keep", db="app"), "5")
        self.assertNotEqual(psql(old, MASTER_USER, MASTER_PASSWORD, "postgres", "select 1")[0], 0,
                            "the old port still serves the instance")
        self.rds.delete_db_instance(DBInstanceIdentifier="porty", SkipFinalSnapshot=True)

    # --- stop / start / reboot ---

    def test_stop_start_reboot_keep_data(self):
        inst = self.create("life", DBName="app")
        port = inst["Endpoint"]["Port"]
        self.psql_ok(port, "create table items(id int primary key, name text);"
                           "insert into items select g, 'item ' || g "
                           "from generate_series(1, 100) g",
                     db="app")
        r = self.rds.stop_db_instance(DBInstanceIdentifier="life")["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("stopping", "stopped"))
        self.wait_status("life", "stopped")
        rc, _, _ = psql(port, MASTER_USER, MASTER_PASSWORD, "app", "select 1")
        self.assertNotEqual(rc, 0, "a stopped instance still accepts connections")
        self.assertEqual(self.h.health()["instances"]["by_status"].get("stopped"), 1)

        r = self.rds.start_db_instance(DBInstanceIdentifier="life")["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("starting", "available"))
        self.wait_available("life")
        port = self.describe("life")["Endpoint"]["Port"]
        self.assertEqual(self.psql_ok(port, "select count(*) from items", db="app"), "100")
        self.psql_ok(port, "insert into items values (101, 'after start')", db="app")

        before = self.psql_ok(port, "select pg_postmaster_start_time()")
        r = self.rds.reboot_db_instance(DBInstanceIdentifier="life")["DBInstance"]
        self.assertIn(r["DBInstanceStatus"], ("rebooting", "available"))
        self.wait_available("life")
        port = self.describe("life")["Endpoint"]["Port"]
        self.assertEqual(self.psql_ok(port, "select count(*) from items", db="app"), "101")
        self.assertNotEqual(self.psql_ok(port, "select pg_postmaster_start_time()"), before,
                            "reboot did not restart PostgreSQL")

        msgs = event_messages(self.rds, "life")
        for m in ("DB instance created", "DB instance stopped", "DB instance started",
                  "DB instance shutdown", "DB instance restarted"):
            self.assertIn(m, msgs)
        self.assertLess(msgs.index("DB instance created"), msgs.index("DB instance stopped"))
        self.assertLess(msgs.index("DB instance stopped"), msgs.index("DB instance started"))
        self.assertLess(msgs.index("DB instance started"), msgs.index("DB instance shutdown"))
        self.assertLess(msgs.index("DB instance shutdown"), msgs.index("DB instance restarted"))
        self.rds.delete_db_instance(DBInstanceIdentifier="life", SkipFinalSnapshot=True)

    # --- events ---

    def test_describe_events_shape_and_filter(self):
        events = self.rds.describe_events(SourceIdentifier="test", SourceType="db-instance",
                                          Duration=60)["Events"]
        created = [e for e in events if e["Message"] == "DB instance created"]
        self.assertEqual(len(created), 1, events)
        e = created[0]
        self.assertEqual(e["SourceIdentifier"], "test")
        self.assertEqual(e["SourceType"], "db-instance")
        self.assertEqual(e["SourceArn"], arn("test"))
        self.assertIsInstance(e["Date"], datetime.datetime)
        self.assertIn("creation", e["EventCategories"])
        self.assertTrue(all(ev["SourceIdentifier"] == "test" for ev in events), events)
        # All sources, no filter: includes ours.
        all_events = self.rds.describe_events(Duration=60)["Events"]
        self.assertTrue(any(ev["SourceIdentifier"] == "test" for ev in all_events))
        # A category filter that excludes creation.
        backups = self.rds.describe_events(SourceIdentifier="test", SourceType="db-instance",
                                           EventCategories=["backup"], Duration=60)["Events"]
        self.assertNotIn("DB instance created", [ev["Message"] for ev in backups])

    # --- delete ---

    def test_delete(self):
        inst = self.create("doomed")
        port = inst["Endpoint"]["Port"]
        rid = inst["DbiResourceId"]
        self.psql_ok(port, "select 1")
        r = self.rds.delete_db_instance(DBInstanceIdentifier="doomed",
                                        SkipFinalSnapshot=True)["DBInstance"]
        self.assertEqual(r["DBInstanceIdentifier"], "doomed")
        self.assertEqual(r["DBInstanceStatus"], "deleting")
        self.rds.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier="doomed", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        err = self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_instances,
                                     DBInstanceIdentifier="doomed")
        self.assertEqual(err["Message"], "DBInstance doomed not found.")
        self.assertNotEqual(psql(port, MASTER_USER, MASTER_PASSWORD, "postgres", "select 1")[0], 0)
        self.assertNotIn(rid, self.h.instance_dirs())
        self.assertIn("DB instance deleted", event_messages(self.rds, "doomed"))
        # The identifier can be used again at once.
        again = self.create("doomed")
        self.assertNotEqual(again["DbiResourceId"], rid)
        self.rds.delete_db_instance(DBInstanceIdentifier="doomed", SkipFinalSnapshot=True)

    def test_delete_a_stopped_instance(self):
        inst = self.create("stopped-then-deleted")
        self.rds.stop_db_instance(DBInstanceIdentifier="stopped-then-deleted")
        self.wait_status("stopped-then-deleted", "stopped")
        self.rds.delete_db_instance(DBInstanceIdentifier="stopped-then-deleted",
                                    SkipFinalSnapshot=True)
        self.rds.get_waiter("db_instance_deleted").wait(
            DBInstanceIdentifier="stopped-then-deleted",
            WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        self.assertNotIn(inst["DbiResourceId"], self.h.instance_dirs())

    def test_create_with_explicit_port_and_zone(self):
        port = next(p for p in range(self.h.port_lo + 100, self.h.port_hi)
                    if not port_accepts(p))
        inst = self.create("placed", Port=port, AvailabilityZone="us-east-1c")
        self.assertEqual(inst["Endpoint"]["Port"], port)
        self.assertEqual(inst["AvailabilityZone"], "us-east-1c")
        self.assertEqual(self.psql_ok(port, "select 1"), "1")
        self.rds.delete_db_instance(DBInstanceIdentifier="placed", SkipFinalSnapshot=True)

    # --- metadata ---

    def test_describe_db_engine_versions(self):
        versions = self.rds.describe_db_engine_versions(Engine="postgres")["DBEngineVersions"]
        self.assertTrue(versions)
        for v in versions:
            self.assertEqual(v["Engine"], "postgres")
            self.assertRegex(v["EngineVersion"], r"^\d+\.\d+$")
        fifteen = [v for v in versions if v["EngineVersion"].startswith("15.")]
        self.assertTrue(fifteen, versions)
        self.assertEqual(fifteen[0]["DBParameterGroupFamily"], "postgres15")
        self.assertIn(self.inst["EngineVersion"], [v["EngineVersion"] for v in versions])

    def test_describe_orderable_options(self):
        opts = self.rds.describe_orderable_db_instance_options(Engine="postgres")
        classes = {o["DBInstanceClass"] for o in opts["OrderableDBInstanceOptions"]}
        self.assertIn("db.t3.micro", classes)
        for o in opts["OrderableDBInstanceOptions"]:
            self.assertEqual(o["Engine"], "postgres")
        micro = self.rds.describe_orderable_db_instance_options(
            Engine="postgres", DBInstanceClass="db.t3.micro")["OrderableDBInstanceOptions"]
        self.assertTrue(micro)
        self.assertTrue(all(o["DBInstanceClass"] == "db.t3.micro" for o in micro))


class ResetTest(LocalrdsTestCase):
    """POST /_localrds/reset removes every instance, its files and its PostgreSQL server."""

    def test_reset(self):
        a = self.create("reset-a")
        b = self.create("reset-b")
        self.rds.stop_db_instance(DBInstanceIdentifier="reset-b")
        self.wait_status("reset-b", "stopped")
        status, body = self.h.control("POST", "/_localrds/reset", timeout=120)
        self.assertEqual((status, body), (200, {"reset": True}))
        self.assertEqual(self.rds.describe_db_instances()["DBInstances"], [])
        self.assertEqual(self.h.health()["instances"]["total"], 0)
        self.assertEqual(self.h.instance_dirs(), [])
        wait_until(lambda: not postgres_processes(self.h.data_dir), 10, 0.1,
                   "PostgreSQL servers to be gone after reset")
        self.assertFalse(port_accepts(a["Endpoint"]["Port"]))
        # Everything works as on a fresh start, the same identifiers included.
        again = self.create("reset-a")
        self.assertNotEqual(again["DbiResourceId"], a["DbiResourceId"])
        self.assertNotEqual(b["DbiResourceId"], again["DbiResourceId"])
        self.assertEqual(self.psql_ok(again["Endpoint"]["Port"], "select 1"), "1")


class DescribePaginationTest(LocalrdsTestCase):
    """DescribeDBInstances with 21 instances: MaxRecords=20 pages, the Marker, and filters."""

    N = 21

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.names = ["page-%02d" % i for i in range(cls.N)]

        def make(name):
            cls.rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres",
                                       DBInstanceClass="db.t3.micro", MasterUsername="root",
                                       MasterUserPassword="secret99", AllocatedStorage=20)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(make, cls.names))
        wait_until(lambda: cls.h.health()["instances"]["by_status"].get("available") == cls.N,
                   60, 0.2, "21 instances available")

    def test_max_records_20_and_marker(self):
        first = self.rds.describe_db_instances(MaxRecords=20)
        self.assertEqual(len(first["DBInstances"]), 20)
        self.assertIn("Marker", first)
        second = self.rds.describe_db_instances(MaxRecords=20, Marker=first["Marker"])
        self.assertEqual(len(second["DBInstances"]), 1)
        self.assertNotIn("Marker", second)
        got = [i["DBInstanceIdentifier"] for i in first["DBInstances"] + second["DBInstances"]]
        self.assertEqual(sorted(got), self.names)
        self.assertEqual(len(set(got)), self.N)

    def test_default_page_holds_all_21(self):
        r = self.rds.describe_db_instances()
        self.assertEqual(len(r["DBInstances"]), self.N)
        self.assertNotIn("Marker", r)

    def test_paginator(self):
        pages = list(self.rds.get_paginator("describe_db_instances").paginate(
            PaginationConfig={"PageSize": 20}))
        self.assertEqual([len(p["DBInstances"]) for p in pages], [20, 1])
        self.assertEqual(sorted(i["DBInstanceIdentifier"] for p in pages
                                for i in p["DBInstances"]), self.names)

    def test_filters(self):
        r = self.rds.describe_db_instances(
            Filters=[{"Name": "db-instance-id", "Values": ["page-03", "page-17"]}])
        self.assertEqual(sorted(i["DBInstanceIdentifier"] for i in r["DBInstances"]),
                         ["page-03", "page-17"])
        r = self.rds.describe_db_instances(
            Filters=[{"Name": "db-instance-id", "Values": [arn("page-05")]}])
        self.assertEqual([i["DBInstanceIdentifier"] for i in r["DBInstances"]], ["page-05"])
        r = self.rds.describe_db_instances(Filters=[{"Name": "engine", "Values": ["postgres"]}])
        self.assertEqual(len(r["DBInstances"]), self.N)
        r = self.rds.describe_db_instances(Filters=[{"Name": "engine", "Values": ["mysql"]}])
        self.assertEqual(r["DBInstances"], [])
        rid = self.describe("page-09")["DbiResourceId"]
        r = self.rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [rid]}])
        self.assertEqual([i["DBInstanceIdentifier"] for i in r["DBInstances"]], ["page-09"])
        r = self.rds.describe_db_instances(
            Filters=[{"Name": "db-instance-id", "Values": ["nope"]}])
        self.assertEqual(r["DBInstances"], [])

    def test_events_pagination(self):
        everything = self.rds.describe_events(SourceType="db-instance", Duration=60)["Events"]
        self.assertGreaterEqual(len(everything), self.N)
        pages = list(self.rds.get_paginator("describe_events").paginate(
            SourceType="db-instance", Duration=60, PaginationConfig={"PageSize": 20}))
        self.assertEqual(len(pages[0]["Events"]), 20)
        paged = [(e["SourceIdentifier"], e["Message"], e["Date"])
                 for p in pages for e in p["Events"]]
        self.assertEqual(paged, [(e["SourceIdentifier"], e["Message"], e["Date"])
                                 for e in everything])

    def test_every_instance_has_its_own_port_and_answers(self):
        insts = self.rds.describe_db_instances()["DBInstances"]
        ports = [i["Endpoint"]["Port"] for i in insts]
        self.assertEqual(len(set(ports)), self.N, ports)
        for p in (ports[0], ports[-1]):
            self.assertEqual(psql(p, MASTER_USER, MASTER_PASSWORD, "postgres", "select 1")[:2],
                             (0, "1"))


class ListenAddressTest(LocalrdsTestCase):
    """--pg-listen-address '*' (what the localrds image sets, for published ports): a client that
    comes from another address logs in with its password; by default only loopback may."""

    server_kwargs = {"extra_args": ["--pg-listen-address", "*"]}

    def test_a_client_from_another_address_logs_in_with_its_password(self):
        inst = self.create("everywhere", DBName="app")
        with relay_from("127.0.0.2", inst["Endpoint"]["Port"]) as port:
            self.assertEqual(psql(port, MASTER_USER, MASTER_PASSWORD, "app",
                                  "select inet_client_addr()")[:2], (0, "127.0.0.2"))
            rc, _, err = psql(port, MASTER_USER, "wrong-password", "app", "select 1")
            self.assertNotEqual(rc, 0)
            self.assertIn("password authentication failed", err)


class LoopbackOnlyTest(LocalrdsTestCase):
    def test_a_client_from_another_address_is_refused_by_default(self):
        inst = self.create("loopback", DBName="app")
        with relay_from("127.0.0.2", inst["Endpoint"]["Port"]) as port:
            rc, _, err = psql(port, MASTER_USER, MASTER_PASSWORD, "app", "select 1")
        self.assertNotEqual(rc, 0)
        self.assertIn('no pg_hba.conf entry for host "127.0.0.2"', err)


if __name__ == "__main__":
    unittest.main()
