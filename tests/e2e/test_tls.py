"""TLS end to end: every instance serves a certificate from a localrds CA; a client that
downloads /_localrds/ca.pem connects with sslmode=verify-full to Endpoint.Address:Port;
DescribeCertificates shows those CAs; a new CACertificateIdentifier changes the issuer of the
certificate the server serves."""

import hashlib
import os
import socket
import ssl
import struct
import subprocess
import tempfile
import unittest

import botocore.exceptions

from harness import MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, tool


def served_certificate_issuer(host, port, cafile):
    """The issuer CN of the certificate the PostgreSQL server at host:port serves, verified
    against `cafile` (PostgreSQL's SSLRequest, then a TLS handshake)."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(struct.pack("!ii", 8, 80877103))
        if sock.recv(1) != b"S":
            raise AssertionError("the server refused TLS")
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False  # an IP address: libpq's verify-full checks it below
        with ctx.wrap_socket(sock) as tls:
            issuer = dict(x[0] for x in tls.getpeercert()["issuer"])
            return issuer["commonName"]


class TlsTest(LocalrdsTestCase):

    def psql_verify_full(self, endpoint, cafile, sql):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"PGCONNECT_TIMEOUT": "5", "PGSSLMODE": "verify-full",
                    "PGSSLROOTCERT": cafile, "PGPASSWORD": MASTER_PASSWORD})
        p = subprocess.run([tool("psql"), "-X", "-w", "-A", "-t", "-h", endpoint["Address"],
                            "-p", str(endpoint["Port"]), "-U", MASTER_USER, "-d", "postgres",
                            "-c", sql], env=env, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.strip()

    def test_verify_full_certificates_and_ca_rotation(self):
        self.rds.create_db_instance(
            DBInstanceIdentifier="tls", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD,
            AllocatedStorage=20, BackupRetentionPeriod=0)
        waiter = self.rds.get_waiter("db_instance_available")
        waiter.wait(DBInstanceIdentifier="tls", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        db = self.rds.describe_db_instances(DBInstanceIdentifier="tls")["DBInstances"][0]
        self.assertEqual(db["CACertificateIdentifier"], "rds-ca-rsa2048-g1")
        # Debian 12's botocore predates CertificateDetails (unit tests check it).
        self.assertIn(db.get("CertificateDetails", {}).get("CAIdentifier", "rds-ca-rsa2048-g1"),
                      ("rds-ca-rsa2048-g1",))

        status, bundle = self.h.control("GET", "/_localrds/ca.pem")
        self.assertEqual(status, 200)
        self.assertEqual(bundle.count("-----BEGIN CERTIFICATE-----"), 3)
        self.assertNotIn("PRIVATE KEY", bundle)
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
            f.write(bundle)
        self.addCleanup(os.unlink, f.name)

        endpoint = db["Endpoint"]
        self.assertEqual(self.psql_verify_full(
            endpoint, f.name, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"), "t")
        self.assertIn("rds-ca-rsa2048-g1",
                      served_certificate_issuer(endpoint["Address"], endpoint["Port"], f.name))

        # DescribeCertificates: the CAs of the bundle, by their real thumbprints.
        certs = self.rds.describe_certificates()
        # (Debian 12's botocore predates DefaultCertificateForNewLaunches and CustomerOverride.)
        self.assertEqual(certs.get("DefaultCertificateForNewLaunches", "rds-ca-rsa2048-g1"),
                         "rds-ca-rsa2048-g1")
        ids = [c["CertificateIdentifier"] for c in certs["Certificates"]]
        self.assertEqual(ids, ["rds-ca-ecc384-g1", "rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"])
        pems = ["-----BEGIN CERTIFICATE-----" + p for p in
                bundle.split("-----BEGIN CERTIFICATE-----")[1:]]
        thumbprints = {hashlib.sha1(ssl.PEM_cert_to_DER_cert(p)).hexdigest() for p in pems}
        for c in certs["Certificates"]:
            self.assertIn(c["Thumbprint"], thumbprints)
            self.assertEqual(c["CertificateType"], "CA")
            self.assertFalse(c.get("CustomerOverride", False))
            self.assertLess(c["ValidFrom"], c["ValidTill"])
            self.assertEqual(c["CertificateArn"],
                             "arn:aws:rds:us-east-1::cert:" + c["CertificateIdentifier"])
        with self.assertRaises(botocore.exceptions.ClientError) as err:
            self.rds.describe_certificates(CertificateIdentifier="rds-ca-2015")
        self.assertEqual(err.exception.response["Error"]["Code"], "CertificateNotFound")
        self.assertEqual(err.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        with self.assertRaises(botocore.exceptions.ClientError) as err:
            self.rds.modify_db_instance(DBInstanceIdentifier="tls",
                                        CACertificateIdentifier="rds-ca-nope",
                                        ApplyImmediately=True)
        self.assertEqual(err.exception.response["Error"]["Code"], "CertificateNotFound")

        # A new CA: the server restarts serving a certificate it issued.
        out = self.rds.modify_db_instance(DBInstanceIdentifier="tls",
                                          CACertificateIdentifier="rds-ca-rsa4096-g1",
                                          ApplyImmediately=True)["DBInstance"]
        self.assertEqual(out["CACertificateIdentifier"], "rds-ca-rsa4096-g1")
        waiter.wait(DBInstanceIdentifier="tls", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        db = self.rds.describe_db_instances(DBInstanceIdentifier="tls")["DBInstances"][0]
        self.assertEqual(db["DBInstanceStatus"], "available")
        self.assertEqual(db["CACertificateIdentifier"], "rds-ca-rsa4096-g1")
        self.assertIn("rds-ca-rsa4096-g1",
                      served_certificate_issuer(endpoint["Address"], endpoint["Port"], f.name))
        self.assertEqual(self.psql_verify_full(endpoint, f.name, "SELECT 1"), "1")


if __name__ == "__main__":
    unittest.main()
