#!/usr/bin/env python3
"""Benchmarks for localrds' "Foundation" speed goals.

Measures, each against a baseline taken in the same run on the same machine:

  1. CreateDBInstance -> `available` latency (warm pool, back-to-back, and --pool-size 0),
     against initdb + postgres start + CREATE DATABASE done by hand with the same binaries;
     plus the boto3 `db_instance_available` waiter (time and number of polls).
  2. DescribeDBInstances throughput with 20 instances, against moto_server on the same requests.
  3. Memory: localrds' own RSS/PSS (0 and 20 instances) and the PSS of each idle instance's
     PostgreSQL processes, plus the MemAvailable drop per instance.

Only python3's standard library and boto3 are needed. Wall times are printed, never asserted:
the machine is small and noisy. Output: human-readable tables, then one line
`BENCH_JSON {...}` with every figure.

Usage: bench/run.sh [--quick] [--bin build/localrds] [...]   (see --help)
"""

import http.client
import multiprocessing
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import skeleton  # noqa: E402
from lib.api import RETRY_ONCE, boto_client, create_params  # noqa: E402
from lib.baselines import (AS_POSTGRES, INITDB_FLAGS, by_hand_env, pg_tool,  # noqa: E402
                           postmaster_pid_lines, wait_postmaster)
from lib.env import DB_NAME, GiB, MASTER_PASSWORD, MASTER_USER, PG_USER, SUPERUSER  # noqa: E402
from lib.host import (all_processes, kill_postmasters_under, pick_ports, port_free,  # noqa: E402
                      postmasters_under, process_tree_of, read_kv_kb)
from lib.pg import sql_check  # noqa: E402
from lib.report import fmt, fmt_ratio, log  # noqa: E402
from lib.server import CLEANUPS, Localrds  # noqa: E402
from lib.stats import pct, summary  # noqa: E402

DESCRIBE_BODY = b"Action=DescribeDBInstances&Version=2014-10-31"
FAKE_AUTH = ("AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/rds/aws4_request, "
             "SignedHeaders=host, Signature=x")


def rds_client(endpoint):
    """The boto3 client of this bench (one retry, as botocore counts max_attempts)."""
    return boto_client(endpoint, RETRY_ONCE, 300, max_pool_connections=16)


# --------------------------------------------------------------------------------------------
# /proc figures of the servers under test

def proc_mem(pid):
    """{'rss_kb', 'pss_kb', 'pss_anon_kb'} of one process (0 if gone)."""
    st = read_kv_kb(f"/proc/{pid}/status", {"VmRSS"})
    sm = read_kv_kb(f"/proc/{pid}/smaps_rollup", {"Pss", "Pss_Anon", "Pss_Shmem"})
    return {"rss_kb": st.get("VmRSS", 0), "pss_kb": sm.get("Pss", 0),
            "pss_anon_kb": sm.get("Pss_Anon", 0), "pss_shmem_kb": sm.get("Pss_Shmem", 0)}


MEMINFO_KEYS = ("MemAvailable", "AnonPages", "Shmem", "Cached", "Dirty")


def meminfo_kb(samples=5, gap=0.2):
    """Median over a few samples of the /proc/meminfo figures in MEMINFO_KEYS."""
    vals = []
    for i in range(samples):
        vals.append(read_kv_kb("/proc/meminfo", set(MEMINFO_KEYS)))
        if i + 1 < samples:
            time.sleep(gap)
    return {k: statistics.median(v[k] for v in vals) for k in MEMINFO_KEYS}


def cpu_ticks(pid):
    """utime+stime (+ reaped children) of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


# --------------------------------------------------------------------------------------------
# moto_server, the baseline of the describe throughput

class Moto:
    def __init__(self):
        self.proc = None

    def start(self):
        exe = shutil.which("moto_server")
        if not exe:
            raise RuntimeError("moto_server is not on PATH")
        for _ in range(3):
            self.port = pick_ports()[0]
            self.endpoint = f"http://127.0.0.1:{self.port}"
            self.log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=self.log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.time() + 60
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                    c.request("GET", "/moto-api/data.json")
                    c.getresponse().read()
                    c.close()
                    self.pid = self.server_pid()
                    log(f"moto_server: pid {self.pid} on {self.endpoint}")
                    return self
                except OSError:
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError("moto_server did not come up")

    def server_pid(self):
        """The python process actually serving (moto_server may be a pyenv shim around it)."""
        procs = all_processes()
        tree = process_tree_of(self.proc.pid, procs)
        for pid in tree:
            argv = procs.get(pid, (0, []))[1]
            if argv and "python" in os.path.basename(argv[0]):
                return pid
        return self.proc.pid

    def client(self):
        return rds_client(self.endpoint)

    def stop(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: only moto's processes
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        self.proc = None


# --------------------------------------------------------------------------------------------
# 1. CreateDBInstance -> available

def measure_creates(server, n, prefix, wait_pool, check_sql=True):
    """n sequential creates. For each: wall time from sending CreateDBInstance to the first
    DescribeDBInstances response that shows `available` (the waiter's polls, timed by a botocore
    hook), the create call itself, the waiter call and its number of polls."""
    client = rds_client(server.endpoint)
    polls = []

    def on_describe(parsed=None, **_):
        status = None
        try:
            status = parsed["DBInstances"][0]["DBInstanceStatus"]
        except (KeyError, IndexError, TypeError):
            pass
        polls.append((time.perf_counter(), status))

    client.meta.events.register("after-call.rds.DescribeDBInstances", on_describe)
    waiter = client.get_waiter("db_instance_available")
    rows = []
    for i in range(n):
        ident = f"{prefix}-{i:02d}"
        pool_before = server.pool_ready()
        if wait_pool:
            if not server.wait_pool_full():
                log(f"{server.label}: pool did not refill within 60 s")
            time.sleep(0.2)  # let the refill's initdb leave the CPU
            pool_before = server.pool_ready()
        port = server.next_port()
        polls.clear()
        t0 = time.perf_counter()
        resp = client.create_db_instance(**create_params(ident, port))
        t1 = time.perf_counter()
        create_status = resp["DBInstance"]["DBInstanceStatus"]
        # Delay 1 s (default 30 s) only so that a miss costs 1 s, not 30: the expected case is a
        # hit on the first poll, which the poll count below shows.
        waiter.wait(DBInstanceIdentifier=ident, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        t2 = time.perf_counter()
        first_available = next((t for t, s in polls if s == "available"), None)
        row = {"id": ident, "pool_ready_before": pool_before, "create_call_s": t1 - t0,
               "create_status": create_status, "waiter_s": t2 - t1, "waiter_polls": len(polls),
               "to_available_s": (first_available - t0) if first_available else None}
        if check_sql:
            # Where the instance really listens (it may have moved off a busy port).
            addr = client.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
            real_port = addr["Endpoint"]["Port"]
            s = sql_check(real_port)
            row["sql_ok_after_s"] = s
        rows.append(row)
        log(f"{server.label}: {ident} available after {fmt(row['to_available_s'])} s "
            f"(create call {row['create_call_s']:.3f} s, waiter {row['waiter_s']:.3f} s / "
            f"{row['waiter_polls']} poll(s), pool had {pool_before})")
    steps = server.op_steps()
    api = server.api_ms("CreateDBInstance")
    for r in rows:
        r["server_steps_ms"] = steps.get(r["id"], {})
        r["server_create_ms"] = api.get(r["id"])
    return rows


def create_summary(rows):
    out = {"to_available_s": summary([r["to_available_s"] for r in rows if r["to_available_s"]]),
           "create_call_s": summary([r["create_call_s"] for r in rows]),
           "waiter_s": summary([r["waiter_s"] for r in rows]),
           "waiter_polls": summary([r["waiter_polls"] for r in rows]),
           "waiter_first_poll_hits": sum(1 for r in rows if r["waiter_polls"] == 1),
           "create_status_creating": sum(1 for r in rows if r["create_status"] == "creating"),
           "sql_ok_after_s": summary([r["sql_ok_after_s"] for r in rows
                                      if r.get("sql_ok_after_s") is not None]),
           "sql_failures": sum(1 for r in rows if "sql_ok_after_s" in r and
                               r["sql_ok_after_s"] is None),
           "n": len(rows)}
    step_names = []
    for r in rows:
        for k in r["server_steps_ms"]:
            if k not in step_names:
                step_names.append(k)
    out["server_steps_ms_median"] = {
        k: statistics.median([r["server_steps_ms"].get(k, 0) for r in rows]) for k in step_names}
    out["server_steps_ms_max"] = {
        k: max(r["server_steps_ms"].get(k, 0) for r in rows) for k in step_names}
    return out


def measure_baseline(reps, port_lo):
    """initdb + postgres start + CREATE DATABASE by hand, as `postgres`, with the same binaries,
    flags and settings localrds uses. Returns per-rep part timings."""
    tmp = tempfile.mkdtemp(prefix="localrds-bench-baseline-")
    os.chmod(tmp, 0o755)
    env = by_hand_env()
    rows = []
    try:
        for i in range(reps):
            pgdata = os.path.join(tmp, f"pg{i}", "pgdata")
            sock = os.path.join(tmp, f"pg{i}", "sock")
            for d in (os.path.dirname(pgdata), pgdata, sock):
                os.makedirs(d, exist_ok=True)
                shutil.chown(d, PG_USER, PG_USER)
                os.chmod(d, 0o700 if d != os.path.dirname(pgdata) else 0o755)
            port = port_lo + i
            while not port_free(port):
                port += 1
            t0 = time.perf_counter()
            r = subprocess.run(AS_POSTGRES + [pg_tool("initdb"), "-D", pgdata, *INITDB_FLAGS],
                               env=env, cwd="/", capture_output=True, text=True)
            t1 = time.perf_counter()
            if r.returncode != 0:
                raise RuntimeError(f"baseline initdb failed: {r.stdout}{r.stderr}")
            with open(os.path.join(pgdata, "postgresql.conf"), "a") as f:
                f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {port}\n"
                        f"unix_socket_directories = '{sock}'\nshared_buffers = 16MB\n"
                        f"max_connections = 40\npassword_encryption = 'scram-sha-256'\n")
            logf = open(os.path.join(tmp, f"pg{i}", "server.log"), "wb")
            t1b = time.perf_counter()
            proc = subprocess.Popen(AS_POSTGRES + [pg_tool("postgres"), "-D", pgdata], env=env,
                                    cwd="/", stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            ready = wait_postmaster(pgdata, proc)
            t2 = time.perf_counter()
            if not ready:
                raise RuntimeError("baseline postgres did not start")
            r = subprocess.run(AS_POSTGRES + ["psql", "-h", sock, "-p", str(port), "-U", SUPERUSER,
                                              "-d", "postgres", "-Xq",
                                              "-c", "CREATE ROLE rds_superuser NOLOGIN",
                                              "-c", f"CREATE ROLE {MASTER_USER} LOGIN CREATEDB "
                                                    f"CREATEROLE IN ROLE rds_superuser "
                                                    f"PASSWORD '{MASTER_PASSWORD}'",
                                              "-c", f"CREATE DATABASE {DB_NAME} OWNER "
                                                    f"{MASTER_USER}"],
                               env=env, cwd="/", capture_output=True, text=True)
            t3 = time.perf_counter()
            if r.returncode != 0:
                raise RuntimeError(f"baseline SQL failed: {r.stdout}{r.stderr}")
            try:
                os.kill(int(postmaster_pid_lines(pgdata)[0]), signal.SIGINT)
            except (OSError, ValueError):
                pass
            proc.wait(timeout=30)
            logf.close()
            row = {"initdb_s": t1 - t0, "start_s": t2 - t1b, "create_database_s": t3 - t2,
                   "total_s": (t1 - t0) + (t3 - t1b)}
            row["start_plus_sql_s"] = row["start_s"] + row["create_database_s"]
            rows.append(row)
            log(f"baseline {i}: initdb {row['initdb_s']:.3f} s, start {row['start_s']:.3f} s, "
                f"roles+CREATE DATABASE {row['create_database_s']:.3f} s")
    finally:
        kill_postmasters_under(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------------------------
# 2. DescribeDBInstances throughput

def _describe_worker(port, start_at, end_at, out_q):
    """One keep-alive connection, closed loop, pre-built request. Counts requests that complete
    between start_at and end_at (wall clock); the ones before are warm-up."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "Authorization": FAKE_AUTH, "X-Amz-Date": "20260101T000000Z",
               "Connection": "keep-alive"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    n = errors = nbytes = closes = 0
    lat = []
    first_body = None
    try:
        while True:
            t = time.time()
            if t >= end_at:
                break
            try:
                conn.request("POST", "/", body=DESCRIBE_BODY, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200
                if resp.will_close:
                    closes += 1
            except (OSError, http.client.HTTPException):
                ok = False
                body = b""
                conn.close()
            t2 = time.time()
            if first_body is None and ok:
                first_body = body
            if start_at <= t and t2 <= end_at:
                if ok:
                    n += 1
                    nbytes += len(body)
                    lat.append(t2 - t)
                else:
                    errors += 1
    finally:
        conn.close()
    out_q.put({"n": n, "errors": errors, "bytes": nbytes, "closes": closes,
               "lat": lat[:: max(1, len(lat) // 2000)],
               "instances_in_body": (first_body or b"").count(b"<DBInstanceIdentifier>"),
               "body_len": len(first_body or b"")})


def describe_throughput(port, server_pid, clients, duration, warmup):
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    start_at = time.time() + warmup + 0.3
    end_at = start_at + duration
    procs = [ctx.Process(target=_describe_worker, args=(port, start_at, end_at, q))
             for _ in range(clients)]
    for p in procs:
        p.start()
    while time.time() < start_at:
        time.sleep(0.005)
    cpu0, w0 = cpu_ticks(server_pid), time.time()
    while time.time() < end_at:
        time.sleep(0.01)
    cpu1, w1 = cpu_ticks(server_pid), time.time()
    results = [q.get(timeout=duration + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    n = sum(r["n"] for r in results)
    lat = sorted(x for r in results for x in r["lat"])
    cpu = cpu1 - cpu0
    return {"requests": n, "errors": sum(r["errors"] for r in results),
            "server_closed_connections": sum(r["closes"] for r in results),
            "duration_s": duration, "clients": clients, "req_per_s": n / duration,
            "latency_ms_median": 1000 * statistics.median(lat) if lat else None,
            "latency_ms_p90": 1000 * pct(lat, 90) if lat else None,
            "server_cpu_s": cpu, "server_cpu_util": cpu / (w1 - w0),
            "server_cpu_us_per_req": 1e6 * cpu / n if n else None,
            "instances_in_body": max(r["instances_in_body"] for r in results),
            "body_bytes": max(r["body_len"] for r in results)}


def wrk_throughput(port, duration, clients):
    exe = shutil.which("wrk")
    if not exe:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write('wrk.method = "POST"\n'
                f'wrk.body = "{DESCRIBE_BODY.decode()}"\n'
                'wrk.headers["Content-Type"] = '
                '"application/x-www-form-urlencoded; charset=utf-8"\n'
                f'wrk.headers["Authorization"] = "{FAKE_AUTH}"\n'
                'wrk.headers["X-Amz-Date"] = "20260101T000000Z"\n')
        script = f.name
    try:
        r = subprocess.run([exe, "-t", "1", "-c", str(clients),
                            "-d", f"{max(1, int(round(duration)))}s",
                            "--timeout", "10s", "-s", script, f"http://127.0.0.1:{port}/"],
                           capture_output=True, text=True, timeout=duration + 60)
    finally:
        os.unlink(script)
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", r.stdout)
    errs = re.search(r"Socket errors:(.*)", r.stdout)
    return {"req_per_s": float(m.group(1)) if m else None,
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errs.group(1).strip() if errs else "", "clients": clients,
            "duration_s": duration}


# --------------------------------------------------------------------------------------------
# 3. memory

def instance_memory(data_dir):
    """Per instance: PSS/RSS summed over its postmaster and all its children."""
    procs = all_processes()
    out = {}
    for pgdata, pm in postmasters_under(data_dir, procs).items():
        tree = process_tree_of(pm, procs)
        mems = [proc_mem(p) for p in tree]
        rid = os.path.basename(os.path.dirname(pgdata))
        out[rid] = {"processes": len(tree), "pss_kb": sum(m["pss_kb"] for m in mems),
                    "rss_kb": sum(m["rss_kb"] for m in mems),
                    "pss_anon_kb": sum(m["pss_anon_kb"] for m in mems),
                    "pss_shmem_kb": sum(m["pss_shmem_kb"] for m in mems)}
    return out


# --------------------------------------------------------------------------------------------
# the run

def run(args, results):
    cleanup = []  # servers to stop whatever happens

    def stop_all():
        while cleanup:
            s = cleanup.pop()
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001
                log(f"cleanup of {getattr(s, 'label', s)} failed: {e}")

    try:
        # --- 1a. baseline by hand -------------------------------------------------------------
        log(f"baseline: {args.baseline_reps} x initdb + postgres start + CREATE DATABASE by hand")
        base_ports = pick_ports()[1]
        base = measure_baseline(args.baseline_reps, base_ports)
        results["baseline"] = {k: summary([r[k] for r in base]) for k in base[0]}

        # --- 1b. creates with a warm pool -----------------------------------------------------
        srv = Localrds(args.bin, pool_size=3, label="pool3", keep=args.keep).start()
        cleanup.append(srv)
        srv.wait_pool_full()
        warm = measure_creates(srv, args.creates, "warm", wait_pool=True)
        results["create_warm_pool"] = create_summary(warm)
        results["create_warm_pool"]["rows"] = warm
        stop_all()

        # --- 1c. creates with --pool-size 0 ---------------------------------------------------
        srv = Localrds(args.bin, pool_size=0, label="pool0", keep=args.keep).start()
        cleanup.append(srv)
        cold = measure_creates(srv, args.cold_creates, "nopool", wait_pool=False)
        results["create_pool0"] = create_summary(cold)
        results["create_pool0"]["rows"] = cold
        stop_all()

        # --- 2/3. one localrds with N instances: memory, back-to-back creates, describe -------
        srv = Localrds(args.bin, pool_size=3, label="describe", keep=args.keep).start()
        cleanup.append(srv)
        srv.wait_pool_full()
        time.sleep(1.0)
        mem0 = proc_mem(srv.pid)
        mi0 = meminfo_kb()
        log(f"localrds idle, 0 instances: RSS {mem0['rss_kb']} kB, PSS {mem0['pss_kb']} kB")
        b2b = measure_creates(srv, args.instances, "db", wait_pool=False, check_sql=False)
        results["create_back_to_back"] = create_summary(b2b)
        results["create_back_to_back"]["rows"] = b2b
        srv.wait_pool_full()
        time.sleep(args.settle)
        inst = instance_memory(srv.data_dir)
        mem_n = proc_mem(srv.pid)
        mi_n = meminfo_kb()
        n_inst = len(inst)
        pss = [v["pss_kb"] for v in inst.values()]
        per_pss = statistics.mean(pss) if pss else None
        delta = {k: (mi_n[k] - mi0[k]) / n_inst if n_inst else None for k in MEMINFO_KEYS}
        per_avail = -delta["MemAvailable"] if n_inst else None
        # Shared memory pages that only exited processes touched are in no live process's PSS,
        # but they stay allocated: count the system's Shmem growth instead of Pss_Shmem.
        per_real = (statistics.mean(v["pss_kb"] - v["pss_shmem_kb"] for v in inst.values()) +
                    delta["Shmem"]) if n_inst else None
        results["memory"] = {
            "meminfo_idle_0_kb": mi0, "meminfo_idle_n_kb": mi_n,
            "meminfo_delta_per_instance_kb": delta,
            "per_instance_pss_without_shmem_plus_shmem_growth_kb": per_real,
            "fit_in_2GiB_by_pss_plus_shmem": int((2 * GiB / 1024 - mem_n["pss_kb"]) / per_real)
            if per_real and per_real > 0 else None,
            "instance_pss_shmem_kb": summary([v["pss_shmem_kb"] for v in inst.values()]),
            "localrds_idle_0": mem0, "localrds_idle_n": mem_n, "instances": n_inst,
            "instance_pss_kb": summary(pss),
            "instance_rss_kb": summary([v["rss_kb"] for v in inst.values()]),
            "instance_pss_anon_kb": summary([v["pss_anon_kb"] for v in inst.values()]),
            "instance_processes": summary([v["processes"] for v in inst.values()]),
            "per_instance_pss_kb": per_pss,
            "mem_available_drop_kb": mi0["MemAvailable"] - mi_n["MemAvailable"],
            "per_instance_mem_available_drop_kb": per_avail,
            "localrds_growth_per_instance_kb": (mem_n["pss_kb"] - mem0["pss_kb"]) / n_inst
            if n_inst else None,
            "fit_in_2GiB_by_pss": int((2 * GiB / 1024 - mem_n["pss_kb"]) / per_pss)
            if per_pss else None,
            "fit_in_2GiB_by_mem_available": int(2 * GiB / 1024 / per_avail)
            if per_avail and per_avail > 0 else None,
        }
        log(f"{n_inst} idle instances: {per_pss and per_pss:.0f} kB PSS each, "
            f"MemAvailable drop {per_avail and per_avail:.0f} kB each")

        log(f"describe: localrds, {args.clients} clients x {args.duration} s")
        lr = describe_throughput(srv.api_port, srv.pid, args.clients, args.duration, args.warmup)
        results["describe_localrds"] = lr
        results["memory"]["localrds_after_describe_load"] = proc_mem(srv.pid)
        if not args.no_wrk and shutil.which("wrk"):
            results["describe_localrds_wrk"] = wrk_throughput(srv.api_port, args.duration,
                                                              args.clients)

        stop_all()  # localrds is done: let moto have the machine to itself

        moto = Moto().start()
        moto.label = "moto"
        cleanup.append(moto)
        mc = moto.client()
        for i in range(args.instances):
            mc.create_db_instance(**create_params(f"db-{i:02d}", 5432))
        log(f"describe: moto_server, {args.clients} clients x {args.duration} s")
        mo = describe_throughput(moto.port, moto.pid, args.clients, args.moto_duration,
                                 args.warmup)
        results["describe_moto"] = mo
        if not args.no_wrk and shutil.which("wrk"):
            results["describe_moto_wrk"] = wrk_throughput(moto.port, args.moto_duration,
                                                          args.clients)
        results["describe_ratio"] = lr["req_per_s"] / mo["req_per_s"] if mo["req_per_s"] else None
        if results.get("describe_localrds_wrk") and results.get("describe_moto_wrk") and \
           results["describe_moto_wrk"]["req_per_s"]:
            results["describe_ratio_wrk"] = (results["describe_localrds_wrk"]["req_per_s"] /
                                             results["describe_moto_wrk"]["req_per_s"])
        if lr["server_cpu_us_per_req"] and mo["server_cpu_us_per_req"]:
            results["describe_cpu_ratio"] = (mo["server_cpu_us_per_req"] /
                                             lr["server_cpu_us_per_req"])
        stop_all()
    finally:
        stop_all()
        results["cleanup"] = CLEANUPS


# --------------------------------------------------------------------------------------------
# report

def report(res):
    w = sys.stdout.write
    w("\n=== localrds benchmarks (%s mode, %d CPUs, %.1f GiB RAM) ===\n"
      % (res["mode"], res["host"]["cpus"], res["host"]["mem_total_kb"] / 1024 / 1024))

    w("\n-- CreateDBInstance -> first DescribeDBInstances showing `available` (seconds)\n")
    w(f"{'series':<34}{'n':>4}{'min':>8}{'median':>8}{'p90':>8}{'max':>8}   vs baseline\n")
    base = res["baseline"]["total_s"]["median"]
    floor = res["baseline"]["start_plus_sql_s"]["median"]
    for key, name in (("create_warm_pool", "localrds, pool 3, pool refilled"),
                      ("create_back_to_back", "localrds, pool 3, back-to-back"),
                      ("create_pool0", "localrds, --pool-size 0")):
        s = res.get(key)
        if not s or not s["to_available_s"]:
            continue
        t = s["to_available_s"]
        w(f"{name:<34}{t['n']:>4}{t['min']:>8.3f}{t['median']:>8.3f}{t['p90']:>8.3f}"
          f"{t['max']:>8.3f}   {fmt_ratio(t['median'], base)}\n")
    for key, name in (("total_s", "baseline: initdb+start+SQL by hand"),
                      ("initdb_s", "  of which initdb"), ("start_s", "  of which postgres start"),
                      ("create_database_s", "  of which roles+CREATE DATABASE"),
                      ("start_plus_sql_s", "  start+SQL (floor with a pool)")):
        t = res["baseline"][key]
        w(f"{name:<34}{t['n']:>4}{t['min']:>8.3f}{t['median']:>8.3f}{t['p90']:>8.3f}"
          f"{t['max']:>8.3f}\n")
    w(f"goal: median <= 0.5 s. ratio column = localrds median / baseline median "
      f"({base:.3f} s); pool floor = {floor:.3f} s\n")

    w("\n-- the create call, the waiter, and localrds' own step times (medians)\n")
    w(f"{'series':<34}{'call s':>8}{'waiter s':>10}{'polls':>7}{'1st-poll':>10}"
      f"{'creating':>10}{'SQL ok s':>10}  server steps ms\n")
    for key, name in (("create_warm_pool", "pool 3, pool refilled"),
                      ("create_back_to_back", "pool 3, back-to-back"),
                      ("create_pool0", "--pool-size 0")):
        s = res.get(key)
        if not s:
            continue
        sql = s["sql_ok_after_s"]["median"] if s["sql_ok_after_s"] else None
        steps = " ".join(f"{k}={v:g}" for k, v in s["server_steps_ms_median"].items())
        w(f"{name:<34}{s['create_call_s']['median']:>8.3f}{s['waiter_s']['median']:>10.3f}"
          f"{s['waiter_polls']['max']:>7}{s['waiter_first_poll_hits']:>6}/{s['n']:<3}"
          f"{s['create_status_creating']:>6}/{s['n']:<3}{fmt(sql):>10}  {steps}\n")
    w("polls = most DescribeDBInstances polls any waiter call needed; 1st-poll = waiter calls "
      "done on their first poll; creating = create responses saying `creating`;\n"
      "SQL ok = seconds from `available` until psql `select 1` as the master user succeeded "
      "(includes psql start-up)\n")
    b2b = res.get("create_back_to_back")
    if b2b:
        mx = b2b["server_steps_ms_max"]
        w("back-to-back worst server steps ms: " +
          " ".join(f"{k}={v:g}" for k, v in mx.items()) + "\n")

    w("\n-- DescribeDBInstances, %d instances, all returned, no filter\n"
      % res["memory"]["instances"])
    lr, mo = res["describe_localrds"], res["describe_moto"]
    w(f"{'server':<22}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'errors':>8}{'srv CPU':>9}"
      f"{'CPU us/req':>12}{'bytes':>9}{'insts':>7}\n")
    for name, d in (("localrds", lr), ("moto_server", mo)):
        w(f"{name:<22}{d['req_per_s']:>10.1f}{d['latency_ms_median']:>9.2f}"
          f"{d['latency_ms_p90']:>9.2f}{d['errors']:>8}{100 * d['server_cpu_util']:>8.0f}%"
          f"{d['server_cpu_us_per_req']:>12.0f}{d['body_bytes']:>9}{d['instances_in_body']:>7}\n")
    w(f"ratio localrds/moto req/s: {res['describe_ratio']:.1f}x (goal 50x); "
      f"server CPU per request moto/localrds: {res.get('describe_cpu_ratio', 0):.1f}x\n")
    w(f"python client: {lr['clients']} processes, one keep-alive connection each, "
      f"{lr['duration_s']} s (moto {mo['duration_s']} s)\n")
    lw, mw = res.get("describe_localrds_wrk"), res.get("describe_moto_wrk")
    if lw and mw and lw["req_per_s"] and mw["req_per_s"]:
        w(f"wrk (1 thread, {lw['clients']} connections): localrds {lw['req_per_s']:.1f} req/s, "
          f"moto {mw['req_per_s']:.1f} req/s, ratio {res.get('describe_ratio_wrk', 0):.1f}x "
          f"(non-2xx: {lw['non_2xx']}/{mw['non_2xx']})\n")

    m = res["memory"]
    w("\n-- memory (kB)\n")
    w(f"{'localrds itself, idle, 0 instances':<48}VmRSS {m['localrds_idle_0']['rss_kb']:>8}"
      f"   PSS {m['localrds_idle_0']['pss_kb']:>8}\n")
    w(f"{'localrds itself, idle, %d instances' % m['instances']:<48}"
      f"VmRSS {m['localrds_idle_n']['rss_kb']:>8}   PSS {m['localrds_idle_n']['pss_kb']:>8}\n")
    la = m.get("localrds_after_describe_load")
    if la:
        w(f"{'localrds itself, after the describe load':<48}VmRSS {la['rss_kb']:>8}"
          f"   PSS {la['pss_kb']:>8}\n")
    ip, ir = m["instance_pss_kb"], m["instance_rss_kb"]
    if ip:
        d = m["meminfo_delta_per_instance_kb"]
        w(f"{'one idle instance (postmaster + children)':<48}PSS min {ip['min']:.0f} median "
          f"{ip['median']:.0f} max {ip['max']:.0f} (of which shmem "
          f"{m['instance_pss_shmem_kb']['median']:.0f}); RSS median {ir['median']:.0f}; "
          f"{m['instance_processes']['median']:.0f} processes\n")
        w(f"{'system-wide growth per instance (/proc/meminfo)':<48}MemAvailable drop "
          f"{-d['MemAvailable']:.0f}  Shmem {d['Shmem']:+.0f}  AnonPages {d['AnonPages']:+.0f}"
          f"  Cached {d['Cached']:+.0f}  Dirty {d['Dirty']:+.0f}\n")
        w(f"{'':<48}(noisy: anything else running on the machine counts)\n")
        w(f"{'one idle instance, PSS w/o shmem + Shmem growth':<48}"
          f"{m['per_instance_pss_without_shmem_plus_shmem_growth_kb']:.0f}\n")
        w(f"{'instances that fit in 2 GiB':<48}{m['fit_in_2GiB_by_pss']} by PSS, "
          f"{m['fit_in_2GiB_by_pss_plus_shmem']} by PSS+Shmem growth (both after localrds' own "
          f"PSS), {m['fit_in_2GiB_by_mem_available']} by MemAvailable drop\n")

    cl = res.get("cleanup") or []
    if cl:
        w("\n-- cleanup (POST /_localrds/reset, then SIGTERM)\n")
        w(f"{'localrds':<12}{'servers':>9}{'reset s':>9}{'running 0.5 s after reset':>27}"
          f"{'left after SIGTERM':>20}\n")
        for c in cl:
            w(f"{c['label']:<12}{c.get('servers_before_reset', '-'):>9}"
              f"{fmt(c.get('reset_s')):>9}{c.get('servers_running_0_5s_after_reset', '-'):>27}"
              f"{c.get('servers_left_after_sigterm', '-'):>20}\n")
        if any(c.get("servers_running_0_5s_after_reset") for c in cl):
            w("!! reset left PostgreSQL servers running (the bench stopped them itself)\n")
    w(f"\nlocalrds measured: a copy of {res.get('bin')} taken at start "
      f"(mtime/size {res.get('bin_id')})\n")
    w(f"\ntotal bench time {res['elapsed_s']:.1f} s\n")


def main():
    ap = skeleton.parser(__doc__, "smoke run (< ~60 s)")
    ap.add_argument("--creates", type=int, help="warm-pool creates (default 10, quick 3)")
    ap.add_argument("--cold-creates", type=int, help="--pool-size 0 creates (default 5, quick 2)")
    ap.add_argument("--baseline-reps", type=int, help="hand-made baselines (default 3, quick 1)")
    ap.add_argument("--instances", type=int, default=20,
                    help="instances for describe and memory (default 20)")
    ap.add_argument("--clients", type=int, default=4, help="concurrent describe clients")
    ap.add_argument("--duration", type=float, help="seconds of describe load on localrds "
                                                   "(default 10, quick 3)")
    ap.add_argument("--moto-duration", type=float, help="seconds of load on moto "
                                                        "(default 10, quick 3)")
    ap.add_argument("--warmup", type=float, help="uncounted seconds before each load")
    ap.add_argument("--settle", type=float, help="seconds idle before memory is read")
    ap.add_argument("--no-wrk", action="store_true", help="skip wrk even if installed")
    args = skeleton.parse(ap, (("creates", 10, 3), ("cold_creates", 5, 2),
                               ("baseline_reps", 3, 1), ("duration", 10.0, 2.0),
                               ("moto_duration", 10.0, 2.0), ("warmup", 1.0, 0.3),
                               ("settle", 3.0, 1.0)),
                          keep_help="keep temp dirs (debugging)")
    if args.quick:
        args.no_wrk = True
    skeleton.require(args, "bench_instances.py")
    if os.geteuid() != 0:
        log("not root: the hand-made baseline needs `runuser -u postgres`; it may fail")

    skeleton.measure(args, run, report, lambda res: False, "BENCH_JSON")


if __name__ == "__main__":
    main()
