"""Hostile input: what one client sends can never break the API for others, forge the log, be
stored where RDS refuses it, or make localrds spin. Raw HTTP where a client library would not
send the bytes (invalid UTF-8), boto3 elsewhere."""

import http.client
import os
import socket
import time
import unittest
import urllib.parse
import xml.dom.minidom

import harness
from harness import DUMMY_SIGV4, MASTER_PASSWORD, LocalrdsTestCase, arn, wait_until

BASE = {"Action": "CreateDBInstance", "Version": "2014-10-31", "Engine": "postgres",
        "DBInstanceClass": "db.t3.micro", "MasterUsername": "root",
        "MasterUserPassword": MASTER_PASSWORD, "AllocatedStorage": "20"}


def post_raw(port, body, conn=None):
    """POSTs `body` (bytes, already form-encoded); returns (status, raw response bytes)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Authorization": DUMMY_SIGV4})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        if own:
            conn.close()


def form(params, *raw_pairs):
    """`params` form-encoded, then `raw_pairs` of (name, value bytes) percent-encoded as they are."""
    parts = [urllib.parse.urlencode(params)]
    parts += ["%s=%s" % (k, urllib.parse.quote_from_bytes(v)) for k, v in raw_pairs]
    return "&".join(p for p in parts if p).encode()


def parsed_error(data):
    """(Code, Message) of an ErrorResponse document; fails the test if it is not well-formed."""
    doc = xml.dom.minidom.parseString(data)
    err = doc.getElementsByTagName("Error")[0]
    text = lambda tag: "".join(n.data for n in err.getElementsByTagName(tag)[0].childNodes)
    return text("Code"), text("Message")


class HostileInputTest(LocalrdsTestCase):
    server_kwargs = {"pool_size": 0}

    def describe_is_well_formed(self):
        status, data = post_raw(self.h.api_port, form({"Action": "DescribeDBInstances",
                                                       "Version": "2014-10-31"}))
        self.assertEqual(status, 200, data[:300])
        xml.dom.minidom.parseString(data)  # raises when a stored string broke the document

    def test_a_character_xml_cannot_carry_is_refused(self):
        for name, value, char in (("Tags.Tag.1.Value", "\uffff", "U+FFFF"),
                                  ("Tags.Tag.1.Value", "a\x01b", "U+0001"),
                                  ("Tags.Tag.1.Key", "k\ufffe", "U+FFFE")):
            with self.subTest(char=char):
                params = dict(BASE, DBInstanceIdentifier="hostile-xml")
                params.update({"Tags.Tag.1.Key": "k", "Tags.Tag.1.Value": "v"})
                params[name] = value
                status, data = post_raw(self.h.api_port, urllib.parse.urlencode(params).encode())
                self.assertEqual(status, 400, data[:300])
                self.assertEqual(parsed_error(data), (
                    "InvalidParameterValue", "The value of parameter %s contains the character "
                    "%s, which is not allowed." % (name, char)))
        self.assertEqual(self.rds.describe_db_instances()["DBInstances"], [])
        self.describe_is_well_formed()

    def test_malformed_utf8_gets_the_aws_envelope(self):
        for what, raw in (("surrogate", b"\xed\xa0\x80"), ("beyond U+10FFFF", b"\xf4\x90\x80\x80"),
                          ("overlong", b"\xe0\x80\xbc"), ("stray continuation", b"\x80"),
                          ("truncated", b"\xe2\x82")):
            for name in ("Tags.Tag.1.Value", "Port", "DBInstanceIdentifier"):
                with self.subTest(what=what, parameter=name):
                    params = dict(BASE, DBInstanceIdentifier="hostile-utf8",
                                  **{"Tags.Tag.1.Key": "k"})
                    params.pop(name, None)
                    status, data = post_raw(self.h.api_port, form(params, (name, raw)))
                    self.assertEqual(status, 400, data[:300])
                    self.assertEqual(parsed_error(data), (
                        "InvalidParameterValue",
                        "The value of parameter %s is not valid UTF-8." % name))
            with self.subTest(what=what, parameter="Action"):
                status, data = post_raw(self.h.api_port,
                                        form({"Version": "2014-10-31"}, ("Action", b"Describe" + raw)))
                self.assertEqual(status, 400, data[:300])
                code, message = parsed_error(data)
                self.assertEqual(code, "InvalidAction")
                # Each byte that is not UTF-8 is written as U+FFFD.
                self.assertEqual(message, "The action Describe%s is not valid for this web "
                                          "service." % ("\ufffd" * len(raw)))
        self.assertEqual(self.rds.describe_db_instances()["DBInstances"], [])
        self.describe_is_well_formed()

    def test_client_input_cannot_forge_a_log_line(self):
        # A newline is a character XML carries, so the identifier reaches the service (which
        # refuses it) and the log; an ESC is refused at decoding, so it goes in the action name.
        forged = "x\n2026-01-01T00:00:00.000Z [api] forged line\t"
        status, data = post_raw(self.h.api_port, urllib.parse.urlencode(
            dict(BASE, DBInstanceIdentifier=forged)).encode())
        self.assertEqual(status, 400, data[:300])
        status, _ = post_raw(self.h.api_port, urllib.parse.urlencode(
            {"Action": "Describe\nforged action\x1b]0;title\x07", "Version": "2014-10-31"}).encode())
        self.assertEqual(status, 400)
        wait_until(lambda: "forged action" in self.h.log_text(), 10, 0.1, "the second request logged")
        log = self.h.log_text()
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\x07", log)
        for line in log.splitlines():
            self.assertFalse(line.startswith("2026-01-01T00:00:00.000Z"), line)
            self.assertFalse(line.startswith("forged"), line)
        self.assertIn('id="x\\n2026-01-01T00:00:00.000Z [api] forged line\\t"', log)
        self.assertIn('action="Describe\\nforged action\\x1b]0;title\\x07"', log)

    def test_slow_clients_do_not_hold_up_the_others(self):
        """Slowloris: 100 connections trickling a header, a byte at a time; a normal client is
        answered all along, and the malformed and oversized requests get the AWS envelope."""
        slow = []
        try:
            for _ in range(100):
                s = socket.create_connection(("127.0.0.1", self.h.api_port), timeout=5)
                s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                slow.append(s)
            describe = form({"Action": "DescribeDBInstances", "Version": "2014-10-31"})
            for _ in range(10):
                for s in slow:
                    s.sendall(b"a")
                status, data = post_raw(self.h.api_port, describe)
                self.assertEqual(status, 200, data[:300])
                time.sleep(0.2)
        finally:
            for s in slow:
                s.close()
        for what, raw, code in (
                ("garbage", b"\x00\xff garbage\r\n\r\n", 400),
                ("header over 16 KiB", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                 b"a" * 70000 + b"\r\n\r\n", 400),
                ("body over 1 MiB", b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                 b"3000000\r\n\r\n" + b"a" * 3000000, 413),
                ("bad chunking", b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: "
                 b"chunked\r\n\r\nzz\r\n", 400)):
            with self.subTest(what):
                out = harness.raw_socket(self.h.api_port, raw)
                head, _, body = out.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 %d " % code), head[:100])
                xml.dom.minidom.parseString(body)
                self.assertIn(b"<ErrorResponse>", body)
        # 10,000 parameters: unknown ones are ignored, list members past RDS's sizes refused.
        unknown = "&".join("P%d=%d" % (i, i) for i in range(10000))
        status, data = post_raw(self.h.api_port, (
            "Action=DescribeDBInstances&Version=2014-10-31&" + unknown).encode())
        self.assertEqual(status, 200, data[:300])
        xml.dom.minidom.parseString(data)
        filters = "&".join("Filters.Filter.%d.Name=engine&Filters.Filter.%d.Values.Value.1=x"
                           % (i, i) for i in range(1, 5001))
        status, data = post_raw(self.h.api_port, (
            "Action=DescribeDBInstances&Version=2014-10-31&" + filters).encode())
        self.assertEqual(status, 400, data[:300])
        self.assertEqual(parsed_error(data)[0], "InvalidParameterValue")
        self.describe_is_well_formed()

    def test_parameters_localrds_cannot_honour_are_refused_as_rds_does(self):
        cases = (
            ({"StorageType": "gp2", "Iops": "1000"}, "InvalidParameterCombination",
             "Invalid iops value for engine name postgres and storage type gp2: 1000"),
            ({"StorageType": "standard", "AllocatedStorage": "20", "Iops": "1000"},
             "InvalidParameterCombination",
             "Invalid iops value for engine name postgres and storage type standard: 1000"),
            ({"LicenseModel": "$(id)"}, "InvalidParameterCombination",
             "Invalid license model '$(id)' for engine 'postgres'. Valid license models are: "
             "postgresql-license"),
            ({"LicenseModel": "L" * 300}, "InvalidParameterCombination",
             "Invalid license model '%s' for engine 'postgres'. Valid license models are: "
             "postgresql-license" % ("L" * 300)),
            ({"MasterUserAuthenticationType": "M" * 300}, "InvalidParameterValue",
             "Invalid value %s for MasterUserAuthenticationType. Must be one of password, "
             "iam-db-auth" % ("M" * 300)),
            ({"TdeCredentialArn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:tde",
              "TdeCredentialPassword": "p"}, "InvalidParameterCombination",
             "TDE credentials are not supported for engine postgres."),
        )
        for extra, code, message in cases:
            with self.subTest(extra=sorted(extra)):
                params = dict(BASE, DBInstanceIdentifier="hostile-param", **extra)
                status, data = post_raw(self.h.api_port, urllib.parse.urlencode(params).encode())
                self.assertEqual(status, 400, data[:300])
                self.assertEqual(parsed_error(data), (code, message))
        self.assertEqual(self.rds.describe_db_instances()["DBInstances"], [])
        # The values RDS takes still pass, empty ones are absent.
        params = dict(BASE, DBInstanceIdentifier="hostile-ok", LicenseModel="postgresql-license",
                      MasterUserAuthenticationType="password", TdeCredentialArn="")
        status, data = post_raw(self.h.api_port, urllib.parse.urlencode(params).encode())
        self.assertEqual(status, 200, data[:300])
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="hostile-ok", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        err = self.assertClientError("InvalidParameterCombination", 400,
                                     self.rds.modify_db_instance,
                                     DBInstanceIdentifier="hostile-ok", Iops=1000,
                                     ApplyImmediately=True)
        self.assertEqual(err["Message"],
                         "Invalid iops value for engine name postgres and storage type gp2: 1000")
        self.assertNotIn("Iops", self.describe("hostile-ok"))

        # At most 50 tags on a resource, counted with the ones it has.
        resource = arn("hostile-ok")
        self.rds.add_tags_to_resource(ResourceName=resource, Tags=[
            {"Key": "k%d" % i, "Value": "v"} for i in range(30)])
        self.assertClientError("InvalidParameterValue", 400, self.rds.add_tags_to_resource,
                               ResourceName=resource,
                               Tags=[{"Key": "n%d" % i, "Value": "v"} for i in range(21)])
        self.assertEqual(len(self.rds.list_tags_for_resource(ResourceName=resource)["TagList"]),
                         30)
        self.rds.add_tags_to_resource(ResourceName=resource, Tags=[
            {"Key": "n%d" % i, "Value": "v"} for i in range(20)])
        self.assertEqual(len(self.rds.list_tags_for_resource(ResourceName=resource)["TagList"]),
                         50)
        self.rds.delete_db_instance(DBInstanceIdentifier="hostile-ok", SkipFinalSnapshot=True)
        self.describe_is_well_formed()


class EveryActionMutatedTest(LocalrdsTestCase):
    """Every action of the RDS model (Debian's botocore), each top-level parameter in turn given
    hostile values, the required ones a placeholder: the answer is a 4xx in the AWS envelope or a
    well-formed 2xx, never a 5xx, and the server still answers well-formed documents after."""

    server_kwargs = {"pool_size": 0}

    STRING = (b"", b"x" * 70000, b"\xed\xa0\x80", b"\xef\xbf\xbf", b"a\x00b", b"\x1b[2J",
              b"' OR 1=1; --", b"$(id)", b"../../../../etc/passwd", b"%s%n%x")
    NUMBER = (b"", b"-1", b"99999999999999999999", b"1e9", b"0x10", b"NaN", b"20\x00junk")
    BOOLEAN = (b"", b"maybe", b"TRUE\x00", b"1")
    TIMESTAMP = (b"", b"not-a-time", b"9999-99-99T99:99:99Z", b"-1")

    def values_for(self, shape):
        kind = shape.type_name
        if kind in ("integer", "long", "double", "float"):
            return self.NUMBER
        if kind == "boolean":
            return self.BOOLEAN
        if kind == "timestamp":
            return self.TIMESTAMP
        return self.STRING

    def keys_for(self, name, shape):
        """The wire keys that reach `shape` at `name` (a list's first item, a structure's first
        member), with the leaf shape."""
        if shape.type_name == "list":
            member = shape.member
            loc = member.serialization.get("name") or "member"
            return [("%s.%s.1" % (name, loc), member), ("%s.%s.99999" % (name, loc), member)]
        if shape.type_name == "structure":
            return [("%s.%s" % (name, m), ms) for m, ms in list(shape.members.items())[:3]]
        return [(name, shape)]

    def test_every_action_with_hostile_values(self):
        import botocore.session
        model = botocore.session.get_session().get_service_model("rds")
        sent = statuses = 0
        seen = {}
        conn = http.client.HTTPConnection("127.0.0.1", self.h.api_port, timeout=30)
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            shape = op.input_shape
            if shape is None:
                continue
            required = {n: b"x" for n in shape.required_members}
            for member, mshape in shape.members.items():
                for key, leaf in self.keys_for(member, mshape):
                    if leaf.type_name in ("list", "structure"):
                        continue
                    for value in self.values_for(leaf):
                        params = dict(required)
                        params.pop(member, None)
                        body = form({"Action": op_name, "Version": "2014-10-31"},
                                    *params.items(), (key, value))
                        try:
                            status, data = post_raw(self.h.api_port, body, conn)
                        except (http.client.HTTPException, OSError):
                            conn.close()
                            conn = http.client.HTTPConnection("127.0.0.1", self.h.api_port,
                                                              timeout=30)
                            status, data = post_raw(self.h.api_port, body, conn)
                        sent += 1
                        seen[status] = seen.get(status, 0) + 1
                        where = "%s %s=%r" % (op_name, key, value[:40])
                        self.assertLess(status, 500, "%s: %s" % (where, data[:300]))
                        try:
                            xml.dom.minidom.parseString(data)
                        except Exception as e:  # noqa: BLE001 - any parse error is the failure
                            self.fail("%s: %s: %r" % (where, e, data[:300]))
        conn.close()
        print("\n%d requests over %d actions: statuses %s" % (
            sent, len(model.operation_names), dict(sorted(seen.items()))))
        self.assertGreater(sent, 1000)
        self.assertEqual(self.h.health()["status"], "running")
        for action in ("DescribeDBInstances", "DescribeDBSnapshots", "DescribeEvents",
                       "DescribeDBInstanceAutomatedBackups"):
            status, data = post_raw(self.h.api_port, form({"Action": action,
                                                           "Version": "2014-10-31"}))
            self.assertEqual(status, 200, data[:300])
            xml.dom.minidom.parseString(data)


class LimitedLocalrds(harness.Localrds):
    """localrds started with 256 file descriptors (prlimit execs it: same pid)."""

    def command(self):
        return [harness.tool("prlimit"), "--nofile=256:256", "--"] + super().command()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ConnectionFloodTest(unittest.TestCase):
    """The report: ~20,600 connections held open ran localrds out of descriptors and its accept
    loop spun at ~95% CPU. With 256 descriptors, 600 connections do the same faster."""

    def setUp(self):
        self.h = LimitedLocalrds(name="flood", pool_size=0).start()
        self.socks = []

    def tearDown(self):
        for s in self.socks:
            s.close()
        self.h.stop()

    def test_a_connection_flood_costs_no_cpu_and_connected_clients_are_served(self):
        with open("/proc/%d/limits" % self.h.proc.pid) as f:
            self.assertIn("256", [l for l in f if l.startswith("Max open files")][0])
        describe = urllib.parse.urlencode({"Action": "DescribeDBInstances",
                                           "Version": "2014-10-31"}).encode()
        kept = http.client.HTTPConnection("127.0.0.1", self.h.api_port, timeout=10)
        self.assertEqual(post_raw(self.h.api_port, describe, kept)[0], 200)

        for _ in range(600):
            s = socket.socket()
            s.settimeout(5)
            s.connect(("127.0.0.1", self.h.api_port))  # completes in the listen backlog
            self.socks.append(s)
        time.sleep(0.5)  # let localrds accept what it will
        before = cpu_seconds(self.h.proc.pid)
        time.sleep(3)
        used = cpu_seconds(self.h.proc.pid) - before
        # A spinning accept loop burns one core: about 3 s here.
        self.assertLess(used, 0.5, "localrds used %.2f s of CPU in 3 s of a flood" % used)
        self.assertEqual(post_raw(self.h.api_port, describe, kept)[0], 200)
        kept.close()

        for s in self.socks:
            s.close()
        self.socks = []
        wait_until(lambda: post_raw(self.h.api_port, describe)[0] == 200, 20, 0.2,
                   "a new connection served after the flood")
        self.assertEqual(self.h.health()["status"], "running")
        self.assertIn("not accepting connections", self.h.log_text())


if __name__ == "__main__":
    unittest.main()
