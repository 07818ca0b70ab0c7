"""The localrds wrapper: one `localrds serve` on a temp data dir and random ports, its log, its
/_localrds endpoints, and a cleanup that leaves nothing behind."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from .host import kill_postmasters_under, pick_ports, postmasters_under
from .report import log

CLEANUPS = []  # cleanup_info of every Localrds stopped in this process, in order


def binary_id(path):
    """mtime and size of the binary: it may be rebuilt while the bench runs."""
    try:
        st = os.stat(path)
        return f"{time.strftime('%H:%M:%S', time.localtime(st.st_mtime))}/{st.st_size}"
    except OSError:
        return None


def http_json(url, method="GET", timeout=30):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"{}")


class Localrds:
    """One `localrds serve` on a temp data dir and random ports; stop() cleans up everything.
    extra_args go after the flags set here (e.g. ["--runtime", "docker"])."""

    def __init__(self, binary, pool_size=3, max_instances=40, label="localrds", keep=False,
                 extra_args=()):
        self.binary = binary
        self.extra_args = list(extra_args)
        self.pool_size = pool_size
        self.max_instances = max_instances
        self.label = label
        self.keep = keep
        self.proc = None
        self.tmp = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix=f"localrds-bench-{self.label}-")
        os.chmod(self.tmp, 0o755)  # PostgreSQL runs as `postgres` and must reach its pgdata
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "localrds.log")
        last_err = None
        for _attempt in range(3):
            self.api_port, self.port_lo, self.port_hi = pick_ports()
            self.endpoint = f"http://127.0.0.1:{self.api_port}"
            argv = [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.api_port),
                    "--data-dir", self.data_dir,
                    "--port-range", f"{self.port_lo}-{self.port_hi}",
                    "--pool-size", str(self.pool_size),
                    "--max-instances", str(self.max_instances), *self.extra_args]
            self.log_file = open(self.log_path, "ab")
            self.bin_id = binary_id(self.binary)
            self.proc = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            deadline = time.time() + 30
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    h = http_json(self.endpoint + "/_localrds/health", timeout=2)
                    if h.get("status") == "running":
                        self.pid = self.proc.pid
                        self.port_next = self.port_lo
                        self.version = h.get("version")
                        log(f"{self.label}: pid {self.pid} on {self.endpoint}, "
                            f"pool {self.pool_size}, data {self.data_dir}")
                        return self
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
            last_err = f"localrds did not come up:\n{self.log_tail()}"
            self._terminate()
        raise RuntimeError(last_err)

    def next_port(self):
        p = self.port_next
        self.port_next += 1
        return p

    # ---- its /_localrds endpoints

    def health(self, timeout=30):
        return http_json(self.endpoint + "/_localrds/health", timeout=timeout)

    def inspect(self, ident, region=None):
        """GET /_localrds/instances/<ident>: what localrds knows of an instance (its server's
        pid and pgdata, Multi-AZ, replication); region: where it lives (default: --region)."""
        where = f"?region={region}" if region else ""
        return http_json(f"{self.endpoint}/_localrds/instances/{ident}{where}", timeout=10)

    def freeze(self, ident, region=None, thaw=False):
        """POST /_localrds/instances/<ident>/freeze (thaw: /thaw): SIGSTOP (SIGCONT) of every
        process of its server, what a region outage does to the region's servers."""
        where = f"?region={region}" if region else ""
        verb = "thaw" if thaw else "freeze"
        return http_json(f"{self.endpoint}/_localrds/instances/{ident}/{verb}{where}",
                         method="POST", timeout=30)

    # ---- its pool

    def pool_ready(self):
        pool = os.path.join(self.data_dir, "pool")
        n = 0
        try:
            for major in os.listdir(pool):
                n += sum(1 for d in os.listdir(os.path.join(pool, major)) if d.startswith("ready-"))
        except OSError:
            pass
        return n

    def wait_pool_full(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.pool_ready() >= self.pool_size:
                return True
            time.sleep(0.02)
        return False

    # ---- its log

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        """The log's lines after byte `offset` (a log_size() taken before)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace").splitlines()
        except OSError:
            return []

    def _log_matches(self, pat):
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    m = pat.search(line)
                    if m:
                        yield m
        except OSError:
            pass

    def op_steps(self, kind="create"):
        """{identifier: {step: ms}} from the log's `op=N kind=<kind> id=X step=S ok Nms` lines
        (a step logged twice for one identifier: the last wins)."""
        steps = {}
        pat = re.compile(r"kind=" + re.escape(kind) + r" id=(\S+) step=(\S+) ok (\d+)ms")
        for m in self._log_matches(pat):
            steps.setdefault(m.group(1), {})[m.group(2)] = int(m.group(3))
        return steps

    def api_ms(self, action):
        """{identifier: server-side ms} of `[api] action=<action> id=X ... NNms` log lines."""
        out = {}
        pat = re.compile(r"action=" + action + r" id=(\S+) .* status=200 (\d+)ms")
        for m in self._log_matches(pat):
            out[m.group(1)] = int(m.group(2))
        return out

    # ---- cleanup

    def _terminate(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "log_file", None):
            self.log_file.close()

    def stop(self):
        """POST /_localrds/reset, SIGTERM, stop any PostgreSQL server still running under the
        temp dir, remove it. Records what it found in self.cleanup_info (a reset that leaves
        servers running is a localrds bug worth seeing) and in CLEANUPS."""
        if self.proc is None:
            return
        info = {"label": self.label, "bin": getattr(self, "bin_id", None),
                "version": getattr(self, "version", None)}
        try:
            if self.proc.poll() is None:
                info["servers_before_reset"] = len(postmasters_under(self.tmp))
                t0 = time.perf_counter()
                try:
                    http_json(self.endpoint + "/_localrds/reset", method="POST", timeout=120)
                    info["reset_s"] = time.perf_counter() - t0
                except Exception as e:  # noqa: BLE001 - cleanup must go on
                    info["reset_error"] = str(e)
                    log(f"{self.label}: reset failed: {e}")
                time.sleep(0.5)
                info["servers_running_0_5s_after_reset"] = len(postmasters_under(self.tmp))
        finally:
            self._terminate()
            if self.tmp:
                left = kill_postmasters_under(self.tmp)
                info["servers_left_after_sigterm"] = left
                if left:
                    log(f"{self.label}: stopped {left} PostgreSQL server(s) left behind")
                if self.keep:
                    log(f"{self.label}: kept {self.tmp}")
                else:
                    shutil.rmtree(self.tmp, ignore_errors=True)
            self.proc = None
            self.cleanup_info = info
            CLEANUPS.append(info)
