"""A Multi-AZ instance of one localrds and one failover of it with the probe running: what the
failover bench measures on localrds, and the docker bench on each runtime."""

import datetime
import os
import re
import signal
import threading
import time

from .api import create_params, endpoint
from .errors import BenchError
from .pg import psql
from .probe import probe_once
from .report import fmt, log

MAZ = "bench-maz"
PROBE_TABLE = ("CREATE TABLE IF NOT EXISTS bench_failover_probe (id bigserial PRIMARY KEY, "
               "tag text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())")

OPS_RE = re.compile(r"^(\S+) \[ops\] op=(\d+) kind=(\S+) id=(\S+) step=(\S+) (.*) (\d+)ms$")
TS_RE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z ")


def log_ts(line):
    """Epoch seconds of a localrds log line (`2026-11-25T06:25:59.429Z [ops] ...`), or None."""
    m = TS_RE.match(line)
    if not m:
        return None
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class MultiAz:
    """`bench-maz` (MAZ) of one localrds, through `rds` (an api.Rds). args: the options of the
    failover procedure (settle, pre_probe, probe_gap, attempt_timeout, failover_timeout,
    ready_timeout). self.ep: the endpoint of MAZ (set by whoever created it)."""

    def __init__(self, rds, args):
        self.rds, self.server, self.args = rds, rds.server, args
        self.ep = None

    def create(self, ident, multi_az):
        """CreateDBInstance (MultiAZ or not), the waiter db_instance_available (Delay 0.5), and
        for Multi-AZ the standby `ready`. -> a row of times (from sending the call) and facts."""
        port = self.server.next_port()
        t0 = time.perf_counter()
        self.rds.api("create_db_instance", **create_params(ident, port, MultiAZ=multi_az))
        self.rds.instances.append(ident)
        polls = self.rds.waiter("db_instance_available", 0.5, DBInstanceIdentifier=ident)
        t_av = time.perf_counter() - t0
        inst = self.rds.instance(ident)
        row = {"id": ident, "available_s": t_av, "waiter_polls": polls, "ep": endpoint(inst),
               "multi_az": inst.get("MultiAZ"), "az": inst.get("AvailabilityZone"),
               "secondary_az": inst.get("SecondaryAvailabilityZone"),
               "backup_retention_period": inst.get("BackupRetentionPeriod")}
        if multi_az:
            row["standby_ready_s"] = self.wait_ready(ident)["s"] + t_av
        log(f"{ident}: available after {t_av:.2f} s, port {row['ep'][1]}, MultiAZ "
            f"{row['multi_az']}" + (f", standby ready after {row['standby_ready_s']:.2f} s"
                                    if multi_az else ""))
        return row

    def wait_ready(self, ident, timeout=None):
        """Polls GET /_localrds/instances every 50 ms until the instance is `available`, its
        primary runs and its standby is `ready`. -> {s, seen, info}."""
        timeout = timeout or self.args.ready_timeout
        t0 = time.perf_counter()
        seen = []
        while True:
            try:
                info = self.server.inspect(ident)
                maz = info.get("multi_az") or {}
                state = (info.get("DBInstanceStatus"), (maz.get("standby") or {}).get("state"),
                         (info.get("server") or {}).get("running"))
            except Exception as e:  # noqa: BLE001 - a busy server: try again until the deadline
                info, state = None, ("inspect failed", str(e)[:80], None)
            if not seen or seen[-1] != state:
                seen.append(state)
            if state == ("available", "ready", True):
                return {"s": time.perf_counter() - t0, "seen": seen, "info": info}
            if time.perf_counter() - t0 > timeout:
                raise BenchError(f"{ident}: not available with a ready standby after {timeout:.0f}"
                                 f" s (seen {' -> '.join(map(str, seen))})")
            time.sleep(0.05)

    def primary_pid(self, ident):
        """The primary's postmaster pid from GET /_localrds/instances, checked against
        /proc/<pid>/cmdline (it must be a postgres -D <server.pgdata>)."""
        srv = self.server.inspect(ident).get("server") or {}
        pid, pgdata = srv.get("pid"), srv.get("pgdata")
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except (OSError, TypeError):
            raise BenchError(f"{ident}: server.pid {pid} is not a running process") from None
        if not os.path.basename(argv[0]).startswith("postgres") or pgdata not in argv:
            raise BenchError(f"{ident}: server.pid {pid} is not the postmaster of {pgdata}: "
                             f"{' '.join(argv)}")
        return pid, pgdata

    def healthy_start_time(self, ep):
        """pg_postmaster_start_time() of whoever serves the endpoint now (must answer)."""
        outcome, rows, err = probe_once(ep, "SELECT pg_postmaster_start_time()",
                                        self.args.attempt_timeout)
        if outcome != "ok":
            raise BenchError(f"the endpoint {ep[0]}:{ep[1]} does not answer: {outcome} {err}")
        return rows[0][0]

    # ---- the time split from localrds' log

    def failover_log(self, ident, offset, w0):
        """What localrds logged since `offset` about `ident`: the failover operation(s), their
        steps (ms and end times) and the time split relative to w0 (wall clock of the kill or
        the call). The lines themselves are kept for the report."""
        lines = [ln for ln in self.server.log_since(offset)
                 if f" id={ident} " in ln or f" {ident} " in ln or f"{ident}:" in ln
                 or "[multi-az]" in ln]
        ops = {}
        detected = None
        for ln in lines:
            m = OPS_RE.match(ln)
            if m and m.group(4) == ident:
                ts, op, kind, step, st, ms = (log_ts(ln), int(m.group(2)), m.group(3),
                                              m.group(5), m.group(6), int(m.group(7)))
                o = ops.setdefault(op, {"op": op, "kind": kind, "steps": []})
                o["steps"].append({"step": step, "status": st, "ms": ms, "end": ts})
            elif detected is None and f"failing over {ident}:" in ln:
                detected = log_ts(ln)
        fo = [o for o in ops.values() if o["kind"] == "failover"]
        out = {"lines": lines[-60:], "ops": list(ops.values()), "failover_ops": len(fo),
               "other_ops": sorted({o["kind"] for o in ops.values() if o["kind"] != "failover"})}
        if detected is not None:
            out["monitor_ms"] = (detected - w0) * 1000
        if not fo:
            return out
        op = fo[0]
        st = {s["step"]: s for s in op["steps"]}
        out["failed_steps"] = [f"{s['step']}: {s['status']}" for s in op["steps"]
                               if s["status"] != "ok"]
        for name in ("fence", "promote", "serve", "rebuild", "standby", "finish"):
            if name in st:
                out[f"{name}_ms"] = st[name]["ms"]
        if "fence" in st and st["fence"]["end"] is not None:
            out["detect_ms"] = (st["fence"]["end"] - st["fence"]["ms"] / 1000 - w0) * 1000
        if "serve" in st and st["serve"]["end"] is not None:
            out["serve_end_s"] = st["serve"]["end"] - w0  # relative to the kill / the call
        return out

    # ---- one failover

    def probe_until_new(self, old_start, tag, result, stop):
        """Attempts (new connection + INSERT through the endpoint) until one succeeds on a
        server whose pg_postmaster_start_time() is not old_start; after a failure it waits
        --probe-gap, after a success on the old primary it tries again at once. Fills `result`
        as it goes (so a timeout still shows what happened), with perf_counter times."""
        a, ep = self.args, self.ep
        sql = (f"INSERT INTO bench_failover_probe (tag) VALUES ('{tag}') "
               f"RETURNING id, pg_postmaster_start_time()")
        result.update({"attempts": 0, "outcomes": {}, "ok_old": 0, "last_ok_old": None,
                       "acked_ids": [], "first_error": None, "pg_errors": []})
        seq = result["sequence"] = []  # (t_start, t_end, outcome), failures and the success only
        began = time.perf_counter()
        while not stop.is_set():
            ts = time.perf_counter()
            outcome, rows, err = probe_once(ep, sql, a.attempt_timeout)
            te = time.perf_counter()
            result["attempts"] += 1
            if outcome == "ok":
                result["acked_ids"].append(int(rows[0][0]))
                if rows[0][1] != old_start:
                    result["new_ok"] = te
                    seq.append((ts, te, "ok-new"))
                    return
                result["ok_old"] += 1
                result["last_ok_old"] = te
                continue
            result["outcomes"][outcome] = result["outcomes"].get(outcome, 0) + 1
            if err and len(result["pg_errors"]) < 5 and err not in result["pg_errors"]:
                result["pg_errors"].append(err)
            if result["first_error"] is None:
                result["first_error"] = ts
            if len(seq) < 400:
                seq.append((ts, te, outcome))
            if te - began > a.failover_timeout:
                result["timed_out"] = True
                return
            time.sleep(a.probe_gap)

    def check_acked(self, ids):
        """How many of the acknowledged probe INSERTs are missing now."""
        if not ids:
            return 0
        present = psql(self.ep, "SELECT count(*) FROM bench_failover_probe WHERE id IN ("
                       + ",".join(map(str, ids)) + ")")
        return len(set(ids)) - int(present)

    def failover_rep(self, mode, i):
        """One failover, `kill` (SIGKILL of the primary postmaster) or `forced` (RebootDBInstance
        ForceFailover=true), with the probe running from that moment on."""
        a = self.args
        before = self.wait_ready(MAZ)
        maz0 = before["info"].get("multi_az") or {}
        if a.settle:
            time.sleep(a.settle)
        old_start = self.healthy_start_time(self.ep)
        pid, pgdata = self.primary_pid(MAZ)
        standby_pid = (maz0.get("standby") or {}).get("pid")
        offset = self.server.log_size()
        row = {"rep": i + 1, "mode": mode, "old_pid": pid, "old_host": maz0.get("primary_host"),
               "old_az": maz0.get("availability_zone"), "standby_pid_before": standby_pid}
        probe, stop = {}, threading.Event()
        tag = f"{mode}-{i + 1}"
        if mode == "kill":
            t0, w0 = time.perf_counter(), time.time()
            os.kill(pid, signal.SIGKILL)
            self.probe_until_new(old_start, tag, probe, stop)
        else:
            # The probe starts --pre-probe s before the call, so that the INSERTs the old
            # primary still answers show when writes stopped (the write gap).
            th = threading.Thread(target=self.probe_until_new,
                                  args=(old_start, tag, probe, stop), daemon=True)
            th.start()
            time.sleep(a.pre_probe)
            t0, w0 = time.perf_counter(), time.time()
            try:
                resp = self.rds.api("reboot_db_instance", DBInstanceIdentifier=MAZ,
                                    ForceFailover=True)
                row["call_s"] = time.perf_counter() - t0
                row["status_in_response"] = resp["DBInstance"].get("DBInstanceStatus")
            finally:
                th.join(timeout=a.failover_timeout + 10)
                stop.set()
                th.join(timeout=10)
        rel = (lambda t: None if t is None else t - t0)
        row.update({k: probe.get(k) for k in ("attempts", "outcomes", "ok_old", "pg_errors",
                                              "timed_out")})
        row["sequence"] = [(round(ts - t0, 4), round(te - t0, 4), o)
                           for ts, te, o in probe.get("sequence", [])]
        row["acked"] = len(probe.get("acked_ids", []))
        row["to_insert_s"] = rel(probe.get("new_ok"))
        row["last_ok_old_s"] = rel(probe.get("last_ok_old"))  # < 0: before the call
        row["first_error_s"] = rel(probe.get("first_error"))
        if row["to_insert_s"] is not None and row["last_ok_old_s"] is not None:
            row["write_gap_s"] = row["to_insert_s"] - row["last_ok_old_s"]
        ready = None
        try:
            ready = self.wait_ready(MAZ)
            row["ready_again_s"] = time.perf_counter() - t0
            maz1 = ready["info"].get("multi_az") or {}
            row.update({"new_host": maz1.get("primary_host"),
                        "new_az": maz1.get("availability_zone"),
                        "new_pid": (ready["info"].get("server") or {}).get("pid"),
                        "port_after": ready["info"].get("port")})
        except BenchError as e:
            row["ready_error"] = str(e)
        row["log"] = self.failover_log(MAZ, offset, w0)
        fl = row["log"]
        if row["to_insert_s"] is not None and fl.get("serve_end_s") is not None:
            row["tail_ms"] = (row["to_insert_s"] - fl["serve_end_s"]) * 1000
        if row["to_insert_s"] is not None:
            row["lost_probe_inserts"] = self.check_acked(probe.get("acked_ids", []))
        log(f"{mode} {i + 1}: first INSERT on the new primary after "
            f"{fmt(row['to_insert_s'])} s ({row['attempts']} attempts {row['outcomes']}"
            + (f", {row['ok_old']} on the old primary, the last {fmt(row['last_ok_old_s'])} s "
               f"after the call, write gap {fmt(row.get('write_gap_s'))} s, call answered "
               f"{fmt(row.get('call_s'))} s" if mode == "forced" else "")
            + f"); split ms: detect {fmt(fl.get('detect_ms'), '.0f')} fence "
            f"{fl.get('fence_ms')} promote {fl.get('promote_ms')} serve {fl.get('serve_ms')} "
            f"tail {fmt(row.get('tail_ms'), '.0f')}; host {row['old_host']} -> "
            f"{row.get('new_host')}; ready again after {fmt(row.get('ready_again_s'))} s; "
            f"lost probe INSERTs {row.get('lost_probe_inserts')}")
        if row["to_insert_s"] is None:
            raise BenchError(f"{mode} failover {i + 1}: no INSERT succeeded on a new primary "
                             f"within {a.failover_timeout:.0f} s ({row['attempts']} attempts, "
                             f"{row['outcomes']}); localrds log:\n  " + "\n  ".join(fl["lines"]))
        if "ready_error" in row:
            raise BenchError(f"{mode} failover {i + 1}: {row['ready_error']}; localrds log:\n  "
                             + "\n  ".join(fl["lines"]))
        return row
