#!/usr/bin/env python3
"""Benchmark of DB parameter groups: how long a parameter change takes to reach the server.

One `localrds serve --pool-size 0` on a temp data dir, one instance in a parameter group. Each
figure sits next to a baseline measured in the same run on the same server:

  1. A dynamic parameter applied `immediate`: ModifyDBParameterGroup (log_min_duration_statement
     set to a new value each round) until a session of the master user sees it in SHOW.
     Baseline: the same change made by hand as the superuser over the Unix socket
     (ALTER SYSTEM SET …; SELECT pg_reload_conf()) until the same session sees it: what
     PostgreSQL itself needs for a reload.
  2. A ModifyDBParameterGroup call with one value (checked by PostgreSQL: one
     `postgres -C` process) against DescribeDBParameterGroups (a read of the same group): the
     cost of checking a value.

Needs root (the superuser's socket login is localrds' own OS user's), psql, python3 with boto3.
Wall times are printed, never asserted.
Usage: bench/run.sh groups [--rounds N]   or   python3 bench/bench_groups.py --binary PATH
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.api import Rds, endpoint  # noqa: E402
from lib.pg import PsqlSession  # noqa: E402
from lib.report import log, print_against  # noqa: E402
from lib.server import Localrds  # noqa: E402
from lib.skeleton import rounds_and_binary  # noqa: E402
from lib.stats import summary  # noqa: E402


def until_seen(session, value, timeout=10.0):
    """Polls the setting in `session` until it is `value` -> seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if session.value("SELECT setting FROM pg_settings "
                         "WHERE name = 'log_min_duration_statement'") == value:
            return time.perf_counter() - t0
        time.sleep(0.001)
    raise RuntimeError(f"log_min_duration_statement never became {value}")


def main():
    args = rounds_and_binary(15)
    server = Localrds(os.path.abspath(args.binary), pool_size=0, label="groups").start()
    try:
        rds = Rds(server, timeout=120)
        rds.api("create_db_parameter_group", DBParameterGroupName="bench",
                DBParameterGroupFamily="postgres15", Description="bench")
        rds.create_instance("bench-db", DBParameterGroupName="bench", BackupRetentionPeriod=0)
        ep = endpoint(rds.instance("bench-db"))
        session = PsqlSession(ep, "master")
        rds.read_data_dir()
        with open(os.path.join(rds.data_dir, "socket-dir")) as f:
            socket_dir = f.read().strip()

        def superuser(sql):
            subprocess.run(["psql", "-h", socket_dir, "-p", str(ep[1]), "-U", "rdsadmin", "-d",
                            "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           check=True, capture_output=True, timeout=30)

        api_apply, by_hand, modify_call, describe_call = [], [], [], []
        group_value = "-1"
        for i in range(args.rounds):
            # Baseline: by hand (postgresql.auto.conf, read after the group's settings), then
            # undone so that the group's value is the server's again.
            value = str(5000 + i)
            t0 = time.perf_counter()
            superuser(f"ALTER SYSTEM SET log_min_duration_statement = {value}")
            superuser("SELECT pg_reload_conf()")
            by_hand.append(time.perf_counter() - t0 + until_seen(session, value))
            superuser("ALTER SYSTEM RESET log_min_duration_statement")
            superuser("SELECT pg_reload_conf()")
            until_seen(session, group_value)
            # The same change through the parameter group.
            group_value = str(1000 + i)
            t0 = time.perf_counter()
            rds.api("modify_db_parameter_group", DBParameterGroupName="bench", Parameters=[
                {"ParameterName": "log_min_duration_statement", "ParameterValue": group_value,
                 "ApplyMethod": "immediate"}])
            modify_call.append(time.perf_counter() - t0)
            api_apply.append(modify_call[-1] + until_seen(session, group_value))
            t0 = time.perf_counter()
            rds.api("describe_db_parameter_groups", DBParameterGroupName="bench")
            describe_call.append(time.perf_counter() - t0)
        session.close()
        a, b = summary(api_apply), summary(by_hand)
        c, d = summary(modify_call), summary(describe_call)
        print("DB parameter groups (one instance, db.t3.micro, rounds: %d)" % args.rounds)
        print_against("immediate change -> seen by a session", a,
                      "by hand (ALTER SYSTEM + pg_reload_conf, two psql)", b)
        print_against("ModifyDBParameterGroup call (1 value, checked by postgres -C)", c,
                      "DescribeDBParameterGroups of the same group", d)
        rds.delete_instance("bench-db")
    finally:
        server.stop()
    log("done")


if __name__ == "__main__":
    main()
