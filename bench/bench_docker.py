#!/usr/bin/env python3
"""Benchmark of localrds' Docker runtime against its local runtime, in the same run.

Two `localrds serve` run side by side on temp data dirs (the Localrds wrapper of
bench/lib/server.py): one with `--runtime local` (PostgreSQL servers as local processes, the
default) and one with `--runtime docker` (every PostgreSQL server in its own container, host
network). Every figure is measured on both, interleaved, and printed with the ratio
docker / local of the medians:

  1. CreateDBInstance -> the first DescribeDBInstances showing `available` (localrds answers a
     create once the instance is ready, so the call's own time is most of it), --reps times per
     runtime, single-AZ and MultiAZ=true (which also builds a synchronous standby: the time
     until GET /_localrds/instances says it is `ready` is printed too). localrds' own step
     times come from its log (`[ops] op=N kind=create ... step=S ok Nms`).
  2. Multi-AZ failover, with the failover bench's probe (new TCP connection + SCRAM + INSERT
     through the endpoint) and its rep procedure (bench/lib/multi_az.py): (a) kill -9 of the
     primary postmaster (the host pid GET /_localrds/instances/<id> reports as `server.pid`;
     for the docker runtime the container's postmaster as the host sees it) -> the first
     INSERT that succeeds (the health monitor fails over by itself); (b) RebootDBInstance
     ForceFailover=true -> the first INSERT on the new primary. --reps times each on each
     runtime, the standby `ready` again before the next rep. Also every failover step's time
     from localrds' log, per runtime.

Needs root (the kill -9 of servers that run as `postgres`), a Docker engine (`docker info`
must work) with the image localrds/postgres:<major> (docker/build-image.sh), psql, python3 with
boto3. Wall times are printed, never asserted; the exit status is 1 when a section failed, an
instance did not answer SQL, or an acknowledged probe INSERT was lost. Output: progress on
stderr, a report on stdout, then one line `BENCH_DOCKER_JSON {...}` with every figure.

Usage: bench/run.sh docker [--quick] [...]   or   python3 bench/bench_docker.py --help
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import skeleton  # noqa: E402
from lib.api import INSTANCE_FAILED, Rds, create_params, endpoint  # noqa: E402
from lib.errors import BenchError  # noqa: E402
from lib.multi_az import MAZ, PROBE_TABLE, MultiAz  # noqa: E402
from lib.pg import psql  # noqa: E402
from lib.probe import connect, probe_once  # noqa: E402
from lib.report import (fmt, fmt_ratio, footer, host_text, log, section_errors,  # noqa: E402
                        stat_cols)
from lib.server import Localrds  # noqa: E402
from lib.skeleton import run_section, section_failed  # noqa: E402
from lib.stats import step_medians, summary  # noqa: E402

RUNTIMES = ("local", "docker")
LABEL_DATA_DIR = "org.localrds.data-dir"  # the label docker_runtime.cc puts on its containers


# --------------------------------------------------------------------------------------------
# the Docker engine

def docker(*argv, timeout=30):
    """`docker <argv>` -> CompletedProcess; a missing CLI or a hang is an rc 127 / 124 result."""
    try:
        return subprocess.run(["docker", *argv], capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError:
        return subprocess.CompletedProcess(argv, 127, "", "the docker CLI is not installed")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"no answer within {timeout} s")


def check_docker(image):
    """None when an engine answers and `image` has a major-version tag, else what to do."""
    r = docker("info", "--format", "{{.ServerVersion}}")
    if r.returncode != 0 or not r.stdout.strip():
        why = (r.stderr.strip().splitlines() or ["no server version"])[-1]
        return (f"bench_docker.py: no Docker engine: `docker info` failed ({why}). Start one "
                f"(as root; localrds' containers use the host network, so they need no bridge): "
                f"dockerd --bridge=none --iptables=false >/var/log/dockerd.log 2>&1 &  then "
                f"build the PostgreSQL image: docker/build-image.sh")
    tags = docker("image", "ls", image, "--format", "{{.Tag}}").stdout.split()
    if not any(t.isdigit() for t in tags):
        return (f"bench_docker.py: the Docker engine has no image {image}:<major> (tags: "
                f"{' '.join(tags) or 'none'}); build it, no registry needed: "
                f"docker/build-image.sh")
    return None


def remove_containers(data_dir):
    """docker rm -f of every container (server or job) labelled with this data dir: what a
    reset and SIGTERM left behind. -> how many."""
    ids = set()
    for d in {data_dir, os.path.realpath(data_dir)}:
        r = docker("ps", "-aq", "--filter", f"label={LABEL_DATA_DIR}={d}")
        ids.update(r.stdout.split())
    if ids:
        docker("rm", "-f", *sorted(ids), timeout=120)
    return len(ids)


def engine_info(image):
    r = docker("version", "--format", "{{.Server.Version}}")
    tags = docker("image", "ls", image, "--format", "{{.Tag}} {{.ID}} {{.Size}}").stdout
    return {"server_version": r.stdout.strip(), "image_tags": tags.strip().splitlines()}


# --------------------------------------------------------------------------------------------
# the benchmark

class DockerBench:
    """Both servers (runtime -> Localrds), the API of each (runtime -> Rds) and its Multi-AZ
    instance (runtime -> MultiAz: create, the probe, the failover reps)."""

    def __init__(self, args):
        self.args = args
        self.servers = {}
        self.rds = {}
        self.maz = {}

    # ---- setup

    def setup(self, out):
        a = self.args
        for rt in RUNTIMES:
            extra = ["--runtime", rt]
            if rt == "docker":
                extra += ["--docker-image", a.docker_image]
            srv = Localrds(a.bin, pool_size=a.pool_size, label=rt, keep=a.keep,
                           extra_args=extra)
            self.servers[rt] = srv
            try:
                srv.start()
            except RuntimeError as e:
                raise BenchError(f"localrds --runtime {rt} did not start: {e}") from None
            health = srv.health()
            if health.get("runtime") != rt:
                raise BenchError(f"localrds started with --runtime {rt} reports runtime "
                                 f"{health.get('runtime')!r}")
            rds = self.rds[rt] = Rds(srv, a.timeout)
            rds.data_dir = health.get("data_dir")
            self.maz[rt] = MultiAz(rds, a)
            out[rt] = {"health": health, "api": srv.endpoint, "log": srv.log_path}
        out["engine"] = engine_info(a.docker_image)

    # ---- 1. creates

    def create_rep(self, rt, ident, multi_az):
        """CreateDBInstance, then DescribeDBInstances every --poll s until `available`; then
        the first `SELECT 1` through the endpoint (and for Multi-AZ the standby `ready`); then
        DeleteDBInstance until describe no longer finds it. Times from sending the call."""
        a, rds, srv = self.args, self.rds[rt], self.servers[rt]
        port = srv.next_port()
        t0 = time.perf_counter()
        resp = rds.api("create_db_instance", **create_params(ident, port, MultiAZ=multi_az))
        call_s = time.perf_counter() - t0
        rds.instances.append(ident)
        t_av, inst, polls = rds.wait_status(f"{rt}: {ident}", lambda: rds.instance_status(ident),
                                            "available", INSTANCE_FAILED, a.poll)
        row = {"runtime": rt, "id": ident, "multi_az": multi_az, "call_s": call_s,
               "status_in_response": resp["DBInstance"].get("DBInstanceStatus"),
               "to_available_s": t_av - t0, "polls": polls, "port_asked": port}
        ep = endpoint(inst)
        row["port"] = ep[1]
        deadline = time.perf_counter() + 30
        while True:
            outcome, rows, err = probe_once(ep, "SELECT 1", a.attempt_timeout)
            if outcome == "ok":
                row["sql_ok_after_s"] = time.perf_counter() - t_av
                break
            if time.perf_counter() > deadline:
                raise BenchError(f"{rt}: {ident} is available but `SELECT 1` as the master user "
                                 f"on {ep[0]}:{ep[1]} failed for 30 s: {outcome} {err or ''}")
            time.sleep(0.01)
        if multi_az:
            self.maz[rt].wait_ready(ident)
            row["standby_ready_s"] = time.perf_counter() - t0
        row["steps_ms"] = srv.op_steps().get(ident, {})
        row["server_call_ms"] = srv.api_ms("CreateDBInstance").get(ident)
        row["delete_s"] = rds.delete_instance(ident)
        rds.wait_trash_empty()
        log(f"{rt}: {ident} available after {row['to_available_s']:.3f} s (call "
            f"{call_s:.3f} s, {polls} polls" +
            (f", standby ready after {row['standby_ready_s']:.3f} s" if multi_az else "") +
            f"), SQL after +{row['sql_ok_after_s']:.3f} s, deleted in {row['delete_s']:.2f} s; "
            f"steps ms {row['steps_ms']}")
        return row

    def measure_creates(self, out):
        a = self.args
        rows = out["reps"] = []
        out["load_avg_before"] = os.getloadavg()
        try:
            for i in range(a.reps):
                for k, multi_az in enumerate((False, True)):
                    order = RUNTIMES if (i + k) % 2 == 0 else RUNTIMES[::-1]
                    for rt in order:
                        ident = f"bench-{'maz' if multi_az else 'single'}-{i + 1}"
                        rows.append(self.create_rep(rt, ident, multi_az))
                        if a.settle:
                            time.sleep(a.settle)
        finally:
            out["load_avg_after"] = os.getloadavg()
            for kind, multi_az in (("single", False), ("maz", True)):
                for rt in RUNTIMES:
                    mine = [r for r in rows if r["runtime"] == rt and r["multi_az"] == multi_az]
                    s = out[f"{kind}_{rt}"] = {}
                    for key in ("to_available_s", "call_s", "sql_ok_after_s", "standby_ready_s",
                                "delete_s"):
                        s[key] = summary([r.get(key) for r in mine])
                    s["steps_ms_median"] = step_medians(r["steps_ms"] for r in mine)
                    s["creating_in_response"] = sum(1 for r in mine
                                                    if r["status_in_response"] == "creating")
                    s["first_poll_available"] = sum(1 for r in mine if r["polls"] == 1)
                    s["n"] = len(mine)
                out[f"{kind}_ratio"] = ratio_of(out, kind, "to_available_s")

    # ---- 2. failovers

    def failover_setup(self, out):
        a = self.args
        for rt in RUNTIMES:
            maz = self.maz[rt]
            row = out[rt] = maz.create(MAZ, True)
            maz.ep = row["ep"]
            psql(maz.ep, PROBE_TABLE)
            info = self.servers[rt].inspect(MAZ)
            row["inspect"] = {k: info.get(k) for k in ("port", "server", "multi_az")}
            pid, pgdata = maz.primary_pid(MAZ)
            row["primary"] = {"pid": pid, "pgdata": pgdata, "cgroup": cgroup_of(pid)}
            log(f"{rt}: {MAZ} primary postmaster pid {pid} ({row['primary']['cgroup']})")
        # the probe's healthy round-trip, the floor of every failover time below: samples
        # alternate between the runtimes, so that a burst of load hits both alike
        sql = "INSERT INTO bench_failover_probe (tag) VALUES ('baseline') RETURNING id"
        times = {rt: [] for rt in RUNTIMES}
        for rt in RUNTIMES:
            probe_once(self.maz[rt].ep, sql, a.attempt_timeout)  # warm
        for _ in range(a.probe_samples):
            for rt in RUNTIMES:
                t = time.perf_counter()
                if probe_once(self.maz[rt].ep, sql, a.attempt_timeout)[0] == "ok":
                    times[rt].append(time.perf_counter() - t)
                time.sleep(0.005)
        for rt in RUNTIMES:
            out[rt]["probe_s"] = summary(times[rt])
        out["probe_ratio"] = ratio_of(out, None, "probe_s")
        # the same INSERT on an open connection: the commit latency with the synchronous
        # standby, without the connection's start-up and SCRAM
        conns = {rt: connect(self.maz[rt].ep, a.attempt_timeout) for rt in RUNTIMES}
        try:
            times = {rt: [] for rt in RUNTIMES}
            for _ in range(a.probe_samples):
                for rt in RUNTIMES:
                    t = time.perf_counter()
                    conns[rt].query(sql)
                    times[rt].append(time.perf_counter() - t)
                    time.sleep(0.005)
        finally:
            for c in conns.values():
                c.close()
        for rt in RUNTIMES:
            out[rt]["insert_open_s"] = summary(times[rt])
        out["insert_open_ratio"] = ratio_of(out, None, "insert_open_s")

    def measure_failovers(self, out, mode):
        a = self.args
        rows = out["reps"] = []
        out["load_avg_before"] = os.getloadavg()
        try:
            for i in range(a.reps):
                for rt in (RUNTIMES if i % 2 == 0 else RUNTIMES[::-1]):
                    log(f"{rt}: {mode} failover {i + 1} of {a.reps}")
                    r = self.maz[rt].failover_rep(mode, i)
                    r["runtime"] = rt
                    ops = [o for o in r["log"]["ops"] if o["kind"] == "failover"]
                    r["steps_ms"] = ({s["step"]: s["ms"] for s in ops[0]["steps"]}
                                     if ops else {})
                    rows.append(r)
        finally:
            out["load_avg_after"] = os.getloadavg()
            for rt in RUNTIMES:
                mine = [r for r in rows if r["runtime"] == rt]
                s = out[rt] = {"n": len(mine)}
                for key in ("to_insert_s", "ready_again_s", "write_gap_s", "call_s", "tail_ms"):
                    s[key] = summary([r.get(key) for r in mine])
                for key in ("detect_ms", "monitor_ms"):
                    s[key] = summary([r["log"].get(key) for r in mine])
                s["steps_ms_median"] = step_medians(r["steps_ms"] for r in mine)
                s["lost_probe_inserts"] = sum(r.get("lost_probe_inserts") or 0 for r in mine)
                s["extra_failover_ops"] = sum(max(0, r["log"]["failover_ops"] - 1) for r in mine)
            out["ratio"] = ratio_of(out, None, "to_insert_s")

    # ---- cleanup

    def api_cleanup(self, out):
        out["errors"] = []
        for rt, rds in self.rds.items():
            rds.delete_all(out, name=rt)

    def stop(self, res):
        """Stops both servers (reset, SIGTERM, stray postmasters), then removes any container
        of the docker one's data dir that is still there."""
        res["cleanup"] = {}
        for rt, srv in self.servers.items():
            data_dir = getattr(srv, "data_dir", None)
            try:
                srv.stop()
            finally:
                info = dict(getattr(srv, "cleanup_info", None) or {})
                if rt == "docker" and data_dir:
                    info["containers_left"] = remove_containers(data_dir)
                    if info["containers_left"]:
                        log(f"docker: removed {info['containers_left']} container(s) left "
                            f"after reset and SIGTERM")
                res["cleanup"][rt] = info


def cgroup_of(pid):
    """The last line of /proc/<pid>/cgroup, shortened (a container id shows it is one)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            line = f.read().strip().splitlines()[-1]
    except (OSError, IndexError):
        return None
    path = line.split(":", 2)[-1]
    return path if len(path) < 40 else path[:28] + "..." + path[-8:]


def ratio_of(out, kind, key):
    """docker median / local median of out[<kind>_<rt>][key] (or out[<rt>][key])."""
    def med(rt):
        s = (out.get(f"{kind}_{rt}" if kind else rt) or {}).get(key)
        return s and s["median"]
    d, loc = med("docker"), med("local")
    return d / loc if d is not None and loc else None


def run(args, res):
    res.update({"reps": args.reps,
                "options": {k: getattr(args, k) for k in
                            ("pool_size", "poll", "settle", "probe_gap", "pre_probe",
                             "attempt_timeout", "failover_timeout", "probe_samples",
                             "docker_image")}})
    bench = DockerBench(args)
    try:
        if run_section(res, "setup", bench.setup):
            if not args.no_create:
                run_section(res, "create", bench.measure_creates)
            if not args.no_failover and run_section(res, "failover_setup",
                                                    bench.failover_setup):
                run_section(res, "kill", bench.measure_failovers, "kill")
                run_section(res, "forced", bench.measure_failovers, "forced")
        run_section(res, "api_cleanup", bench.api_cleanup)
    finally:
        bench.stop(res)


# --------------------------------------------------------------------------------------------
# report

def report(res):
    w = sys.stdout.write
    o = res.get("options", {})
    w(f"\n=== localrds Docker runtime vs local runtime ({res['mode']} mode, {res['reps']} reps "
      f"of each figure on each runtime, interleaved, {host_text(res)}) ===\n")
    section_errors(w, res, ("setup", "create", "failover_setup", "kill", "forced", "api_cleanup"))
    su = res.get("setup", {})
    if su.get("docker"):
        eng = su.get("engine", {})
        w(f"\nboth: localrds {su['docker']['health'].get('version')}, --pool-size "
          f"{o.get('pool_size')}, engine versions {su['docker']['health'].get('engine_versions')}"
          f"; Docker engine {eng.get('server_version')}, image {o.get('docker_image')} "
          f"({'; '.join(eng.get('image_tags') or [])})\n")

    def srow(label, st, spec=".3f", extra=""):
        w(f"{label:<46}{stat_cols(st, spec=spec)}{extra}\n")

    cr = res.get("create", {})
    if cr.get("reps"):
        w(f"\n-- 1. CreateDBInstance -> first DescribeDBInstances showing `available` (seconds; "
          f"polls every {o.get('poll')} s; each instance deleted before the next create)\n")
        w(f"{'rep':>3}  {'runtime':<8}{'kind':<8}{'call s':>8}{'avail s':>9}{'polls':>6}"
          f"{'SQL +s':>8}{'standby':>9}{'delete':>8}  localrds steps ms\n")
        for r in cr["reps"]:
            w(f"{r['id'].rsplit('-', 1)[1]:>3}  {r['runtime']:<8}"
              f"{'multi' if r['multi_az'] else 'single':<8}{r['call_s']:>8.3f}"
              f"{r['to_available_s']:>9.3f}{r['polls']:>6}{fmt(r.get('sql_ok_after_s')):>8}"
              f"{fmt(r.get('standby_ready_s')):>9}{fmt(r.get('delete_s'), '.2f'):>8}  "
              f"{' '.join(f'{k}={v}' for k, v in r['steps_ms'].items())}\n")
        w("(call = the CreateDBInstance call's own time; SQL +s = from `available` to the first "
          "`SELECT 1` through the endpoint; standby = from the call to the standby `ready` in "
          "GET /_localrds/instances; delete = DeleteDBInstance until describe no longer finds "
          "it, polled every 0.2 s)\n")
        w(f"\n{'series':<46}{'n':>3}{'min':>8}{'median':>8}{'max':>8}   docker/local\n")
        for kind, name in (("single", "single-AZ"), ("maz", "Multi-AZ")):
            for key, label in (("to_available_s", "-> available"), ("call_s", "call itself"),
                               ("standby_ready_s", "-> standby ready"),
                               ("delete_s", "delete")):
                for rt in RUNTIMES:
                    st = (cr.get(f"{kind}_{rt}") or {}).get(key)
                    if st:
                        rat = ratio_of(cr, kind, key) if rt == "docker" else None
                        srow(f"{name} {label}, {rt}", st,
                             extra=f"   {rat:.2f}x" if rat else "")
            for rt in RUNTIMES:
                s = cr.get(f"{kind}_{rt}") or {}
                if s.get("n"):
                    w(f"{name} {rt}: `creating` in {s['creating_in_response']}/{s['n']} create "
                      f"responses, `available` at the first poll in {s['first_poll_available']}"
                      f"/{s['n']}; localrds step medians ms: "
                      f"{' '.join(f'{k}={v:g}' for k, v in s['steps_ms_median'].items())}\n")
        la, lb = cr.get("load_avg_before"), cr.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after: {la[0]:.2f} / {lb[0]:.2f}\n")

    fs = res.get("failover_setup", {})
    if fs.get("docker") or fs.get("local"):
        w(f"\n-- 2. Multi-AZ failover ({MAZ} on each runtime; probe = new TCP connection + "
          f"SCRAM + INSERT through the endpoint, {o.get('probe_gap', 0) * 1000:g} ms after a "
          f"failed attempt)\n")
        for rt in RUNTIMES:
            r = fs.get(rt)
            if r:
                p = r.get("primary", {})
                w(f"{rt}: {MAZ} available after {r['available_s']:.2f} s, standby ready after "
                  f"{fmt(r.get('standby_ready_s'), '.2f')} s; primary postmaster pid "
                  f"{p.get('pid')} (cgroup {p.get('cgroup')}); probe round-trip median "
                  f"{fmt((r.get('probe_s') or {}).get('median'), '.4f')} s, INSERT on an open "
                  f"connection median {fmt((r.get('insert_open_s') or {}).get('median'), '.4f')}"
                  f" s\n")
    for mode, title in (("kill", "2a. kill -9 of the primary postmaster (host pid) -> first "
                                 "INSERT through the endpoint"),
                        ("forced", "2b. RebootDBInstance ForceFailover=true -> first INSERT on "
                                   "the new primary")):
        sec = res.get(mode, {})
        if not sec.get("reps"):
            continue
        w(f"\n-- {title}\n")
        w(f"{'rep':>3}  {'runtime':<8}{'INSERT s':>9}" +
          (f"{'call s':>8}{'gap s':>7}" if mode == "forced" else "") +
          f"{'detect':>8}{'tail':>6}{'tries':>6}{'ready s':>8}  localrds failover steps ms\n")
        for r in sec["reps"]:
            w(f"{r['rep']:>3}  {r['runtime']:<8}{fmt(r.get('to_insert_s')):>9}" +
              (f"{fmt(r.get('call_s')):>8}{fmt(r.get('write_gap_s')):>7}"
               if mode == "forced" else "") +
              f"{fmt(r['log'].get('detect_ms'), '.0f'):>8}{fmt(r.get('tail_ms'), '.0f'):>6}"
              f"{r['attempts']:>6}{fmt(r.get('ready_again_s'), '.2f'):>8}  "
              f"{' '.join(f'{k}={v}' for k, v in r['steps_ms'].items())}\n")
        w("(detect = " + ("kill" if mode == "kill" else "call sent") + " -> fence step start, "
          "tail = serve step logged -> the probe's INSERT acknowledged, both ms from localrds' "
          "log; ready s = until the old host is the new `ready` standby" +
          ("; call s = the RebootDBInstance call's own time, gap = last INSERT on the old "
           "primary -> first on the new" if mode == "forced" else "") + ")\n")
        w(f"\n{'series':<46}{'n':>3}{'min':>8}{'median':>8}{'max':>8}   docker/local\n")
        keys = [("to_insert_s", "-> first INSERT")]
        if mode == "forced":
            keys += [("write_gap_s", "write gap"), ("call_s", "call answered")]
        keys.append(("ready_again_s", "-> standby ready again"))
        for key, label in keys:
            for rt in RUNTIMES:
                st = (sec.get(rt) or {}).get(key)
                if st:
                    rat = ratio_of(sec, None, key) if rt == "docker" else None
                    srow(f"{label}, {rt}", st, extra=f"   {rat:.2f}x" if rat else "")
        steps = {}
        for rt in RUNTIMES:
            for k, v in ((sec.get(rt) or {}).get("steps_ms_median") or {}).items():
                steps.setdefault(k, {})[rt] = v
        if steps:
            w(f"{'failover step, median ms':<28}{'local':>8}{'docker':>8}{'ratio':>8}\n")
            for k, v in steps.items():
                w(f"{k:<28}{fmt(v.get('local'), '.0f'):>8}{fmt(v.get('docker'), '.0f'):>8}"
                  f"{fmt_ratio(v.get('docker'), v.get('local')):>8}\n")
        for rt in RUNTIMES:
            s = sec.get(rt) or {}
            if s.get("lost_probe_inserts") or s.get("extra_failover_ops"):
                w(f"!! {rt}: {s['lost_probe_inserts']} acknowledged probe INSERTs missing, "
                  f"{s['extra_failover_ops']} extra failover operations\n")
        la, lb = sec.get("load_avg_before"), sec.get("load_avg_after")
        if la and lb:
            w(f"1-min load average before / after: {la[0]:.2f} / {lb[0]:.2f}\n")

    cl = res.get("cleanup") or {}
    for rt, c in cl.items():
        if c.get("servers_running_0_5s_after_reset") or c.get("servers_left_after_sigterm") \
                or c.get("containers_left"):
            w(f"!! {rt}: after reset/SIGTERM {c.get('servers_left_after_sigterm')} PostgreSQL "
              f"server(s) and {c.get('containers_left', 0)} container(s) were left (the bench "
              f"removed them)\n")
    for e in res.get("api_cleanup", {}).get("errors", []):
        w(f"!! cleanup: {e}\n")

    # the compact summary
    w("\n-- summary (seconds; ratio = docker median / local median)\n")
    w(f"{'figure':<46}{'local':>9}{'docker':>9}{'ratio':>8}\n")

    def line(label, sec, key, kind=None, stat="median", spec=".3f"):
        vals = {}
        for rt in RUNTIMES:
            st = (sec.get(f"{kind}_{rt}" if kind else rt) or {}).get(key)
            vals[rt] = st and st[stat]
        r = fmt_ratio(vals["docker"], vals["local"]) if stat == "median" else ""
        w(f"{label:<46}{fmt(vals['local'], spec):>9}{fmt(vals['docker'], spec):>9}{r:>8}\n")

    if cr.get("reps"):
        for kind, name in (("single", "single-AZ"), ("maz", "Multi-AZ")):
            line(f"create {name} -> available, median", cr, "to_available_s", kind)
            line(f"create {name} -> available, max", cr, "to_available_s", kind, "max")
            line("  of which the call itself, median", cr, "call_s", kind)
        line("create Multi-AZ -> standby ready, median", cr, "standby_ready_s", "maz")
    elif "create" in res:
        w(f"{'create':<46}{'error':>9}\n")
    if fs.get("local") and fs.get("docker"):
        line("probe round-trip, healthy, median", fs, "probe_s", spec=".4f")
        line("  INSERT on an open connection, median", fs, "insert_open_s", spec=".4f")
    for mode, name in (("kill", "kill -9 -> first INSERT"),
                       ("forced", "ForceFailover -> first INSERT")):
        sec = res.get(mode, {})
        if sec.get("reps"):
            line(f"{name}, median", sec, "to_insert_s")
            line(f"{name}, max", sec, "to_insert_s", stat="max")
            line(f"  {mode}: -> standby ready again, median", sec, "ready_again_s")
        elif mode in res:
            w(f"{name:<46}{'error':>9}\n")
    footer(w, res)


def failed(res):
    """True when a section failed or an acknowledged probe INSERT was lost."""
    if section_failed(res):
        return True
    for key in ("kill", "forced"):
        if any((res.get(key, {}).get(rt) or {}).get("lost_probe_inserts") for rt in RUNTIMES):
            return True
    return False


def main():
    ap = skeleton.parser(__doc__, "smoke run: 2 reps of everything")
    ap.add_argument("--reps", type=int, help="creates of each kind and failovers of each kind, "
                                             "per runtime (default 5, quick 2)")
    ap.add_argument("--poll", type=float, default=0.02,
                    help="DescribeDBInstances poll interval after a create (default 0.02)")
    ap.add_argument("--settle", type=float, default=0.3,
                    help="seconds of quiet between two creates, and between `ready` and the "
                         "next failover (default 0.3)")
    ap.add_argument("--probe-gap", type=float, default=0.005,
                    help="seconds between a failed probe attempt and the next (default 0.005)")
    ap.add_argument("--pre-probe", type=float, default=0.2,
                    help="seconds the forced-failover probe runs before the call (default 0.2)")
    ap.add_argument("--attempt-timeout", type=float, default=3.0,
                    help="socket timeout of one probe attempt (default 3 s)")
    ap.add_argument("--failover-timeout", type=float, default=60.0,
                    help="how long the probe tries before the failover counts as failed")
    ap.add_argument("--ready-timeout", type=float, default=180.0,
                    help="how long to wait for `available` with a ready standby")
    ap.add_argument("--probe-samples", type=int, help="healthy probe attempts per runtime "
                                                      "(default 50, quick 20)")
    ap.add_argument("--no-create", action="store_true", help="skip section 1")
    ap.add_argument("--no-failover", action="store_true", help="skip section 2")
    ap.add_argument("--docker-image", default="localrds/postgres",
                    help="localrds --docker-image (default localrds/postgres)")
    ap.add_argument("--timeout", type=float, default=600.0, help="limit of API waits, seconds")
    ap.add_argument("--pool-size", type=int, default=0,
                    help="localrds --pool-size of both servers (default 0: every create runs "
                         "initdb, and no initdb runs in the background while measuring)")
    args = skeleton.parse(ap, (("reps", 5, 2), ("probe_samples", 50, 20)),
                          keep_help="keep the temp dirs (debugging)")
    if min(args.reps, args.probe_samples) < 1:
        sys.exit("--reps and --probe-samples must be at least 1")
    skeleton.require(args, "bench_docker.py", ("psql",))
    if os.geteuid() != 0:
        sys.exit("bench_docker.py must run as root: it kills PostgreSQL servers that run as "
                 "the user postgres (in containers too)")
    problem = check_docker(args.docker_image)
    if problem:
        sys.exit(problem)

    skeleton.measure(args, run, report, failed, "BENCH_DOCKER_JSON")


if __name__ == "__main__":
    main()
