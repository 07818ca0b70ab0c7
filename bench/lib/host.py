"""What the benches read from the host and do to it: free ports, /proc (memory figures, process
trees, the PostgreSQL servers under a directory), disk usage."""

import os
import random
import signal
import socket
import subprocess
import time


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def pick_ports(width=120):
    """A free API port and a disjoint instance port range, all within 20000-30000."""
    for _ in range(200):
        lo = random.randrange(20000, 30000 - width - 200)
        hi = lo + width - 1
        api = random.randrange(20000, 30000)
        if lo - 5 <= api <= hi + 5:
            continue
        if not port_free(api):
            continue
        busy = sum(1 for p in range(lo, lo + 24) if not port_free(p))
        if busy:
            continue
        return api, lo, hi
    raise RuntimeError("could not find free ports in 20000-30000")


def read_kv_kb(path, keys):
    """Values (in kB) of `Key:   N kB` lines."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, rest = line.partition(":")
                if k in keys:
                    out[k] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def host_info():
    """{'cpus', 'mem_total_kb'}: the first fields of every bench's result."""
    return {"cpus": os.cpu_count(),
            "mem_total_kb": read_kv_kb("/proc/meminfo", {"MemTotal"}).get("MemTotal")}


def all_processes():
    """pid -> (ppid, argv) for every process we can read."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        procs[pid] = (ppid, argv)
    return procs


def process_tree_of(root, procs):
    kids = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def postmasters_under(data_dir, procs=None):
    """{pgdata: postmaster pid} for every `postgres -D <data_dir>/...` process."""
    procs = procs if procs is not None else all_processes()
    prefix = os.path.realpath(data_dir) + "/"
    found = {}
    for pid, (_, argv) in procs.items():
        if not argv or not os.path.basename(argv[0]).startswith("postgres"):
            continue
        for i, a in enumerate(argv[:-1]):
            if a == "-D" and (argv[i + 1].startswith(prefix) or
                              os.path.realpath(argv[i + 1]).startswith(prefix)):
                found[argv[i + 1]] = pid
    return found


def kill_postmasters_under(data_dir):
    """Stops (fast, then hard) every PostgreSQL server whose data directory is under data_dir:
    only servers a bench started (its temp dirs are unique). -> how many there were."""
    pms = postmasters_under(data_dir)
    for pid in pms.values():
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in pms.values()):
        time.sleep(0.05)
    for pid in pms.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(pms)


def procs_in(directory):
    """Pids of the processes whose working directory is `directory` (PostgreSQL's processes
    chdir to their data directory; the children of a killed postmaster exit on their own)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/cwd") == directory:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def du_bytes(path):
    """`du -sb path`, or None if path does not exist. A live directory may lose files while du
    reads it; du then complains but still prints its total."""
    if not os.path.exists(path):
        return None
    r = subprocess.run(["du", "-sb", path], capture_output=True, text=True, timeout=300)
    try:
        return int(r.stdout.split()[0])
    except (IndexError, ValueError):
        return None
