"""The surroundings every bench shares: the PostgreSQL binaries and OS user, the master user and
database of the instances the benches create, units. Importing it pins dummy AWS credentials and
drops any AWS_ENDPOINT_URL* from the environment, so that no stray endpoint or profile redirects
the benches' boto3 clients."""

import os

PG_BIN = os.environ.get("LOCALRDS_PG_BIN", "/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
SUPERUSER = "rdsadmin"  # the superuser name localrds gives initdb (emulator/pg_runtime.h)
REGION = "us-east-1"
MASTER_USER = "benchadmin"
MASTER_PASSWORD = "bench-password-1"
DB_NAME = "app"
MiB = 1024 ** 2
GiB = 1024 ** 3

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
for _k in list(os.environ):
    if _k.startswith("AWS_ENDPOINT_URL"):
        del os.environ[_k]
