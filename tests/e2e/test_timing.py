"""Timing profiles as a user lives them: localrds started with `--timing aws:0.05` (a twentieth of
RDS's durations) fails a Multi-AZ instance over (RebootDBInstance ForceFailover=True) with its
endpoint refusing TCP connections for the scaled failover duration (90 s x 0.05 = 4.5 s), then
serving the promoted standby with every commit, and DescribeEvents dates the failover's start and
end that far apart (also when localrds is killed mid-hold and restarted: the rest of the hold is
resumed, the failover completes once); the per-instance control (/_localrds/instances/<id>/timing) makes one instance
fast and another follow the server's profile in the same server (a reboot: the endpoint down
60 s x 0.05 = 3 s); LatestRestorableTime trails by about RDS's five minutes, scaled; a bad
--timing is refused at startup.

Only lower bounds are asserted (the endpoint refused for at least the duration): nothing here
measures that something is fast.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_timing
"""

import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import binary, free_port, port_accepts, wait_until
from test_multi_az import FAILOVER_COMPLETED, FAILOVER_STARTED, MultiAzTestCase

SCALE = 0.05
FAILOVER_S = 90 * SCALE  # RDS: "typically 60-120 seconds"; the table's 90 s
REBOOT_S = 60 * SCALE
RESTORE_LAG_S = 300 * SCALE  # LatestRestorableTime "typically within the last five minutes"
# Polling and clock granularity: the endpoint is probed every 50 ms, event dates are kept in ms.
TOLERANCE_S = 0.3
AWS_SCALED = {"profile": "aws", "scale": SCALE}
FAST = {"profile": "fast"}


class TimingTest(MultiAzTestCase):
    server_kwargs = {"extra_args": ["--timing", "aws:%g" % SCALE]}

    def timing(self, ident, method="GET", body=None):
        status, answer = self.h.control(method, "/_localrds/instances/%s/timing" % ident,
                                        body=None if body is None else json.dumps(body))
        self.assertEqual(status, 200, answer)
        return answer

    def create_fast(self, ident, **kw):
        """An instance made with the fast profile (its own), so that its creation does not take
        the server's scaled ten minutes; returns it described, available."""
        self.create(ident, wait=False, **kw)
        self.assertEqual(self.timing(ident, "POST", FAST)["timing"], FAST)
        self.wait_available(ident)
        return self.describe(ident)

    def wait_refused_then_served(self, port, t0):
        """Until the endpoint refuses connections (the old server is gone), then until it
        accepts again; returns how long after t0 it came back."""
        wait_until(lambda: not port_accepts(port, 0.2), 30, 0.02,
                   "port %d to refuse connections" % port)
        served = wait_until(lambda: port_accepts(port, 0.2) and time.monotonic(), 60, 0.05,
                            "port %d to accept connections again" % port)
        return served - t0

    def event_date(self, ident, event, since):
        message = event[1]
        events = self.rds.describe_events(SourceIdentifier=ident, SourceType="db-instance",
                                          StartTime=since)["Events"]
        dates = [e["Date"] for e in events if e["Message"] == message]
        self.assertEqual(len(dates), 1, [e["Message"] for e in events])
        return dates[0]

    def test_force_failover_refuses_the_endpoint_for_the_scaled_duration(self):
        ident = "timed-failover"
        self.create_fast(ident, DBName="app", BackupRetentionPeriod=1, MultiAZ=True)
        port = self.port_of(ident)
        self.sql(port, "create table t(id int primary key, v text)")
        self.insert(port, 1, 100)  # acknowledged: each must survive the failover
        self.wait_standby_ready(ident)
        # Back to the server's profile (aws:0.05).
        t = self.timing(ident, "DELETE")
        self.assertIsNone(t["own"])
        self.assertEqual(t["timing"], AWS_SCALED)
        self.assertEqual(t["server"], AWS_SCALED)

        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        t0 = time.monotonic()
        inst = self.rds.reboot_db_instance(DBInstanceIdentifier=ident,
                                           ForceFailover=True)["DBInstance"]
        self.assertEqual(inst["DBInstanceStatus"], "rebooting")
        refused_for = self.wait_refused_then_served(port, t0)
        self.assertGreaterEqual(refused_for, FAILOVER_S - TOLERANCE_S,
                                "the endpoint served again after %.2fs" % refused_for)
        self.wait_available(ident)
        self.assertEqual(self.port_of(ident), port)
        self.assertEqual(self.sql(port, "select count(*) from t"), "100")
        self.assertWritable(port, 1000)
        started = self.event_date(ident, FAILOVER_STARTED, since)
        completed = self.event_date(ident, FAILOVER_COMPLETED, since)
        spacing = (completed - started).total_seconds()
        self.assertGreaterEqual(spacing, FAILOVER_S - TOLERANCE_S)
        # "About" the scaled duration: the promotion and the restart on the endpoint's port add
        # their own time, never minutes.
        self.assertLess(spacing, FAILOVER_S + 30, "the failover events are %.2fs apart" % spacing)

    def test_a_killed_localrds_resumes_only_the_rest_of_a_held_failover(self):
        ident = "timed-crash"
        self.create_fast(ident, DBName="app", BackupRetentionPeriod=1, MultiAZ=True)
        port = self.port_of(ident)
        self.sql(port, "create table t(id int primary key, v text)")
        self.insert(port, 1, 50)
        self.wait_standby_ready(ident)
        self.timing(ident, "DELETE")

        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        t0 = time.monotonic()
        self.rds.reboot_db_instance(DBInstanceIdentifier=ident, ForceFailover=True)
        wait_until(lambda: not port_accepts(port, 0.2), 30, 0.02, "the old primary fenced")
        self.h.kill9()  # mid-hold: the standby is promoted, the endpoint not served yet
        self.h.restart()
        self.rds = self.h.client()
        served = wait_until(lambda: port_accepts(port, 0.2) and time.monotonic(), 60, 0.05,
                            "port %d to accept connections again" % port)
        self.assertGreaterEqual(served - t0, FAILOVER_S - TOLERANCE_S)
        self.wait_available(ident)
        self.assertEqual(self.sql(port, "select count(*) from t"), "50")
        self.assertWritable(port, 1000)
        started = self.event_date(ident, FAILOVER_STARTED, since)
        completed = self.event_date(ident, FAILOVER_COMPLETED, since)  # exactly one
        self.assertGreaterEqual((completed - started).total_seconds(), FAILOVER_S - TOLERANCE_S)
        self.assertEqual(self.timing(ident)["timing"], AWS_SCALED)  # the server's, after a restart

    def test_the_control_mixes_fast_and_aws_instances_in_one_server(self):
        self.create_fast("timed-fast", BackupRetentionPeriod=1)
        self.create_fast("timed-aws", BackupRetentionPeriod=1)
        self.assertEqual(self.timing("timed-aws", "DELETE")["timing"], AWS_SCALED)
        aws_since = time.monotonic()
        self.assertEqual(self.timing("timed-fast")["own"], FAST)

        # The fast one's reboot is over when the call answers; the other's holds `rebooting`,
        # its endpoint refusing connections, for the scaled reboot.
        inst = self.rds.reboot_db_instance(DBInstanceIdentifier="timed-fast")["DBInstance"]
        self.wait_available("timed-fast")
        port = self.port_of("timed-aws")
        t0 = time.monotonic()
        inst = self.rds.reboot_db_instance(DBInstanceIdentifier="timed-aws")["DBInstance"]
        self.assertEqual(inst["DBInstanceStatus"], "rebooting")
        self.assertEqual(self.status("timed-fast"), "available")
        refused_for = self.wait_refused_then_served(port, t0)
        self.assertGreaterEqual(refused_for, REBOOT_S - TOLERANCE_S)
        self.wait_available("timed-aws")

        # LatestRestorableTime: about five minutes behind (scaled) under aws, close under fast.
        def lag(ident):
            latest = self.describe(ident)["LatestRestorableTime"]
            return (datetime.datetime.now(datetime.timezone.utc) - latest).total_seconds()
        wait_until(lambda: lag("timed-fast") < RESTORE_LAG_S - 5, 30, 0.5,
                   "the fast instance's LatestRestorableTime to keep up")
        # (It never moves back: what was restorable under fast stays so, until the lag passes it.)
        wait_until(lambda: time.monotonic() - aws_since > RESTORE_LAG_S + 2, 60, 0.5,
                   "the scaled five minutes since the instance follows aws")
        self.assertGreaterEqual(lag("timed-aws"), RESTORE_LAG_S - 1)

        # The control's errors.
        status, body = self.h.control("POST", "/_localrds/instances/timed-aws/timing",
                                      body=json.dumps({"profile": "slow"}))
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"], "InvalidParameterValue")
        status, body = self.h.control("GET", "/_localrds/instances/nope/timing")
        self.assertEqual(status, 404, body)
        self.assertEqual(body["message"], "DBInstance nope not found.")


class TimingFlagTest(unittest.TestCase):
    def test_a_bad_timing_is_refused_at_startup(self):
        root = tempfile.mkdtemp(prefix="localrds-e2e-timing-flag-", dir="/tmp")
        self.addCleanup(shutil.rmtree, root, True)
        for flag, env in (("slow", None), ("aws:0", None), (None, "aws:fast")):
            value = flag or env
            cmd = [binary(), "serve", "--port", str(free_port()),
                   "--data-dir", os.path.join(root, "data")]
            environ = dict(os.environ)
            environ.pop("LOCALRDS_TIMING", None)
            if flag:
                cmd += ["--timing", flag]
            else:
                environ["LOCALRDS_TIMING"] = env
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=environ)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("localrds: --timing must be fast, aws or aws:<scale> (0 < scale <= 100), "
                          "not '%s'" % value, r.stderr)


if __name__ == "__main__":
    unittest.main()
