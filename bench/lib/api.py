"""The RDS Query API of one localrds through boto3, as a user calls it: calls whose AWS errors
become one sentence, waits for a status, the boto3 waiters, creates and deletes that remember
what is left to clean up."""

import os
import subprocess
import sys
import time

from .env import DB_NAME, MASTER_PASSWORD, MASTER_USER, REGION
from .errors import BenchError, ServerHung
from .report import log

try:
    import boto3
    import botocore.config
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError
except ImportError:  # pragma: no cover
    sys.exit(f"{os.path.basename(sys.argv[0])} needs boto3 (pip install boto3)")

GONE = "(not found)"  # the "status" of an instance or snapshot that describe no longer finds
# Statuses after which waiting for `available` is pointless: the boto3 waiters' failure states,
# plus the ones RDS documents for a failed restore or a full disk.
INSTANCE_FAILED = {"deleted", "deleting", "failed", "incompatible-restore",
                   "incompatible-parameters", "restore-error", "storage-full"}
SNAPSHOT_FAILED = {"deleted", "deleting", "failed", "incompatible-restore",
                   "incompatible-parameters", "error"}

# botocore's retry settings: max_attempts counts *retries* (1 = one retry), total_max_attempts
# counts attempts (1 = none). A retried create or restore after a read timeout is a second one.
RETRY_ONCE = {"max_attempts": 1, "mode": "standard"}
NO_RETRY = {"total_max_attempts": 1, "mode": "standard"}


def boto_client(endpoint, retries, read_timeout, region=REGION, **config):
    """An RDS client of `endpoint`; localrds serves the region of the request's signature."""
    cfg = botocore.config.Config(retries=retries, connect_timeout=10, read_timeout=read_timeout,
                                 **config)
    return boto3.session.Session().client("rds", endpoint_url=endpoint, region_name=region,
                                          config=cfg)


def create_params(ident, port, **extra):
    """CreateDBInstance's parameters for a small PostgreSQL instance of the master user."""
    return dict(DBInstanceIdentifier=ident, Engine="postgres", DBInstanceClass="db.t3.micro",
                MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD,
                AllocatedStorage=20, DBName=DB_NAME, Port=port, **extra)


def endpoint(inst):
    """(address, port) of a DescribeDBInstances entry."""
    ep = inst.get("Endpoint") or {}
    if not ep.get("Address") or not ep.get("Port"):
        raise BenchError(f"{inst.get('DBInstanceIdentifier')} has no Endpoint: {ep}")
    return ep["Address"], int(ep["Port"])


class Rds:
    """One localrds (a server.Localrds) through boto3, without retries (localrds may answer a
    call only once the work is done, so a call may take as long as any wait: `timeout`), in one
    region (its requests are signed for it). Keeps the identifiers created and not yet deleted
    (instances, snapshots) for the cleanup, and the server's data_dir once read_data_dir() ran."""

    def __init__(self, server, timeout, region=REGION):
        self.server = server
        self.timeout = timeout
        self.region = region
        self.client = boto_client(server.endpoint, NO_RETRY, timeout, region=region)
        self.data_dir = None
        self.instances = []  # identifiers created by the bench and not yet deleted
        self.snapshots = []  # manual snapshot identifiers not yet deleted

    def read_data_dir(self):
        """The data_dir of GET /_localrds/health (kept in self.data_dir). -> the health."""
        health = self.server.health()
        self.data_dir = health.get("data_dir")
        if not self.data_dir:
            raise BenchError(f"GET /_localrds/health has no data_dir: {health}")
        return health

    def api(self, op, missing=None, **kw):
        """One RDS call. An AWS error becomes a BenchError naming the action, the code and the
        message; when its code is `missing` (e.g. DBInstanceNotFound), returns None instead."""
        action = self.client.meta.method_to_api_mapping.get(op, op)
        try:
            return getattr(self.client, op)(**kw)
        except ClientError as e:
            err = e.response.get("Error", {})
            if missing and err.get("Code") == missing:
                return None
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise BenchError(f"{action} failed: HTTP {status} {err.get('Code')}: "
                             f"{err.get('Message')}") from None
        except BotoCoreError as e:
            try:
                self.server.health(timeout=5)
            except Exception:  # noqa: BLE001 - any failure means the same here
                raise ServerHung(f"{action} failed: {e}; localrds no longer answers "
                                 f"GET /_localrds/health either (log: "
                                 f"{self.server.log_path})") from None
            raise BenchError(f"{action} failed: {e}") from None

    def instance(self, ident):
        r = self.api("describe_db_instances", missing="DBInstanceNotFound",
                     DBInstanceIdentifier=ident)
        return r["DBInstances"][0] if r else None

    def instance_status(self, ident):
        inst = self.instance(ident)
        return (inst["DBInstanceStatus"] if inst else GONE), inst

    def snapshot_status(self, snap):
        r = self.api("describe_db_snapshots", missing="DBSnapshotNotFound",
                     DBSnapshotIdentifier=snap)
        s = r["DBSnapshots"][0] if r and r["DBSnapshots"] else None
        return (s["Status"] if s else GONE), s

    def wait_status(self, what, fetch, want, failed, interval):
        """Calls fetch() -> (status, obj) every `interval` s until the status is `want`. Returns
        (perf_counter of the response showing it, obj, polls). Fails fast on a status in
        `failed`, and after `timeout` seconds, naming the statuses seen."""
        deadline = time.perf_counter() + self.timeout
        seen, polls = [], 0
        while True:
            status, obj = fetch()
            t = time.perf_counter()
            polls += 1
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == want:
                return t, obj, polls
            if status in failed:
                raise BenchError(f"{what}: status {status} (seen {' -> '.join(seen)})")
            if t >= deadline:
                raise BenchError(f"{what}: not {want} after {self.timeout:.0f} s "
                                 f"(seen {' -> '.join(seen)})")
            time.sleep(interval)

    def waiter(self, name, delay, **kw):
        """A boto3 waiter with a short Delay and `timeout` in all; returns its number of polls."""
        w = self.client.get_waiter(name)
        event = f"after-call.rds.{w.config.operation}"
        polls = [0]

        def count(**_):
            polls[0] += 1
        self.client.meta.events.register(event, count)
        try:
            w.wait(WaiterConfig={"Delay": delay,
                                 "MaxAttempts": int(self.timeout / delay) + 1}, **kw)
        except WaiterError as e:
            raise BenchError(f"waiter {name} ({kw}): {e}") from None
        finally:
            self.client.meta.events.unregister(event, count)
        return polls[0]

    def create_instance(self, ident, **extra):
        """CreateDBInstance (create_params + extra, on the server's next port), then the waiter
        db_instance_available with Delay=0.5. -> the instance as DescribeDBInstances shows it."""
        port = self.server.next_port()
        t0 = time.perf_counter()
        self.api("create_db_instance", **create_params(ident, port, **extra))
        self.instances.append(ident)
        polls = self.waiter("db_instance_available", 0.5, DBInstanceIdentifier=ident)
        inst = self.instance(ident)
        log(f"{ident}: available after {time.perf_counter() - t0:.2f} s ({polls} waiter polls), "
            f"port {inst['Endpoint']['Port']}, {inst.get('DbiResourceId')}")
        return inst

    def delete_instance(self, ident):
        """DeleteDBInstance (no final snapshot, automated backups deleted) and wait until
        describe no longer finds it. Returns seconds."""
        t0 = time.perf_counter()
        self.api("delete_db_instance", DBInstanceIdentifier=ident, SkipFinalSnapshot=True,
                 DeleteAutomatedBackups=True)
        self.wait_status(f"deleting instance {ident}", lambda: self.instance_status(ident),
                         GONE, set(), 0.2)
        self.instances.remove(ident)
        return time.perf_counter() - t0

    def delete_snapshot(self, snap):
        t0 = time.perf_counter()
        self.api("delete_db_snapshot", DBSnapshotIdentifier=snap)
        self.wait_status(f"deleting snapshot {snap}", lambda: self.snapshot_status(snap),
                         GONE, set(), 0.2)
        self.snapshots.remove(snap)
        return time.perf_counter() - t0

    def delete_all(self, out, newest_first=False, name=None):
        """Deletes every instance the bench left (newest_first: replicas before their source):
        out['delete_<id>_s'] (out['delete_<name>_<id>_s']) per instance, and the failures in
        out['errors'] (prefixed `<name>: `), which it extends."""
        out.setdefault("errors", [])
        ids = list(self.instances)
        for ident in (reversed(ids) if newest_first else ids):
            try:
                out[f"delete_{name}_{ident}_s" if name else f"delete_{ident}_s"] = \
                    self.delete_instance(ident)
            except BenchError as e:
                out["errors"].append(f"{name}: {e}" if name else str(e))

    def wait_trash_empty(self, timeout=60):
        """localrds may remove a deleted directory after the API says it is gone: wait (at most
        `timeout` s) until <data_dir>/trash is empty, so the next measurement has the disk."""
        trash = os.path.join(self.data_dir, "trash")
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if not os.listdir(trash):
                    break
            except FileNotFoundError:
                break
            time.sleep(0.1)
        subprocess.run(["sync", "-f", self.data_dir], timeout=600)
