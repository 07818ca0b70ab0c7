"""What only the docker runtime has, as a user sees it: one container per PostgreSQL server
(primary, Multi-AZ standby, read replica), labelled with its instance and sized by its class
(also after ModifyDBInstance), none left after delete; a kill -9 of localrds adopts the running
containers (same containers, same data, writes go on); containers of a crashed localrds that no
instance owns are removed at the next start; and without an image localrds says what to run.
The other suites run with --runtime docker too (LOCALRDS_E2E_RUNTIME=docker, see CMakeLists).

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_docker
Skipped, saying why, when no Docker engine answers or no localrds/postgres image exists
(scripts/start-dockerd.sh makes both); with LOCALRDS_REQUIRE_DOCKER=1 that is a failure.
"""

import json
import os
import subprocess
import unittest

from harness import (DOCKER_IMAGE, MASTER_PASSWORD, MASTER_USER, Localrds, LocalrdsTestCase,
                     docker_containers, docker_unavailable, psql, wait_until)

GIB = 1024 ** 3


def docker(*args, check=True):
    r = subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("docker %s failed: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout.strip()


def inspect(name):
    return json.loads(docker("inspect", name))[0]


class DockerRuntimeTest(LocalrdsTestCase):
    runtime_name = "docker"

    def running_containers(self):
        """{name: pgdata} of this localrds' running server containers."""
        return docker_containers(self.h.data_dir, all_states=False)

    def details(self, ident):
        status, body = self.h.control("GET", "/_localrds/instances/%s" % ident)
        self.assertEqual(status, 200, body)
        return body

    def sql(self, port, statement):
        rc, out, err = psql(port, MASTER_USER, MASTER_PASSWORD, "app", statement)
        self.assertEqual(rc, 0, err)
        return out

    def make(self, ident, **kw):
        inst = self.create(ident, DBName="app", BackupRetentionPeriod=1, **kw)
        if kw.get("MultiAZ"):
            wait_until(lambda: self.details(ident)["multi_az"]["standby"]["state"] == "ready", 90,
                       0.2, "the standby of %s to be ready" % ident)
        return inst

    def test_one_container_per_server_sized_by_its_class_none_after_delete(self):
        self.assertEqual(self.h.health()["runtime"], "docker")
        single = self.make("single", DBInstanceClass="db.t3.small")
        multi = self.make("multi", MultiAZ=True)
        self.rds.create_db_instance_read_replica(DBInstanceIdentifier="replica",
                                                 SourceDBInstanceIdentifier="single")
        self.wait_available("replica")
        replica = self.describe("replica")
        rid = {i: self.describe(i)["DbiResourceId"] for i in ("single", "multi", "replica")}
        want = {"localrds-%s-a" % rid["single"].lower(), "localrds-%s-a" % rid["multi"].lower(),
                "localrds-%s-b" % rid["multi"].lower(), "localrds-%s-a" % rid["replica"].lower()}
        self.assertEqual(set(self.running_containers()), want)
        for name in want:
            c = inspect(name)
            labels = c["Config"]["Labels"]
            self.assertEqual(c["HostConfig"]["NetworkMode"], "host", name)
            self.assertEqual(labels["org.localrds.data-dir"], self.h.data_dir, name)
            self.assertIn(labels["org.localrds.resource-id"], rid.values(), name)
            self.assertTrue(labels["org.localrds.pgdata"].startswith(self.h.data_dir), name)
        # db.t3.small = 2 GiB, db.t3.micro = 1 GiB; a replica inherits its source's class.
        memory = {n: inspect(n)["HostConfig"]["Memory"] for n in want}
        self.assertEqual(memory["localrds-%s-a" % rid["single"].lower()], 2 * GIB)
        self.assertEqual(memory["localrds-%s-b" % rid["multi"].lower()], 1 * GIB)
        self.assertEqual(memory["localrds-%s-a" % rid["replica"].lower()], 2 * GIB)
        # The endpoint is served from the container: a write on the primary reaches the replica.
        port = single["Endpoint"]["Port"]
        self.sql(port, "create table t(n int); insert into t values (1)")
        rport = replica["Endpoint"]["Port"]
        wait_until(lambda: psql(rport, MASTER_USER, MASTER_PASSWORD, "app",
                                "select count(*) from t")[1] == "1", 30, 0.1,
                   "the row on the replica")
        # A class change resizes the running container (no restart).
        before = inspect("localrds-%s-a" % rid["multi"].lower())["State"]["StartedAt"]
        self.rds.modify_db_instance(DBInstanceIdentifier="multi", DBInstanceClass="db.t3.medium",
                                    ApplyImmediately=True)
        self.wait_available("multi")
        for host in ("a", "b"):
            c = inspect("localrds-%s-%s" % (rid["multi"].lower(), host))
            self.assertEqual(c["HostConfig"]["Memory"], 4 * GIB, host)
        self.assertEqual(inspect("localrds-%s-a" % rid["multi"].lower())["State"]["StartedAt"],
                         before)
        self.assertEqual(self.describe("multi")["DBInstanceClass"], "db.t3.medium")

        for ident in ("replica", "single", "multi"):
            self.rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)
        for ident in ("replica", "single", "multi"):
            self.rds.get_waiter("db_instance_deleted").wait(
                DBInstanceIdentifier=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        wait_until(lambda: not docker_containers(self.h.data_dir), 30, 0.2,
                   "no container of this localrds to be left")

    def test_kill9_of_localrds_adopts_the_running_containers(self):
        inst = self.make("adopted", MultiAZ=True)
        port = inst["Endpoint"]["Port"]
        self.sql(port, "create table a(n int); insert into a values (1)")
        before = {n: inspect(n)["Id"] for n in self.running_containers()}
        self.assertEqual(len(before), 2)
        pid = self.details("adopted")["server"]["pid"]

        self.h.kill9()
        # The servers outlive localrds: the endpoint still takes writes.
        self.sql(port, "insert into a values (2)")
        self.h.restart()
        self.rds = self.h.client()
        self.wait_available("adopted")
        self.assertIn("adopted 2 running server container(s)", self.h.log_text())
        self.assertEqual({n: inspect(n)["Id"] for n in self.running_containers()}, before,
                         "the containers were replaced, not adopted")
        self.assertEqual(self.details("adopted")["server"]["pid"], pid)
        self.sql(port, "insert into a values (3)")
        self.assertEqual(self.sql(port, "select string_agg(n::text, ',' order by n) from a"),
                         "1,2,3")
        # And it still fails over: the standby's container serves the endpoint now.
        self.rds.reboot_db_instance(DBInstanceIdentifier="adopted", ForceFailover=True)
        self.wait_available("adopted")
        self.sql(port, "insert into a values (4)")
        self.assertEqual(self.details("adopted")["multi_az"]["primary_host"], "b")
        self.assertEqual(set(self.running_containers()), set(before))

    def test_containers_no_instance_owns_are_removed_at_start(self):
        self.make("kept")
        self.h.kill9()
        data = self.h.data_dir
        image = "%s:%s" % (DOCKER_IMAGE, docker("image", "ls", DOCKER_IMAGE, "--format",
                                                 "{{.Tag}}").split()[0])
        # What a crash can leave: the server of an instance whose delete was cut short after
        # its directory went, and a job (a pg_basebackup) whose localrds died.
        for name, role, pgdata in (("localrds-db-stray-a", "server",
                                    os.path.join(data, "instances", "db-STRAY", "pgdata")),
                                   ("localrds-job-stray", "job", "")):
            labels = ["--label", "org.localrds.data-dir=" + data, "--label",
                      "org.localrds.role=" + role]
            if pgdata:
                labels += ["--label", "org.localrds.pgdata=" + pgdata]
            docker("run", "-d", "--rm", "--network", "none", "--name", name, *labels, image,
                   "sleep", "300")
        self.addCleanup(docker, "rm", "-f", "localrds-db-stray-a", "localrds-job-stray",
                        check=False)
        self.h.restart()
        self.rds = self.h.client()
        log = self.h.log_text()
        # Ours, and perhaps the pool's initdb that the kill cut short.
        self.assertRegex(log, r"removed [12] job container\(s\) of a previous run")
        self.assertIn("removed 1 stray server container(s) (localrds-db-stray-a)", log)
        names = docker("ps", "-a", "--filter", "label=org.localrds.data-dir=" + data, "--format",
                       "{{.Names}}").split()
        rid = self.describe("kept")["DbiResourceId"].lower()
        wait_until(lambda: docker("ps", "-a", "--filter", "label=org.localrds.data-dir=" + data,
                                  "--format", "{{.Names}}").split() == ["localrds-%s-a" % rid],
                   30, 0.2, "only the kept instance's container (had %s)" % names)
        self.assertEqual(self.status("kept"), "available")


class MissingImageTest(unittest.TestCase):
    """Without the image, localrds refuses to start and says what to run."""

    def setUp(self):
        why = docker_unavailable()
        if why and os.environ.get("LOCALRDS_REQUIRE_DOCKER") == "1":
            self.fail("LOCALRDS_REQUIRE_DOCKER=1 but the docker runtime cannot run: " + why)
        if why:
            self.skipTest("--runtime docker: " + why)

    def test_no_image_says_how_to_build_one(self):
        h = Localrds(name="noimage", runtime_name="docker",
                     extra_args=["--docker-image", "localrds/no-such-image"])
        self.addCleanup(h.stop)
        h.start(wait=False)
        self.assertEqual(h.wait_exit(60), 1)
        self.assertIn("no PostgreSQL image localrds/no-such-image:<major> found. Build one, no "
                      "registry needed: sudo docker/build-image.sh", h.log_text())


if __name__ == "__main__":
    unittest.main()
