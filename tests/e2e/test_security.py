"""Security, end to end: the master user stays inside its database, no server lets anyone in
without credentials (not even the servers' own OS user), the data directory is private, and a
socket directory name taken by someone else does not stop localrds. The web-page rules (Host,
Origin, presigned requests) are in test_browser.py and test_errors.py."""

import os
import pwd
import stat
import subprocess
import unittest

from harness import (MASTER_PASSWORD, MASTER_USER, Localrds, LocalrdsTestCase, pg_env, psql,
                     wait_until)

IS_ROOT = os.geteuid() == 0


def os_user_psql(user, socket_dir, port, db_user, sql, password=None):
    """psql as another OS user (the servers' own, `postgres`) over the socket directory."""
    env = pg_env(password)
    cmd = ["runuser", "-u", user, "--", "env"] + ["%s=%s" % kv for kv in env.items()
                                                  if kv[0].startswith("PG")] + \
        ["psql", "-X", "-w", "-A", "-t", "-h", socket_dir, "-p", str(port), "-U", db_user,
         "-d", "postgres", "-c", sql]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


class MasterUserTest(LocalrdsTestCase):
    """What the master user can and cannot do on a real instance, through its endpoint."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for ident in ("tenant-a", "tenant-b"):
            cls.rds.create_db_instance(
                DBInstanceIdentifier=ident, Engine="postgres", DBInstanceClass="db.t3.micro",
                MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD,
                AllocatedStorage=20, BackupRetentionPeriod=0)
        cls.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="tenant-a", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        cls.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="tenant-b", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        cls.port = {i: cls.rds.describe_db_instances(DBInstanceIdentifier=i)["DBInstances"][0]
                    ["Endpoint"]["Port"] for i in ("tenant-a", "tenant-b")}

    def refused(self, sql, message, port=None):
        rc, out, err = psql(port or self.port["tenant-a"], MASTER_USER, MASTER_PASSWORD,
                            "postgres", sql)
        self.assertNotEqual(rc, 0, "%s succeeded: %s" % (sql, out))
        self.assertIn(message, err, sql)

    def test_the_master_user_cannot_run_programs_or_read_server_files(self):
        marker = "/tmp/localrds-e2e-escaped-%d" % os.getpid()
        self.addCleanup(lambda: os.path.exists(marker) and os.unlink(marker))
        self.refused("GRANT pg_execute_server_program TO %s" % MASTER_USER,
                     'permission denied to grant role "pg_execute_server_program"')
        self.refused("CREATE ROLE helper IN ROLE pg_read_server_files",
                     'permission denied to grant role "pg_read_server_files"')
        self.refused("COPY (SELECT 1) TO PROGRAM 'touch %s'" % marker,
                     "must be superuser or have privileges of the pg_execute_server_program role")
        self.refused("SELECT pg_read_file('/etc/passwd')",
                     "permission denied for function pg_read_file")
        self.refused("SELECT lo_import('/etc/passwd')", "permission denied for function lo_import")
        self.refused("ALTER SYSTEM SET archive_command = 'touch %s'" % marker,
                     'permission denied to set parameter "archive_command"')
        self.refused("CREATE EXTENSION adminpack",
                     'permission denied to create extension "adminpack"')
        self.refused("SET ROLE rdsadmin", 'permission denied to set role "rdsadmin"')
        self.refused("CREATE ROLE boss SUPERUSER", "must be superuser to create superusers")
        self.refused("LOAD 'auto_explain'", 'access to library "auto_explain" is not allowed')
        self.refused("ALTER ROLE rdsrepladmin PASSWORD 'x'",
                     'permission denied to alter role "rdsrepladmin"')
        self.assertFalse(os.path.exists(marker), "a command ran on the server's machine")
        # What RDS lets the master user do still works.
        for sql in ("CREATE ROLE app LOGIN CREATEDB", "GRANT pg_signal_backend TO app",
                    "CREATE DATABASE appdb", "GRANT ALL ON DATABASE appdb TO app"):
            rc, _, err = psql(self.port["tenant-a"], MASTER_USER, MASTER_PASSWORD, "postgres", sql)
            self.assertEqual(rc, 0, "%s: %s" % (sql, err))

    def test_another_instance_is_out_of_reach_without_its_password(self):
        sock = self.h.socket_dir()
        # dblink, installed by the superuser (RDS installs it when the master user asks).
        rc, _, err = psql(self.port["tenant-a"], "rdsadmin", None, "postgres",
                          "CREATE EXTENSION IF NOT EXISTS dblink", host=sock)
        self.assertEqual(rc, 0, err)
        other = self.port["tenant-b"]
        for user in ("rdsadmin", "rdsrepladmin", MASTER_USER):
            self.refused("SELECT dblink_connect('host=%s port=%d dbname=postgres user=%s')"
                         % (sock, other, user), "password is required")
        self.refused("SELECT dblink_connect('host=127.0.0.1 port=%d dbname=postgres "
                     "user=rdsadmin password=guess')" % other,
                     'pg_hba.conf rejects connection for host "127.0.0.1", user "rdsadmin"')
        # With tenant-b's own password, dblink works: the refusals above are the passwords'.
        rc, out, err = psql(self.port["tenant-a"], MASTER_USER, MASTER_PASSWORD, "postgres",
                            "SELECT dblink_connect('host=127.0.0.1 port=%d dbname=postgres "
                            "user=%s password=%s')" % (other, MASTER_USER, MASTER_PASSWORD))
        self.assertEqual((rc, out), (0, "OK"), err)

    @unittest.skipUnless(IS_ROOT, "needs root to act as the servers' OS user")
    def test_the_servers_os_user_gets_no_trust_on_the_socket(self):
        sock, port = self.h.socket_dir(), self.port["tenant-b"]
        # localrds' own OS user is rdsadmin there (peer): that is how localrds connects.
        rc, out, err = psql(port, "rdsadmin", None, "postgres", "SELECT current_user", host=sock)
        self.assertEqual((rc, out), (0, "rdsadmin"), err)
        # A process running as the servers' OS user (a compromised server) gets nothing.
        rc, _, err = os_user_psql("postgres", sock, port, "rdsadmin", "SELECT 1")
        self.assertNotEqual(rc, 0)
        self.assertIn('Peer authentication failed for user "rdsadmin"', err)
        rc, _, err = os_user_psql("postgres", sock, port, "rdsrepladmin", "SELECT 1")
        self.assertNotEqual(rc, 0)
        self.assertIn("pg_hba.conf rejects connection", err)
        rc, _, err = os_user_psql("postgres", sock, port, MASTER_USER, "SELECT 1")
        self.assertNotEqual(rc, 0)
        self.assertIn("no password supplied", err)
        rc, out, err = os_user_psql("postgres", sock, port, MASTER_USER, "SELECT 'in'",
                                    password=MASTER_PASSWORD)
        self.assertEqual((rc, out), (0, "in"), err)  # with the password, like any client


class FilesTest(LocalrdsTestCase):
    """Who can read what localrds keeps on disk."""

    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def test_the_data_directory_and_the_catalog_are_private(self):
        self.create("private", BackupRetentionPeriod=0)
        data = self.h.data_dir
        st = os.stat(data)
        if IS_ROOT:
            # The servers' OS user may only pass through (group x) to its own directories.
            self.assertEqual(self.mode(data), 0o710)
            self.assertEqual((st.st_uid, st.st_gid), (0, pwd.getpwnam("postgres").pw_gid))
        else:
            self.assertEqual(self.mode(data), 0o700)
        for name in ("catalog.db", "catalog.db-wal", "catalog.db-shm", "localrds.key"):
            path = os.path.join(data, name)
            self.assertTrue(os.path.exists(path), path)
            self.assertEqual(self.mode(path), 0o600, path)
        sock = self.h.socket_dir()
        self.assertEqual(self.mode(sock), 0o700)
        # Nobody else can read the verifiers: as another user, the catalog cannot be opened.
        if IS_ROOT:
            p = subprocess.run(["runuser", "-u", "nobody", "--", "cat",
                                os.path.join(data, "catalog.db")],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("Permission denied", p.stderr)

    def test_modes_left_by_an_older_localrds_are_fixed_at_start(self):
        self.create("older", BackupRetentionPeriod=0)
        data = self.h.data_dir
        os.chmod(data, 0o755)
        os.chmod(os.path.join(data, "catalog.db"), 0o644)
        self.h.terminate()
        self.h.start()
        self.assertEqual(self.mode(data), 0o710 if IS_ROOT else 0o700)
        self.assertEqual(self.mode(os.path.join(data, "catalog.db")), 0o600)
        self.wait_available("older")


@unittest.skipUnless(IS_ROOT, "needs root to make a directory as another user")
class SocketDirectoryTest(unittest.TestCase):
    """A local user who takes the socket directory's name first does not stop localrds."""

    def setUp(self):
        self.h = Localrds(name="SocketDirectoryTest")
        self.addCleanup(self.h.stop)
        self.h.start()
        self.rds = self.h.client()

    def test_a_taken_name_gives_a_new_directory_not_a_failure(self):
        first = self.h.socket_dir()
        # A name mkdtemp made (six random characters), recorded in the data directory.
        self.assertRegex(os.path.basename(first), r"^localrds-[A-Za-z0-9]{6}$")
        with open(os.path.join(self.h.data_dir, "socket-dir")) as f:
            self.assertEqual(f.read().strip(), first)
        self.rds.create_db_instance(
            DBInstanceIdentifier="squatted", Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20,
            BackupRetentionPeriod=0)
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="squatted", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        port = self.rds.describe_db_instances(
            DBInstanceIdentifier="squatted")["DBInstances"][0]["Endpoint"]["Port"]
        # localrds and its servers stop; a reboot empties /tmp; another user takes the name.
        self.h.terminate()
        self.h.kill_leftover_postgres()
        if os.path.isdir(first):
            for f in os.listdir(first):
                os.unlink(os.path.join(first, f))
            os.rmdir(first)
        nobody = pwd.getpwnam("nobody")
        os.mkdir(first, 0o700)
        os.chown(first, nobody.pw_uid, nobody.pw_gid)
        self.addCleanup(lambda: os.path.isdir(first) and os.rmdir(first))
        self.h.start()
        second = self.h.socket_dir()
        self.assertNotEqual(second, first)
        self.assertEqual(os.stat(first).st_uid, nobody.pw_uid)
        self.assertEqual(os.listdir(first), [])  # untouched
        self.rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="squatted", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        wait_until(lambda: psql(port, MASTER_USER, MASTER_PASSWORD, "postgres",
                                "SELECT 1")[0] == 0, 30, 0.2, "the instance to answer")
        rc, out, err = psql(port, "rdsadmin", None, "postgres", "SELECT 1", host=second)
        self.assertEqual((rc, out), (0, "1"), err)


if __name__ == "__main__":
    unittest.main()
