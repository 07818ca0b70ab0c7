"""The web console's HTTP side, driven over HTTP as its pages drive it: a session, RDS actions in
JSON through the same services boto3 reaches (what one makes, the other sees, errors alike),
the query editor's SQL on a real instance and the DR drill's steady writer, and what keeps other
pages out (no token, another origin, framing). The console's pages themselves are driven in a
real Chromium by tests/browser/.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_console
"""

import json
import threading
import unittest
import urllib.parse

from harness import (LocalrdsTestCase, MASTER_PASSWORD, MASTER_USER, psql, raw_request,
                     wait_until)

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": None}


class ConsoleClient:
    """What console/app.js does: a session, then calls with its token."""

    def __init__(self, port, body="{}"):
        self.port = port
        status, text = raw_request(port, "POST", "/console/api/session", body,
                                   {"Content-Type": "application/json", "Authorization": None})
        self.status = status
        self.token = json.loads(text).get("token") if status == 200 else None

    def headers(self, ctype):
        return {"Content-Type": ctype, "Authorization": None,
                "X-Localrds-Console-Token": self.token}

    def rds(self, action, region=None, **params):
        params["Action"] = action
        path = "/console/api/rds" + ("?region=" + region if region else "")
        status, text = raw_request(self.port, "POST", path, urllib.parse.urlencode(params),
                                   self.headers("application/x-www-form-urlencoded"),
                                   timeout=120)
        return status, json.loads(text)

    def post(self, call, body):
        status, text = raw_request(self.port, "POST", "/console/api/" + call, json.dumps(body),
                                   self.headers("application/json"), timeout=120)
        return status, json.loads(text)

    def get(self, call):
        status, text = raw_request(self.port, "GET", "/console/api/" + call, None,
                                   self.headers("application/json"))
        return status, json.loads(text)


class ConsoleApiTest(LocalrdsTestCase):

    def setUp(self):
        self.console = ConsoleClient(self.h.api_port)
        self.assertEqual(self.console.status, 200)

    def test_a_browser_is_sent_to_the_console_which_is_served_with_its_guards(self):
        status, _ = raw_request(self.h.api_port, "GET", "/", None,
                                {"Accept": "text/html", "Authorization": None})
        self.assertEqual(status, 302)
        status, page = raw_request(self.h.api_port, "GET", "/console/", None,
                                   {"Authorization": None})
        self.assertEqual(status, 200)
        self.assertIn("<script src=\"app.js\"", page)
        self.assertNotIn("http://", page.replace("http://www.w3.org", ""))  # nothing off-site

    def test_what_the_console_makes_boto3_sees_and_errors_are_rds_errors(self):
        status, made = self.console.rds(
            "CreateDBInstance", DBInstanceIdentifier="fromconsole", Engine="postgres",
            DBInstanceClass="db.t3.micro", MasterUsername=MASTER_USER,
            MasterUserPassword=MASTER_PASSWORD, AllocatedStorage="20",
            BackupRetentionPeriod="7", DBName="todo", **{"Tags.Tag.1.Key": "workshop",
                                                        "Tags.Tag.1.Value": "1"})
        self.assertEqual(status, 200, made)
        self.addCleanup(self._delete_quietly, made["result"]["DBInstance"]["DbiResourceId"])
        self.assertEqual(made["result"]["DBInstance"]["DBInstanceStatus"], "creating")
        self.wait_available("fromconsole")
        seen = self.rds.describe_db_instances(DBInstanceIdentifier="fromconsole")["DBInstances"][0]
        self.assertEqual(seen["BackupRetentionPeriod"], 7)
        self.assertEqual(seen["TagList"], [{"Key": "workshop", "Value": "1"}])
        status, described = self.console.rds("DescribeDBInstances",
                                              DBInstanceIdentifier="fromconsole")
        self.assertEqual(status, 200)
        mine = described["result"]["DBInstances"][0]
        self.assertEqual(mine["DBInstanceArn"], seen["DBInstanceArn"])
        self.assertEqual(mine["Endpoint"]["Port"], seen["Endpoint"]["Port"])
        # Every field boto3 reads is there (an older botocore's model knows fewer of them).
        self.assertLessEqual(set(seen), set(mine))
        self.assertEqual(mine["InstanceCreateTime"][:19],
                         seen["InstanceCreateTime"].strftime("%Y-%m-%dT%H:%M:%S"))
        # Monitoring's sample: the client sessions PostgreSQL has (one psql waiting in pg_sleep).
        sleeper = threading.Thread(target=psql, args=(seen["Endpoint"]["Port"], MASTER_USER,
                                                      MASTER_PASSWORD, "todo",
                                                      "SELECT pg_sleep(4)"))
        sleeper.start()
        try:
            sample = wait_until(
                lambda: (lambda s: s if s["DatabaseConnections"] else None)(
                    self.console.get("metrics?DBInstanceIdentifier=fromconsole")[1]),
                timeout=10, desc="a client session in the metrics")
        finally:
            sleeper.join()
        self.assertGreaterEqual(sample["DatabaseConnections"], 1)
        self.assertIsNone(sample["ReplicaLag"])
        status, gone = self.console.get("metrics?DBInstanceIdentifier=nope")
        self.assertEqual((status, gone["error"]["code"]), (404, "DBInstanceNotFound"))
        # Errors: the code, message and status boto3 gets.
        status, err = self.console.rds("DeleteDBInstance", DBInstanceIdentifier="nope",
                                       SkipFinalSnapshot="true")
        self.assertEqual(status, 404)
        with self.assertRaises(self.rds.exceptions.DBInstanceNotFoundFault) as boto:
            self.rds.delete_db_instance(DBInstanceIdentifier="nope", SkipFinalSnapshot=True)
        self.assertEqual(err["error"]["code"], boto.exception.response["Error"]["Code"])
        self.assertEqual(err["error"]["message"], boto.exception.response["Error"]["Message"])
        status, err = self.console.rds("CreateDBSnapshot", DBInstanceIdentifier="fromconsole",
                                       DBSnapshotIdentifier="-bad")
        self.assertEqual(status, 400)
        self.assertEqual(err["error"]["code"], "InvalidParameterValue")

    def test_the_query_editor_runs_sql_on_the_real_endpoint_and_a_replica_refuses_writes(self):
        port = self.create("editor", DBName="todo")["Endpoint"]["Port"]
        status, ran = self.console.post("sql", {
            "DBInstanceIdentifier": "editor", "password": MASTER_PASSWORD,
            "sql": "CREATE TABLE todos (id int, title text); "
                   "INSERT INTO todos VALUES (1, 'snapshot'), (2, NULL); "
                   "SELECT * FROM todos ORDER BY id"})
        self.assertEqual(status, 200, ran)
        self.assertEqual([r["command"] for r in ran["results"]],
                         ["CREATE TABLE", "INSERT 0 2", "SELECT 2"])
        self.assertEqual(ran["results"][2]["columns"], ["id", "title"])
        self.assertEqual(ran["results"][2]["rows"], [["1", "snapshot"], ["2", None]])
        # psql sees what the editor wrote: the same server, the same database.
        rc, out, _ = psql(port, MASTER_USER, MASTER_PASSWORD, "todo", "SELECT count(*) FROM todos")
        self.assertEqual((rc, out), (0, "2"))
        status, wrong = self.console.post("sql", {"DBInstanceIdentifier": "editor",
                                                  "password": "not-it", "sql": "SELECT 1"})
        self.assertEqual(status, 400)
        self.assertEqual(wrong["error"]["sqlstate"], "28P01")
        self.assertIn("password authentication failed", wrong["error"]["message"])
        self.assertNotIn("not-it", self.h.log_text())  # never logged
        status, _ = self.console.post("sql", {"DBInstanceIdentifier": "nope",
                                              "password": MASTER_PASSWORD, "sql": "SELECT 1"})
        self.assertEqual(status, 404)
        self.rds.create_db_instance_read_replica(DBInstanceIdentifier="editor-ro",
                                                 SourceDBInstanceIdentifier="editor")
        self.addCleanup(self._delete_quietly,
                        self.describe("editor-ro")["DbiResourceId"])
        self.wait_available("editor-ro")
        status, refused = self.console.post("sql", {
            "DBInstanceIdentifier": "editor-ro", "password": MASTER_PASSWORD,
            "sql": "INSERT INTO todos VALUES (3, 'on a replica')"})
        self.assertEqual(status, 400)
        self.assertEqual(refused["error"]["sqlstate"], "25006")
        self.assertEqual(refused["error"]["message"],
                         "cannot execute INSERT in a read-only transaction")

    def test_a_drill_measures_recovery_and_loses_nothing_through_a_multi_az_failover(self):
        first = self.create("drilled", DBName="todo", MultiAZ=True)["Endpoint"]
        status, started = self.console.post("drill/writer", {"DBInstanceIdentifier": "drilled",
                                                             "password": MASTER_PASSWORD})
        self.assertEqual(status, 200, started)
        self.assertTrue(started["drill"]["running"])
        wait_until(lambda: self.console.get("drill?DBInstanceIdentifier=drilled")[1]["drill"]
                   ["acknowledged"] >= 10, timeout=30, desc="ten acknowledged writes")
        status, faulted = self.console.post("drill/fault", {"DBInstanceIdentifier": "drilled",
                                                            "fault": "failover"})
        self.assertEqual(status, 200, faulted)
        recovered = wait_until(
            lambda: (lambda d: d if d["recoveryMs"] is not None else None)(
                self.console.get("drill?DBInstanceIdentifier=drilled")[1]["drill"]),
            timeout=60, desc="the writer's recovery after the failover")
        self.assertGreater(recovered["recoveryMs"], 0)
        self.wait_available("drilled")
        status, stopped = self.console.post("drill/stop", {"DBInstanceIdentifier": "drilled"})
        self.assertEqual(status, 200, stopped)
        drill = stopped["drill"]
        self.assertTrue(drill["verified"])
        self.assertEqual(drill["lostRows"], 0)  # Multi-AZ: no acknowledged commit lost
        self.assertFalse(drill["running"])
        self.assertIn("fault", [t["kind"] for t in drill["timeline"]])
        self.assertEqual(self.describe("drilled")["Endpoint"], first)  # the endpoint stayed
        events = [e["Message"] for e in self.rds.describe_events(
            SourceIdentifier="drilled", SourceType="db-instance")["Events"]]
        self.assertTrue(any("failover" in m.lower() for m in events), events)
        rc, out, _ = psql(first["Port"], MASTER_USER, MASTER_PASSWORD, "todo",
                          "SELECT count(*) FROM localrds_drill")
        self.assertEqual(rc, 0)
        self.assertGreaterEqual(int(out), drill["acknowledged"])
        status, bad = self.console.post("drill/fault", {"DBInstanceIdentifier": "drilled",
                                                        "fault": "meteor"})
        self.assertEqual((status, bad["error"]["code"]), (400, "InvalidParameterValue"))

    def test_nothing_without_the_token_and_nothing_from_another_origin(self):
        for token in (None, "0" * 64):
            hdrs = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": None,
                    "X-Localrds-Console-Token": token}
            status, text = raw_request(
                self.h.api_port, "POST", "/console/api/rds",
                "Action=CreateDBInstance&DBInstanceIdentifier=stranger&Engine=postgres&"
                "DBInstanceClass=db.t3.micro&MasterUsername=a&MasterUserPassword=secret99&"
                "AllocatedStorage=20", hdrs)
            self.assertEqual(status, 403, text)
            self.assertEqual(json.loads(text)["error"]["code"], "AccessDenied")
        # A page of another origin, with a good token even, is refused by the origin rules.
        for extra in ({"Origin": "http://127.0.0.2:8000"}, {"Sec-Fetch-Site": "cross-site"},
                      {"Referer": "http://evil.example/"}):
            hdrs = self.console.headers("application/x-www-form-urlencoded")
            hdrs.update(extra)
            status, _ = raw_request(self.h.api_port, "POST", "/console/api/rds",
                                    "Action=DescribeDBInstances", hdrs)
            self.assertEqual(status, 403, extra)
            status, text = raw_request(self.h.api_port, "POST", "/console/api/session", "{}",
                                       dict(extra, **{"Authorization": None}))
            self.assertEqual(status, 403, extra)
            self.assertNotIn("token", text)
        with self.assertRaises(self.rds.exceptions.DBInstanceNotFoundFault):
            self.rds.describe_db_instances(DBInstanceIdentifier="stranger")
        self.assertIn('console refused POST "/console/api/rds" (no session)', self.h.log_text())


class ConsoleCredentialsTest(LocalrdsTestCase):
    """With --credentials the console asks for an access key and acts in its account."""

    credentials = "AKIDWORKSHOP wsecret 123456789012\n"

    def test_a_session_needs_a_key_of_the_file_and_its_secret(self):
        status, text = raw_request(self.h.api_port, "GET", "/console/api/info", None,
                                   {"Authorization": None})
        self.assertTrue(json.loads(text)["credentialsRequired"])
        for body in ("{}", '{"accessKeyId": "AKIDWORKSHOP", "secretAccessKey": "nope"}',
                     '{"accessKeyId": "AKIDOTHER", "secretAccessKey": "wsecret"}'):
            refused = ConsoleClient(self.h.api_port, body)
            self.assertEqual(refused.status, 403, body)
            self.assertIsNone(refused.token)
        ok = ConsoleClient(self.h.api_port,
                           '{"accessKeyId": "AKIDWORKSHOP", "secretAccessKey": "wsecret"}')
        self.assertEqual(ok.status, 200)
        status, answer = ok.rds("DescribeDBSubnetGroups")
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["result"]["DBSubnetGroups"][0]["DBSubnetGroupArn"],
                         "arn:aws:rds:us-east-1:123456789012:subgrp:default")


if __name__ == "__main__":
    unittest.main()
