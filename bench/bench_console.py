#!/usr/bin/env python3
"""Benchmark of the web console's calls against what they wrap, measured in the same run.

One `localrds serve --pool-size 0` on a temp data dir, one instance. Each figure sits next to a
baseline measured in the same run on the same server, alternating call by call:

  1. DescribeDBInstances through the console (POST /console/api/rds, JSON answer) against the
     same call on the Query API (POST /, XML answer): the cost of the console's JSON layer.
  2. The query editor (POST /console/api/sql, `SELECT count(*) FROM pg_class`) against the same
     SQL with `psql -c` over TCP (what an attendee would otherwise type): the editor's libpq
     connection per call against psql's process and connection.

Needs root, psql, python3 with boto3. Wall times are printed, never asserted.
Usage: bench/run.sh console [--rounds N]   or   python3 bench/bench_console.py --binary PATH
"""

import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib.api import Rds, endpoint  # noqa: E402
from lib.env import MASTER_PASSWORD, MASTER_USER  # noqa: E402
from lib.report import log, print_against  # noqa: E402
from lib.server import Localrds  # noqa: E402
from lib.skeleton import rounds_and_binary  # noqa: E402
from lib.stats import summary  # noqa: E402

SIGV4 = ("AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/rds/aws4_request, "
         "SignedHeaders=host;x-amz-date, Signature=0000")


def post(port, path, body, headers):
    """One POST on a new connection (as a page's fetch or an SDK call would) -> (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    args = rounds_and_binary(100)
    server = Localrds(os.path.abspath(args.binary), pool_size=0, label="console").start()
    try:
        rds = Rds(server, timeout=120)
        rds.create_instance("bench-db", BackupRetentionPeriod=0)
        host, port = endpoint(rds.instance("bench-db"))
        status, body = post(server.api_port, "/console/api/session", "{}",
                            {"Content-Type": "application/json"})
        assert status == 200, body
        token = json.loads(body)["token"]
        form = urllib.parse.urlencode({"Action": "DescribeDBInstances",
                                       "DBInstanceIdentifier": "bench-db"})
        sql = "SELECT count(*) FROM pg_class"

        def console_describe():
            st, b = post(server.api_port, "/console/api/rds", form,
                         {"Content-Type": "application/x-www-form-urlencoded",
                          "X-Localrds-Console-Token": token})
            assert st == 200 and b"bench-db" in b, b

        def query_api_describe():
            st, b = post(server.api_port, "/", form + "&Version=2014-10-31",
                         {"Content-Type": "application/x-www-form-urlencoded",
                          "Authorization": SIGV4})
            assert st == 200 and b"bench-db" in b, b

        def console_sql():
            st, b = post(server.api_port, "/console/api/sql",
                         json.dumps({"DBInstanceIdentifier": "bench-db",
                                     "password": MASTER_PASSWORD, "sql": sql}),
                         {"Content-Type": "application/json", "X-Localrds-Console-Token": token})
            assert st == 200 and json.loads(b)["results"][0]["rows"], b

        env = dict(os.environ, PGPASSWORD=MASTER_PASSWORD, PGCONNECT_TIMEOUT="10")

        def psql():
            subprocess.run(["psql", "-h", host, "-p", str(port), "-U", MASTER_USER, "-d",
                            "postgres", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           check=True, capture_output=True, env=env, timeout=30)

        for fn in (console_describe, query_api_describe, console_sql, psql):  # warm up
            fn()
        cd, qd, cs, ps = [], [], [], []
        for _ in range(args.rounds):
            cd.append(timed(console_describe))
            qd.append(timed(query_api_describe))
            cs.append(timed(console_sql))
            ps.append(timed(psql))
        a, b, c, d = summary(cd), summary(qd), summary(cs), summary(ps)
        print("Console calls (one instance, db.t3.micro, rounds: %d)" % args.rounds)
        print_against("DescribeDBInstances via /console/api/rds (JSON)", a,
                      "the Query API (XML)", b)
        print_against("query editor, one SELECT via /console/api/sql", c,
                      "psql -c over TCP", d)
        rds.delete_instance("bench-db")
    finally:
        server.stop()
    log("done")


if __name__ == "__main__":
    main()
