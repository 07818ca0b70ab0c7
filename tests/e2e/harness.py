"""Harness for the localrds end-to-end tests: runs the real binary and talks to it as users do.

Everything here uses the standard library plus boto3/botocore and the `aws` and `psql` command
line tools. Each `Localrds` owns a fresh directory under /tmp (data dir + log), a free API port and
a random block of 200 instance ports within 20000-29999, so parallel runs do not collide.

    h = Localrds().start()
    rds = h.client()
    ...
    h.stop()   # resets (stops every PostgreSQL server), SIGTERMs, cleans up

Tools: `aws`, `psql` (and `docker` for --runtime docker) are looked up on PATH, and fail the test,
naming the Debian package, when missing. ctest runs the suites with Debian's /usr/bin/python3
and a PATH of Debian's directories only (tests/CMakeLists.txt), and sets
LOCALRDS_E2E_DEBIAN_TOOLS=1, which makes this module refuse, at import, a Python, boto3, botocore,
`aws` or `psql` that is not Debian's (a pyenv or pip one would hide what a fresh machine lacks).

Environment:
    LOCALRDS_BIN        the binary (default build/localrds of this repository)
    LOCALRDS_E2E_DEBIAN_TOOLS  1: only Debian's interpreter, boto3 and tools (set by ctest)
    LOCALRDS_E2E_KEEP   set to 1 to keep the temporary directories after the tests
    LOCALRDS_E2E_RUNTIME  `docker` runs every suite's localrds with --runtime docker (a
                        container per PostgreSQL server); the suites are skipped, saying why,
                        when no Docker engine or image is there, unless
    LOCALRDS_REQUIRE_DOCKER=1 (CI), which makes that a failure
"""

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore
import botocore.loaders
import botocore.session
from botocore.config import Config

DEFAULT_BIN = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "..", "build", "localrds"))
REGION = "us-east-1"
ACCOUNT = "000000000000"
API_VERSION = "2014-10-31"
RDS_DEFAULT_PORT = 5432

# Dummy credentials: localrds does not check signatures, but the SDKs insist on having some.
DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def binary():
    return os.environ.get("LOCALRDS_BIN", DEFAULT_BIN)


# --- the tools the suites use ------------------------------------------------------------------

# Each tool and the Debian package that provides it (scripts/install-deps.sh --test installs them).
TOOL_PACKAGES = {"aws": "awscli", "psql": "postgresql-client-15", "runuser": "util-linux",
                 "docker": "docker.io"}


def tool(name):
    """The path of a command the tests run, from PATH; raises (a test error, never a skip) naming
    the Debian package when it is missing."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError("%s is not on PATH (%s): the tests need Debian's %s package, which "
                           "scripts/install-deps.sh --test installs"
                           % (name, os.environ.get("PATH", ""), TOOL_PACKAGES.get(name, name)))
    return path


def _check_debian_tools():
    """With LOCALRDS_E2E_DEBIAN_TOOLS=1 (ctest): the interpreter, boto3/botocore, `aws` and `psql`
    must be Debian's, as on a fresh machine after scripts/install-deps.sh --test."""
    problems = []
    exe = os.path.realpath(sys.executable)
    if not exe.startswith("/usr/bin/python3"):
        problems.append("Python is %s, not Debian's /usr/bin/python3" % sys.executable)
    for mod in (boto3, botocore):
        if not os.path.realpath(mod.__file__).startswith("/usr/lib/python3/dist-packages/"):
            problems.append("%s %s comes from %s, not Debian's python3-%s"
                            % (mod.__name__, mod.__version__, mod.__file__, mod.__name__))
    for name in ("aws", "psql"):
        path = shutil.which(name)
        if path is None:
            problems.append("no %s on PATH (Debian's %s)" % (name, TOOL_PACKAGES[name]))
        elif os.path.dirname(path) not in ("/usr/bin", "/bin"):
            problems.append("%s is %s, not Debian's %s in /usr/bin" % (name, path,
                                                                        TOOL_PACKAGES[name]))
    if problems:
        raise RuntimeError("LOCALRDS_E2E_DEBIAN_TOOLS=1: " + "; ".join(problems) +
                           " (scripts/install-deps.sh --test installs Debian's)")


if os.environ.get("LOCALRDS_E2E_DEBIAN_TOOLS") == "1":
    _check_debian_tools()


def runtime():
    """The runtime the suites run localrds with: local (the default) or docker."""
    return os.environ.get("LOCALRDS_E2E_RUNTIME", "local")


DOCKER_IMAGE = "localrds/postgres"


def docker_unavailable():
    """Why the docker runtime cannot run here (None when it can): no docker CLI, no engine
    answering, or no localrds/postgres:<major> image (docker/build-image.sh builds it)."""
    if not shutil.which("docker"):
        return "no docker command (apt-get install docker.io)"
    try:
        info = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "docker version: %s" % e
    if info.returncode != 0:
        return "no Docker engine answers (%s); start one with scripts/start-dockerd.sh" % (
            info.stderr.strip() or info.stdout.strip())
    tags = subprocess.run(["docker", "image", "ls", DOCKER_IMAGE, "--format", "{{.Tag}}"],
                          capture_output=True, text=True, timeout=30).stdout.split()
    if not any(t.isdigit() for t in tags):
        return "no %s:<major> image; build it with sudo docker/build-image.sh" % DOCKER_IMAGE
    return None


def docker_containers(data_dir, all_states=True):
    """{name: pgdata} of the server containers of localrds' data directory."""
    cmd = ["docker", "ps", "--filter", "label=org.localrds.data-dir=%s" % data_dir,
           "--filter", "label=org.localrds.role=server",
           "--format", '{{.Names}}\t{{.Label "org.localrds.pgdata"}}']
    if all_states:
        cmd.insert(2, "-a")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    return dict(line.split("\t", 1) for line in out.splitlines() if "\t" in line)


def arn(identifier):
    return "arn:aws:rds:%s:%s:db:%s" % (REGION, ACCOUNT, identifier)


def free_port():
    """A free TCP port from the kernel's ephemeral range (above 32768, so disjoint from the
    instance port blocks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def port_accepts(port, timeout=0.5):
    """True if something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(fn, timeout=20.0, interval=0.1, desc=None):
    """Polls fn() until it returns something truthy (which is returned) or the deadline passes
    (AssertionError naming the last value or exception seen)."""
    deadline = time.monotonic() + timeout
    last, last_exc = None, None
    while True:
        try:
            last = fn()
            last_exc = None
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - any failure just means "not yet"
            last_exc = e
        if time.monotonic() >= deadline:
            what = desc or getattr(fn, "__name__", "condition")
            raise AssertionError(
                "timed out after %.1fs waiting for %s (last value %r, last error %r)"
                % (timeout, what, last, last_exc))
        time.sleep(interval)


# --- processes --------------------------------------------------------------------------------

def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return None


def processes_matching(substring):
    """{pid: cmdline} of the live processes whose command line contains `substring`."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid == os.getpid():
            continue
        cmd = _cmdline(pid)
        if cmd and substring in cmd and pid_alive(pid):
            out[pid] = cmd
    return out


def pid_alive(pid):
    """True while the process exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def postgres_processes(substring):
    """PostgreSQL processes (postmasters: `postgres -D <pgdata>`, backends: `postgres: <cluster
    name>: ...`) whose command line contains `substring`."""
    return {pid: cmd for pid, cmd in processes_matching(substring).items()
            if cmd.split(" ", 1)[0].endswith("postgres") or cmd.startswith("postgres:")}


# --- the server under test --------------------------------------------------------------------

class Localrds:
    """One localrds server process with its own data directory."""

    def __init__(self, name="e2e", max_instances=None, pool_size=None, extra_args=(),
                 hold_default_port=True, runtime_name=None):
        self.name = name
        self.root = tempfile.mkdtemp(prefix="localrds-e2e-%s-" % name, dir="/tmp")
        self.data_dir = os.path.join(self.root, "data")
        self.log_path = os.path.join(self.root, "localrds.log")
        self.api_port = free_port()
        self.port_lo, self.port_hi = self._pick_port_block()
        self.max_instances = max_instances
        self.pool_size = pool_size
        self.extra_args = list(extra_args)
        self.proc = None
        self._log = None
        self._default_port_guard = None
        self._default_port_stop = threading.Event()
        self._default_port_lock = threading.Lock()
        self._hold_default_port = hold_default_port
        self.endpoint = "http://127.0.0.1:%d" % self.api_port
        self.runtime = runtime_name or runtime()

    @staticmethod
    def _pick_port_block(size=200):
        # 50 blocks of 200 ports in 20000-29999; take one whose first few ports are free.
        blocks = list(range(20000, 30000, size))
        random.shuffle(blocks)
        for lo in blocks:
            if all(port_is_free(p) for p in range(lo, lo + size)):
                return lo, lo + size - 1
        return blocks[0], blocks[0] + size - 1

    # -- lifecycle --

    def command(self):
        cmd = [binary(), "serve", "--host", "127.0.0.1", "--port", str(self.api_port),
               "--data-dir", self.data_dir, "--port-range", "%d-%d" % (self.port_lo, self.port_hi),
               "--runtime", self.runtime]
        if self.max_instances is not None:
            cmd += ["--max-instances", str(self.max_instances)]
        if self.pool_size is not None:
            cmd += ["--pool-size", str(self.pool_size)]
        return cmd + self.extra_args

    def start(self, env=None, wait=True, timeout=60):
        """Starts localrds (on the same data dir if it ran before). `env` adds environment
        variables (e.g. LOCALRDS_CRASH_AT) for this run only."""
        assert not self.alive(), "localrds is already running"
        self._guard_default_port()
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("LOCALRDS_") and k != "LOCALRDS_BIN":
                del full_env[k]  # the flags say everything; no stray settings from the caller
        full_env.update(env or {})
        self._close_log()
        self._log = open(self.log_path, "ab")
        header = "\n=== %s (env %s) ===\n" % (" ".join(self.command()), env or {})
        self._log.write(header.encode())
        self._log.flush()
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=self._log,
                                     stdin=subprocess.DEVNULL, env=full_env)
        if wait:
            self.wait_healthy(timeout)
        return self

    def restart(self, env=None, timeout=60):
        """SIGKILLs the server if it still runs, then starts it again on the same data dir."""
        if self.alive():
            self.kill9()
        return self.start(env=env, timeout=timeout)

    def wait_healthy(self, timeout=60):
        def healthy():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("localrds exited with %s" % self.proc.returncode)
            return self.health()
        try:
            h = wait_until(healthy, timeout, 0.05, "localrds /_localrds/health")
            self._socket_dir = h.get("socket_dir")
            return h
        except AssertionError:
            sys.stderr.write(self.log_tail())
            raise

    def wait_exit(self, timeout=30):
        """Waits for the process to die on its own; returns its exit status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("localrds (pid %d) did not exit within %ss\n%s"
                                 % (self.proc.pid, timeout, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL, like a crash. PostgreSQL servers it started keep running."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)
        self._close_log()

    def terminate(self, timeout=60):
        """SIGTERM and wait (a graceful stop: localrds stops its PostgreSQL servers)."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self._close_log()
        return self.proc.returncode if self.proc else None

    def stop(self):
        """Robust teardown: reset (stops and removes every instance) if the server answers,
        SIGTERM, then kill whatever PostgreSQL of *this* data dir is left, and clean up."""
        try:
            if self.alive():
                with contextlib.suppress(Exception):
                    self.control("POST", "/_localrds/reset", timeout=120)
                self.terminate()
            else:
                self._close_log()
        finally:
            self.kill_leftover_postgres()
            if self.runtime == "docker":
                self.remove_containers()
            self._release_default_port()
            self._remove_socket_dirs()
            if not os.environ.get("LOCALRDS_E2E_KEEP"):
                shutil.rmtree(self.root, ignore_errors=True)

    def kill_leftover_postgres(self, timeout=20):
        """SIGKILLs the PostgreSQL servers of this data dir only (never anyone else's) and waits
        until they are gone from the process table. Killed servers whose parent (localrds) is
        dead are reaped by init, which can take a second or two; until then their pid still
        "exists" and a new postmaster would refuse the data dir (postmaster.pid), so a later
        restart would not look like a real host reboot."""
        rids = self.instance_dirs()
        killed = set()
        deadline = time.monotonic() + timeout
        while True:
            victims = dict(postgres_processes(self.data_dir))
            for rid in rids:
                victims.update(postgres_processes("postgres: %s:" % rid))
            for pid in victims:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            killed = {pid for pid in killed if os.path.exists("/proc/%d" % pid)}
            if not victims and not killed:
                return
            if time.monotonic() > deadline:
                sys.stderr.write("harness: PostgreSQL processes %s of %s outlived SIGKILL\n"
                                 % (sorted(killed), self.data_dir))
                return
            time.sleep(0.05)

    def remove_containers(self):
        """Removes every container of this data dir (servers and jobs); never anyone else's."""
        ids = subprocess.run(["docker", "ps", "-aq", "--filter",
                              "label=org.localrds.data-dir=%s" % self.data_dir],
                             capture_output=True, text=True, timeout=30).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f"] + ids, capture_output=True, timeout=60)

    def socket_dir(self):
        """The directory of the instances' Unix sockets, as /_localrds/health reported it."""
        return getattr(self, "_socket_dir", None)

    def _remove_socket_dirs(self):
        # Our PostgreSQL servers are dead by now; remove their socket files (only ports of our
        # own range) and the directory if that leaves it empty.
        d = self.socket_dir()
        if not d:
            return
        with contextlib.suppress(OSError):
            for f in os.listdir(d):
                parts = f.split(".")
                if f.startswith(".s.PGSQL.") and parts[3].isdigit() and \
                        self.in_port_range(int(parts[3])):
                    os.unlink(os.path.join(d, f))
            os.rmdir(d)

    def _guard_default_port(self):
        # Instances without an explicit Port ask for RDS's default 5432 and fall back to the
        # port range when it is taken. Holding 5432 while we run keeps parallel runs (and a
        # developer's own PostgreSQL) from racing for it: every instance port is then ours alone.
        # When someone else has it, keep trying: it may be another run's instance, which frees
        # it when that instance crashes or goes, and our localrds must not take it then.
        if not self._hold_default_port or self._default_port_guard is not None:
            return
        self._default_port_stop.clear()
        if self._try_hold_default_port():
            return

        def keep_trying():
            while not self._default_port_stop.wait(0.05):
                if self._try_hold_default_port():
                    return
        threading.Thread(target=keep_trying, daemon=True).start()

    def _try_hold_default_port(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", RDS_DEFAULT_PORT))
            s.listen(1)
        except OSError:
            s.close()
            return False
        with self._default_port_lock:
            if self._default_port_stop.is_set():  # released meanwhile
                s.close()
            else:
                self._default_port_guard = s
        return True

    def _release_default_port(self):
        with self._default_port_lock:
            self._default_port_stop.set()
            if self._default_port_guard is not None:
                self._default_port_guard.close()
                self._default_port_guard = None

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- inspection --

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=60):
        # Successful Describe calls are a test's polls: leave them out, so that the operations,
        # events and reconciler lines that explain a failure are what the tail shows.
        tail = [l for l in self.log_text().splitlines()
                if not ("[api] action=Describe" in l and "status=200" in l)][-lines:]
        return "\n--- localrds log tail (%s) ---\n%s\n--- end of log ---\n" % (
            self.log_path, "\n".join(tail))

    def instance_dirs(self):
        """Names of the directories under <data-dir>/instances."""
        try:
            return sorted(os.listdir(os.path.join(self.data_dir, "instances")))
        except OSError:
            return []

    def paths_named(self, fragment):
        """Every path under the data dir whose name contains `fragment`."""
        found = []
        for dirpath, dirnames, filenames in os.walk(self.data_dir):
            for n in dirnames + filenames:
                if fragment in n:
                    found.append(os.path.join(dirpath, n))
            if dirpath.count(os.sep) - self.data_dir.count(os.sep) >= 2:
                dirnames[:] = []  # instances/<rid>/pgdata is deep enough
        return found

    def in_port_range(self, port):
        return self.port_lo <= port <= self.port_hi

    # -- emulator controls (JSON) --

    def control(self, method, path, timeout=30, body=None):
        """A /_localrds/ control; `body` (JSON text) for the ones that take one. Returns (status,
        parsed JSON, or the text when it is not JSON)."""
        status, body = raw_request(self.api_port, method, path, body, timeout=timeout)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body

    def health(self):
        status, body = self.control("GET", "/_localrds/health", timeout=5)
        if status != 200:
            raise RuntimeError("health answered %s: %r" % (status, body))
        return body

    def events(self):
        status, body = self.control("GET", "/_localrds/events")
        assert status == 200, body
        return body["events"]

    def crash_instance(self, identifier):
        return self.control("POST", "/_localrds/instances/%s/crash" % identifier)

    # -- clients --

    def client(self, read_timeout=60, retries=None, **kw):
        """A boto3 client (rds_client's keywords: region, access_key, secret_key)."""
        return rds_client(self.endpoint, read_timeout=read_timeout, retries=retries, **kw)

    def aws(self, *args, **kw):
        return aws_cli(self.endpoint, *args, **kw)

    def raw(self, method, path="/", body=None, headers=None, timeout=30):
        return raw_request(self.api_port, method, path, body, headers, timeout)

    def query(self, params, method="POST", timeout=30):
        """A Query API call by hand: returns (status, body, parsed error or None)."""
        return query_api(self.api_port, params, method, timeout)


# --- clients ------------------------------------------------------------------------------------

# What today's RDS API has and Debian 12's botocore (1.29, from early 2023) does not know, among
# what localrds implements and the suites send: without these, that botocore refuses the call
# before it reaches localrds (ParamValidationError), so the test would test the client's stale
# model instead of localrds. Applied only where the loaded model lacks them; newer botocores
# already say exactly this.
RDS_MODEL_ADDITIONS = {
    # SourceDBInstanceIdentifier is optional since RDS took SourceDBClusterIdentifier instead
    # (localrds answers MissingParameter itself when neither is given).
    "CreateDBInstanceReadReplicaMessage": {"required": ["DBInstanceIdentifier"], "members": {}},
    # Restores take the new instance's backup settings and storage (2024).
    "RestoreDBInstanceFromDBSnapshotMessage": {"members": {
        "AllocatedStorage": "IntegerOptional", "BackupRetentionPeriod": "IntegerOptional",
        "PreferredBackupWindow": "String"}},
    "RestoreDBInstanceToPointInTimeMessage": {"members": {
        "AllocatedStorage": "IntegerOptional", "BackupRetentionPeriod": "IntegerOptional",
        "PreferredBackupWindow": "String"}},
}


class _RdsModelLoader(botocore.loaders.Loader):
    """botocore's loader, with RDS_MODEL_ADDITIONS in the RDS model it loads."""

    def load_service_model(self, service_name, type_name, api_version=None):
        data = super().load_service_model(service_name, type_name, api_version)
        if service_name == "rds" and type_name == "service-2":
            _add_to_rds_model(data)
        return data


_rds_model_loader = None


def _add_to_rds_model(service_data):
    shapes = service_data["shapes"]
    for shape_name, change in RDS_MODEL_ADDITIONS.items():
        shape = shapes.get(shape_name)
        if shape is None:
            continue
        for member, member_shape in change["members"].items():
            shape["members"].setdefault(member, {"shape": member_shape})
        if "required" in change:
            shape["required"] = [r for r in shape.get("required", []) if r in change["required"]]


def rds_client(endpoint, read_timeout=60, retries=None, region=REGION, access_key="test",
               secret_key="test"):
    """A boto3 RDS client for localrds: dummy credentials (`access_key`: a 12-digit one is that
    account's), `region` (us-east-1), and no retries (unless `retries`, botocore's retry config,
    says otherwise), so every error reaches the test as it was answered; the model knows
    RDS_MODEL_ADDITIONS."""
    global _rds_model_loader
    if _rds_model_loader is None:  # one, shared: it caches the (large) model it loaded
        _rds_model_loader = _RdsModelLoader()
    core = botocore.session.get_session()
    core.register_component("data_loader", _rds_model_loader)
    return boto3.session.Session(botocore_session=core).client(
        "rds", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=Config(retries=retries or {"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=read_timeout))


class CliResult:
    def __init__(self, rc, stdout, stderr, elapsed):
        self.rc, self.stdout, self.stderr, self.elapsed = rc, stdout, stderr, elapsed
        self.json = None
        if stdout.strip():
            with contextlib.suppress(ValueError):
                self.json = json.loads(stdout)

    @property
    def error_code(self):
        """The code in `An error occurred (Code) when calling ...`, if any."""
        marker = "An error occurred ("
        i = self.stderr.find(marker)
        if i < 0:
            return None
        return self.stderr[i + len(marker):].split(")", 1)[0]

    def __repr__(self):
        return "CliResult(rc=%r, stdout=%r, stderr=%r)" % (self.rc, self.stdout[-2000:],
                                                           self.stderr[-2000:])


def aws_cli(endpoint, *args, timeout=120, use_env=False):
    """Runs `aws <args>` against localrds with --endpoint-url (or, with use_env, through
    AWS_ENDPOINT_URL_RDS, which only the AWS CLI v2 from 2.13 honours: not v1, not Debian 12's
    2.9.19), dummy credentials and no user configuration. Returns a CliResult."""
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env.update(DUMMY_ENV)
    env.update({
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_PAGER": "",
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "1",
    })
    cmd = [tool("aws")]
    if use_env:
        env["AWS_ENDPOINT_URL_RDS"] = endpoint
    else:
        cmd += ["--endpoint-url", endpoint]
    cmd += ["--output", "json"] + [str(a) for a in args]
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return CliResult(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


def pg_env(password=None):
    """The environment of a PostgreSQL client: none of the caller's PG* settings, a 5 s connect
    timeout, no SSL, and the password when there is one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGCONNECT_TIMEOUT": "5", "PGSSLMODE": "disable"})
    if password is not None:
        env["PGPASSWORD"] = password
    return env


def psql(port, user, password, db, sql, timeout=30, host="127.0.0.1"):
    """Runs SQL with the psql CLI, over TCP by default (as an application would; `host` a socket
    directory and no password for the superuser). Returns (rc, stdout, stderr); stdout is
    unaligned, tuples only, '|'-separated."""
    cmd = [tool("psql"), "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
           "-h", host, "-p", str(port), "-U", user, "-d", db, "-c", sql]
    p = subprocess.run(cmd, env=pg_env(password), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


# What every SDK sends (localrds checks its shape, not the signature).
DUMMY_SIGV4 = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/rds/aws4_request, "
               "SignedHeaders=host;x-amz-date, Signature=0000")


def raw_request(port, method, path="/", body=None, headers=None, timeout=30):
    """One HTTP request with http.client; returns (status, body text). Query API requests get
    a SigV4-shaped Authorization header unless `headers` has one (None: send none)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        hdrs = dict(headers or {})
        if not path.startswith("/_localrds") and "Authorization" not in hdrs:
            hdrs["Authorization"] = DUMMY_SIGV4
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        if body is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        conn.request(method, path, body=body, headers=hdrs)
        res = conn.getresponse()
        data = res.read().decode("utf-8", "replace")
        return res.status, data
    finally:
        conn.close()


def raw_socket(port, payload, timeout=10):
    """Writes raw bytes to the API socket and returns everything read back until the server
    closes the connection (or the timeout)."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(OSError):
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def parse_error(body):
    """{'Type','Code','Message','RequestId'} from an RDS XML ErrorResponse, or None."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None

    def local(tag):
        return tag.rsplit("}", 1)[-1]
    if local(root.tag) != "ErrorResponse":
        return None
    out = {}
    for el in root.iter():
        name = local(el.tag)
        if name in ("Type", "Code", "Message", "RequestId"):
            out[name] = (el.text or "")
    return out


def query_api(port, params, method="POST", timeout=30):
    params = dict(params)
    params.setdefault("Version", API_VERSION)
    encoded = urllib.parse.urlencode(params)
    if method == "GET":
        status, body = raw_request(port, "GET", "/?" + encoded, timeout=timeout)
    else:
        status, body = raw_request(port, "POST", "/", encoded, timeout=timeout)
    return status, body, parse_error(body)


# --- test base -----------------------------------------------------------------------------------

MASTER_USER = "root"
MASTER_PASSWORD = "secret99"


class LocalrdsTestCase(unittest.TestCase):
    """Starts one localrds per test class (setUpClass) and stops it in tearDownClass; prints the
    server's log tail when a test fails or errors."""

    server_kwargs = {}
    credentials = None  # the text of a --credentials file the server is started with, if any
    credentials_path = None
    runtime_name = None  # a suite that needs one runtime names it; else LOCALRDS_E2E_RUNTIME
    h = None
    rds = None

    _tools_reported = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not LocalrdsTestCase._tools_reported:  # once per run: what the suites run with
            LocalrdsTestCase._tools_reported = True
            sys.stderr.write("harness: Python %s (%s), boto3 %s, botocore %s, aws %s, psql %s\n"
                             % (sys.version.split()[0], sys.executable, boto3.__version__,
                                botocore.__version__, shutil.which("aws"), shutil.which("psql")))
        if (cls.runtime_name or runtime()) == "docker":
            why = docker_unavailable()
            if why and os.environ.get("LOCALRDS_REQUIRE_DOCKER") == "1":
                raise RuntimeError("LOCALRDS_REQUIRE_DOCKER=1 but the docker runtime cannot "
                                   "run: " + why)
            if why:
                raise unittest.SkipTest("--runtime docker: " + why)
        kwargs = dict(cls.server_kwargs)
        if cls.credentials is not None:
            fd, cls.credentials_path = tempfile.mkstemp(prefix="localrds-credentials-")
            with os.fdopen(fd, "w") as f:
                f.write(cls.credentials)
            kwargs["extra_args"] = (list(kwargs.get("extra_args", ()))
                                    + ["--credentials", cls.credentials_path])
        cls.h = Localrds(name=cls.__name__, runtime_name=cls.runtime_name, **kwargs)
        try:
            cls.h.start()
        except BaseException:
            cls.h.stop()
            cls._remove_credentials()
            raise
        cls.rds = cls.h.client()

    @classmethod
    def tearDownClass(cls):
        if cls.h is not None:
            cls.h.stop()
        cls._remove_credentials()
        super().tearDownClass()

    @classmethod
    def _remove_credentials(cls):
        if cls.credentials_path is not None:
            os.unlink(cls.credentials_path)
            cls.credentials_path = None

    def run(self, result=None):
        before = (len(result.failures) + len(result.errors)) if result is not None else 0
        out = super().run(result)
        r = result if result is not None else out
        if r is not None and len(r.failures) + len(r.errors) > before and self.h is not None:
            sys.stderr.write(self.h.log_tail())
        return out

    # -- helpers shared by the suites --

    def create(self, identifier, wait=True, rds=None, **kw):
        """CreateDBInstance with the issue's defaults; waits for `available` with the boto3
        waiter; returns the described instance. The instance is deleted after the test (if the
        test did not delete it), so a failing test does not leak it into the next ones."""
        rds = rds or self.rds
        args = dict(DBInstanceIdentifier=identifier, Engine="postgres",
                    DBInstanceClass="db.t3.micro", MasterUsername=MASTER_USER,
                    MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20)
        args.update(kw)
        resp = rds.create_db_instance(**args)["DBInstance"]
        self.addCleanup(self._delete_quietly, resp["DbiResourceId"])
        self.assertEqual(resp["DBInstanceIdentifier"], identifier.lower())
        if not wait:
            return resp
        self.wait_available(identifier, rds)
        return self.describe(identifier, rds)

    def _delete_quietly(self, resource_id):
        # By resource id: the test may have renamed the instance.
        if not self.h.alive():
            return
        with contextlib.suppress(Exception):
            rds = self.h.client()
            found = rds.describe_db_instances(
                Filters=[{"Name": "dbi-resource-id", "Values": [resource_id]}])["DBInstances"]
            for inst in found:
                if inst["DeletionProtection"]:
                    rds.modify_db_instance(DBInstanceIdentifier=inst["DBInstanceIdentifier"],
                                           DeletionProtection=False, ApplyImmediately=True)
                rds.delete_db_instance(DBInstanceIdentifier=inst["DBInstanceIdentifier"],
                                       SkipFinalSnapshot=True)

    def wait_available(self, identifier, rds=None, attempts=30):
        (rds or self.rds).get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=identifier, WaiterConfig={"Delay": 1, "MaxAttempts": attempts})

    def describe(self, identifier, rds=None):
        r = (rds or self.rds).describe_db_instances(DBInstanceIdentifier=identifier)
        self.assertEqual(len(r["DBInstances"]), 1, r)
        return r["DBInstances"][0]

    def status(self, identifier):
        return self.describe(identifier)["DBInstanceStatus"]

    # States an instance does not leave by itself: waiting for another one is pointless.
    TERMINAL = {"available": {"failed", "stopped", "incompatible-parameters",
                              "incompatible-restore", "storage-full"},
                "stopped": {"failed"}}

    def wait_status(self, identifier, status, timeout=30):
        """Polls DescribeDBInstances until the instance has that status; fails (at once for a
        terminal state) naming the status it got stuck in."""
        seen = []
        terminal = self.TERMINAL.get(status, set())

        def check():
            seen.append(self.describe(identifier)["DBInstanceStatus"])
            return seen[-1] == status or seen[-1] in terminal
        try:
            wait_until(check, timeout, 0.2, "%s to be %s" % (identifier, status))
        except AssertionError as e:
            self.fail("%s did not become %s within %ss; last status %r (%s)"
                      % (identifier, status, timeout, seen[-1] if seen else None, e))
        if seen[-1] != status:
            self.fail("%s is %r, a state it will not leave, instead of becoming %r"
                      % (identifier, seen[-1], status))

    def assertClientError(self, code, http_status, fn, *args, **kw):
        """Calls fn, expects a botocore ClientError with that code and HTTP status; returns the
        error dict (Code, Message, Type)."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response["Error"]
        got_status = cm.exception.response["ResponseMetadata"]["HTTPStatusCode"]
        self.assertEqual((err.get("Code"), got_status), (code, http_status),
                         "wrong error for %s: %r" % (getattr(fn, "__name__", fn), err))
        return err

    def psql_ok(self, port, sql, user=MASTER_USER, password=MASTER_PASSWORD, db="postgres"):
        rc, out, err = psql(port, user, password, db, sql)
        self.assertEqual(rc, 0, "psql on port %s failed: %s" % (port, err))
        return out
