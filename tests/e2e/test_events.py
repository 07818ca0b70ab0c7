"""RDS event notification subscriptions, end to end: localrds runs with --sns-endpoint-url
pointing at a small SNS Query-API server written here (python http.server) that records every
Publish. A Multi-AZ instance's forced failover and its backups arrive there in RDS's message
format; while the SNS endpoint is down and localrds restarts, no event is lost.

Where moto_server is installed (LOCALRDS_MOTO_SERVER, or the pyenv Python's on the build
machine), the recorder also forwards every request to a moto_server whose SNS topic has an SQS
queue subscribed: the same events arrive in that queue, through moto's SNS. Without moto that
part is skipped (the recorder's own checks still run)."""

import glob
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import unittest
import urllib.parse

import boto3

from harness import LocalrdsTestCase, free_port, wait_until

ACCOUNT = "000000000000"
TOPIC = "arn:aws:sns:us-east-1:%s:rds-events" % ACCOUNT
FAILOVER_IDS = ["RDS-EVENT-0013", "RDS-EVENT-0015", "RDS-EVENT-0049"]
BACKUP_DONE = "Finished DB Instance backup"
MESSAGE_KEYS = {"Event Source", "Event Time", "Identifier Link", "Source ID", "Source ARN",
                "Event ID", "Event Message"}


def moto_server_path():
    path = os.environ.get("LOCALRDS_MOTO_SERVER")
    if path:
        return path if os.access(path, os.X_OK) else None
    found = sorted(glob.glob("/root/.pyenv/versions/*/bin/moto_server"))
    return found[-1] if found else None


class Moto:
    """A moto_server on loopback with an SNS topic and an SQS queue subscribed to it."""

    def __init__(self, path):
        self.port = free_port()
        self.endpoint = "http://127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen([path, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL)
        wait_until(self._up, 30, 0.1, "moto_server to listen")
        kw = dict(endpoint_url=self.endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
        self.sns = boto3.client("sns", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.topic = self.sns.create_topic(Name="rds-events")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="rds-events")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue_arn)
        self.received = []

    def _up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def drain(self):
        """Every SNS notification the queue holds now, added to `received`."""
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return self.received
            for m in got:
                self.received.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class RecordingSns:
    """An SNS Query-API endpoint that records each Publish (and forwards it to moto, if any)."""

    def __init__(self, forward_to=None):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d/" % self.port
        self.forward_to = forward_to
        self.published = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
                status, answer = 200, (
                    b"<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
                    b"<PublishResult><MessageId>m</MessageId></PublishResult>"
                    b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
                    b"</PublishResponse>")
                if recorder.forward_to:
                    conn = http.client.HTTPConnection("127.0.0.1", recorder.forward_to, timeout=10)
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request("POST", "/", body, headers)
                    r = conn.getresponse()
                    status, answer = r.status, r.read()
                    conn.close()
                if status == 200:
                    with recorder.lock:
                        recorder.published.append(
                            {"form": form, "authorization": self.headers.get("Authorization", "")})
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def messages(self):
        with self.lock:
            return [dict(p["form"], Body=json.loads(p["form"]["Message"]),
                         Authorization=p["authorization"]) for p in self.published]

    def event_ids(self, source_id):
        return [m["MessageAttributes.entry.1.Value.StringValue"]
                for m in self.messages() if m["Body"]["Source ID"] == source_id
                and m.get("MessageAttributes.entry.1.Name") == "EventID"]


class EventSubscriptionDeliveryTest(LocalrdsTestCase):
    moto = None
    sns = None
    topic = TOPIC

    @classmethod
    def setUpClass(cls):
        path = moto_server_path()
        cls.moto = Moto(path) if path else None
        # moto's topics live in its own account (123456789012).
        cls.topic = cls.moto.topic if cls.moto else TOPIC
        cls.sns = RecordingSns(cls.moto.port if cls.moto else None)
        cls.sns.start()
        cls.server_kwargs = {"extra_args": ["--sns-endpoint-url", cls.sns.url]}
        try:
            super().setUpClass()
        except BaseException:
            cls._stop_helpers()
            raise

    @classmethod
    def _stop_helpers(cls):
        if cls.sns:
            cls.sns.stop()
        if cls.moto:
            cls.moto.stop()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._stop_helpers()

    def wait_status(self, name, status):
        def reached():
            s = self.rds.describe_event_subscriptions(
                SubscriptionName=name)["EventSubscriptionsList"][0]
            return s["Status"] == status and s
        return wait_until(reached, 10, 0.1, "subscription %s %s" % (name, status))

    def wait_standby_ready(self, ident):
        def ready():
            status, body = self.h.control("GET", "/_localrds/instances/%s" % ident)
            sb = (body.get("multi_az") or {}).get("standby") or {}
            return status == 200 and sb.get("state") == "ready" and sb.get("running")
        wait_until(ready, 90, 0.2, "the standby of %s" % ident)

    def backups_done(self, ident):
        events = self.rds.describe_events(SourceType="db-instance", SourceIdentifier=ident,
                                          Duration=60)["Events"]
        return sum(1 for e in events if e["Message"] == BACKUP_DONE)

    def test_failover_and_backup_events_reach_sns_and_none_is_lost(self):
        created = self.rds.create_event_subscription(
            SubscriptionName="dr-events", SnsTopicArn=self.topic, SourceType="db-instance",
            EventCategories=["failover", "backup"],
            Tags=[{"Key": "team", "Value": "dba"}])["EventSubscription"]
        self.assertEqual((created["Status"], created["CustSubscriptionId"],
                          created["CustomerAwsId"], created["EventSubscriptionArn"]),
                         ("creating", "dr-events", ACCOUNT,
                          "arn:aws:rds:us-east-1:%s:es:dr-events" % ACCOUNT))
        self.wait_status("dr-events", "active")
        cats = self.rds.describe_event_categories(SourceType="db-instance")
        self.assertIn("failover", cats["EventCategoriesMapList"][0]["EventCategories"])
        with self.assertRaises(self.rds.exceptions.SubscriptionAlreadyExistFault):
            self.rds.create_event_subscription(SubscriptionName="dr-events",
                                              SnsTopicArn=self.topic)

        # A Multi-AZ instance: its first backup, then a forced failover.
        self.create("evmaz", MultiAZ=True, BackupRetentionPeriod=1)
        self.wait_standby_ready("evmaz")
        self.rds.reboot_db_instance(DBInstanceIdentifier="evmaz", ForceFailover=True)
        wait_until(lambda: all(i in self.sns.event_ids("evmaz") for i in FAILOVER_IDS), 60, 0.1,
                   "the failover's notifications")
        self.wait_available("evmaz")
        msgs = [m for m in self.sns.messages() if m["Body"]["Source ID"] == "evmaz"]
        failover = [m for m in msgs if m["Body"]["Event ID"].endswith("#RDS-EVENT-0013")][0]
        self.assertEqual((failover["Action"], failover["Version"], failover["TopicArn"],
                          failover["Subject"]),
                         ("Publish", "2010-03-31", self.topic, "RDS Notification Message"))
        self.assertIn("/us-east-1/sns/aws4_request", failover["Authorization"])
        body = failover["Body"]
        self.assertTrue(MESSAGE_KEYS <= set(body), body)
        self.assertEqual((body["Event Source"], body["Source ARN"], body["Event Message"]),
                         ("db-instance", "arn:aws:rds:us-east-1:%s:db:evmaz" % ACCOUNT,
                          "Multi-AZ instance failover started."))
        self.assertIn("#dbinstance:id=evmaz", body["Identifier Link"])
        self.assertIn(BACKUP_DONE, [m["Body"]["Event Message"] for m in msgs])
        # Only the subscribed categories: no creation event.
        self.assertNotIn("RDS-EVENT-0005", self.sns.event_ids("evmaz"))

        # The failover ends by replacing its standby (RDS-EVENT-0053); until then the instance,
        # available again, takes no backup.
        wait_until(lambda: "RDS-EVENT-0053" in self.sns.event_ids("evmaz"), 60, 0.1,
                   "the standby replaced")
        # The SNS endpoint goes down; a backup runs; localrds restarts; the endpoint comes back.
        before = len([m for m in self.sns.messages() if m["Body"]["Event Message"] == BACKUP_DONE])
        self.sns.stop()
        done = self.backups_done("evmaz")
        status, body = self.h.control("POST", "/_localrds/instances/evmaz/backup")
        self.assertIn(status, (200, 202), body)
        wait_until(lambda: self.backups_done("evmaz") > done, 60, 0.2, "the backup")
        wait_until(lambda: "publishing event" in self.h.log_text(), 10, 0.1, "a failed delivery")
        self.h.restart()
        self.sns.start()
        wait_until(lambda: len([m for m in self.sns.messages()
                                if m["Body"]["Event Message"] == BACKUP_DONE]) > before,
                   30, 0.1, "the backup's notification after the restart")

        if not self.moto:
            sys.stderr.write("test_events: no moto_server; the SNS-to-SQS part is skipped\n")
            return
        # Through moto's SNS into the SQS queue subscribed to the topic.
        def in_queue():
            got = self.moto.drain()
            ids = [json.loads(n["Message"])["Event ID"].split("#")[-1] for n in got]
            backups = [n for n in got if json.loads(n["Message"])["Event Message"] == BACKUP_DONE]
            return all(i in ids for i in FAILOVER_IDS) and len(backups) >= 2 and got
        got = wait_until(in_queue, 20, 0.2, "the notifications in moto's SQS queue")
        self.assertEqual(got[0]["Subject"], "RDS Notification Message")
        self.assertEqual(got[0]["TopicArn"], self.topic)


if __name__ == "__main__":
    unittest.main()
