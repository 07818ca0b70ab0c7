"""Strict signatures (--credentials FILE): boto3 signs, localrds verifies, AWS's errors answer.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_signatures
"""

import datetime
import http.client
import os
import subprocess
import tempfile
import unittest
import urllib.parse
from unittest import mock

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config
from botocore.exceptions import ClientError

from harness import LocalrdsTestCase, binary, parse_error

ACCESS_KEY = "AKIDSTRICTE2E"
SECRET = "strict/e2e+Secret"
ACCOUNT = "210987654321"
REGION = "eu-west-3"

MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.")


class SignaturesTest(LocalrdsTestCase):
    """One localrds with a credentials file of one key; no instances."""

    credentials = "# key secret account\n%s %s %s\n" % (ACCESS_KEY, SECRET, ACCOUNT)

    def client(self, key=ACCESS_KEY, secret=SECRET):
        c = boto3.session.Session().client(
            "rds", endpoint_url=self.h.endpoint, region_name=REGION, aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
        self.addCleanup(c.close)
        return c

    def signed_post(self, body, secret=SECRET, at=None):
        """A DescribeDBInstances POST signed by botocore's SigV4Auth (at `at`, a naive UTC
        datetime, when given): (headers, body)."""
        req = botocore.awsrequest.AWSRequest(
            method="POST", url=self.h.endpoint + "/", data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        signer = botocore.auth.SigV4Auth(
            botocore.credentials.Credentials(ACCESS_KEY, secret), "rds", REGION)
        if at is None:
            signer.add_auth(req)
        else:
            real = datetime.datetime

            class Frozen(real):
                @classmethod
                def utcnow(cls):
                    return at

                @classmethod
                def now(cls, tz=None):
                    return at if tz is None else at.replace(tzinfo=tz)

            with mock.patch("botocore.auth.datetime.datetime", Frozen):
                signer.add_auth(req)
        return dict(req.headers.items()), body

    def send(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.h.api_port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, res.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def assertRefused(self, status, body, code, http_status, message=None):
        err = parse_error(body)
        self.assertIsNotNone(err, body)
        self.assertEqual((status, err["Code"]), (http_status, code), body)
        if message is not None:
            self.assertEqual(err["Message"], message)
        return err

    def test_the_right_secret_works(self):
        out = self.client().describe_db_instances()
        self.assertEqual(out["DBInstances"], [])
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_a_wrong_secret_is_signature_does_not_match(self):
        with self.assertRaises(ClientError) as cm:
            self.client(secret="not-the-secret").describe_db_instances()
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual(err["Error"]["Message"], MISMATCH)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_an_unknown_key_is_invalid_client_token_id(self):
        with self.assertRaises(ClientError) as cm:
            self.client(key="AKIDNOBODY").describe_db_instances()
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidClientTokenId")
        self.assertEqual(err["Error"]["Message"],
                         "The security token included in the request is invalid.")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_a_signed_post_verifies_and_a_tampered_body_does_not(self):
        body = "Action=DescribeDBInstances&Version=2014-10-31"
        headers, body = self.signed_post(body)
        status, text = self.send("POST", "/", body, headers)
        self.assertEqual(status, 200, text)
        headers, body = self.signed_post("Action=DescribeDBInstances&Version=2014-10-31")
        tampered = body.replace("2014-10-31", "2014-10-30")
        headers["Content-Length"] = str(len(tampered))
        self.assertRefused(*self.send("POST", "/", tampered, headers), "SignatureDoesNotMatch",
                           403, MISMATCH)

    def test_a_request_signed_twenty_minutes_ago_has_expired(self):
        at = (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
              - datetime.timedelta(minutes=20))
        headers, body = self.signed_post("Action=DescribeDBInstances&Version=2014-10-31", at=at)
        err = self.assertRefused(*self.send("POST", "/", body, headers), "SignatureDoesNotMatch",
                                 403)
        amz_date = at.strftime("%Y%m%dT%H%M%SZ")
        self.assertRegex(err["Message"], r"^Signature expired: %s is now earlier than \d{8}T\d{6}Z"
                         r" \(\d{8}T\d{6}Z - 15 min\.\)$" % amz_date)

    def test_unsigned_requests_are_refused(self):
        self.assertRefused(*self.send("POST", "/", "Action=DescribeDBInstances",
                                      {"Content-Type": "application/x-www-form-urlencoded"}),
                           "MissingAuthenticationToken", 403,
                           "Request is missing Authentication Token")

    def test_a_presigned_url_works_and_one_changed_character_fails(self):
        url = self.client().generate_presigned_url("describe_db_instances", Params={},
                                                   ExpiresIn=300)
        parts = urllib.parse.urlsplit(url)
        self.assertIn("X-Amz-Signature=", parts.query)
        self.assertIn("Action=DescribeDBInstances", parts.query)
        path = parts.path + "?" + parts.query
        # botocore signs a Query API presigned URL as the POST it serialised (an empty body).
        status, text = self.send("POST", path, b"")
        self.assertEqual(status, 200, text)
        self.assertIn("<DescribeDBInstancesResult>", text)
        changed = path.replace("Action=DescribeDBInstances", "Action=DescribeDBInstanceS")
        self.assertRefused(*self.send("POST", changed, b""), "SignatureDoesNotMatch", 403,
                           MISMATCH)


class CredentialsFileTest(unittest.TestCase):
    """A bad credentials file stops localrds before it serves, naming the line."""

    def test_a_bad_line_exits_2(self):
        with tempfile.TemporaryDirectory(prefix="localrds-e2e-credentials-") as root:
            path = os.path.join(root, "credentials")
            with open(path, "w") as f:
                f.write("AKIDONE secret 111122223333\n# comment\nAKIDTWO secret 1234\n")
            p = subprocess.run([binary(), "serve", "--credentials", path, "--port", "0",
                                "--data-dir", os.path.join(root, "data")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("localrds: --credentials: %s: line 3: the account id must be 12 "
                          "digits, not '1234'" % path, p.stderr)
            self.assertFalse(os.path.exists(os.path.join(root, "data")))
            p = subprocess.run([binary(), "serve", "--credentials", path + ".missing"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("cannot read %s.missing" % path, p.stderr)


if __name__ == "__main__":
    unittest.main()
