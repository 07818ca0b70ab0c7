"""The skeleton of a bench: its command line (the options every bench has), a private copy of
the binary to measure, SIGTERM handling, sections that fail alone, and the end of every run
(the report, the JSON line, the exit status)."""

import argparse
import glob
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback

from .errors import BenchError, ServerHung
from .host import host_info
from .report import emit, log
from .server import Localrds, binary_id


def parser(doc, quick_help):
    """An ArgumentParser with the bench's docstring as its description and the first two
    options of every bench, --quick and --bin; the bench adds its own, then calls parse()."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help=quick_help)
    ap.add_argument("--bin", default=os.environ.get("LOCALRDS_BIN", "build/localrds"),
                    help="localrds binary (env LOCALRDS_BIN, default build/localrds)")
    return ap


def rounds_and_binary(rounds):
    """The command line of the small benches (bench_groups.py, bench_console.py): --rounds and
    --binary (bench/run.sh passes $LOCALRDS_BIN)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "build", "localrds"))
    return ap.parse_args()


def parse(ap, defaults, keep_help="keep the temp dir (debugging)"):
    """Adds the last option of every bench, --keep, parses the command line and fills each
    option left unset from defaults = ((name, full-run value, --quick value), ...)."""
    ap.add_argument("--keep", action="store_true", help=keep_help)
    args = ap.parse_args()
    for name, full, quick in defaults:
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def require(args, script, tools=()):
    """Exits with one line when the binary (made absolute in args.bin) or a tool is missing."""
    args.bin = os.path.abspath(args.bin)
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"localrds binary not found: {args.bin} (set LOCALRDS_BIN or --bin)")
    for tool in tools:
        if not shutil.which(tool):
            sys.exit(f"{script} needs {tool} on PATH")


def run_section(res, name, fn, *args):
    """Runs fn(out, *args), which fills res[name] = out as it goes: a failure keeps what was
    measured before it, adds out['error'], and the run goes on (unless localrds hung)."""
    hung = next((v["error"] for v in res.values() if isinstance(v, dict) and v.get("hung")), None)
    if hung:
        res[name] = {"error": "skipped: localrds stopped answering"}
        return False
    log(f"== {name}")
    out = res[name] = {}
    t0 = time.time()
    try:
        fn(out, *args)
    except BenchError as e:
        log(f"!! {name} failed: {e}")
        out["error"] = str(e)
        out["hung"] = isinstance(e, ServerHung)
    except Exception as e:  # noqa: BLE001 - a bug in one section must not lose the others
        traceback.print_exc()
        out["error"] = f"{type(e).__name__}: {e}"
    out["section_s"] = time.time() - t0
    return "error" not in out


def section_failed(res):
    """True when a section of res failed."""
    return any(isinstance(v, dict) and v.get("error") for v in res.values())


def with_server(args, label, res, sections):
    """Starts one localrds (--pool-size, `label`, --keep), calls sections(server), and stops it
    whatever happens (res['cleanup'] = what its stop found)."""
    server = Localrds(args.bin, pool_size=args.pool_size, label=label, keep=args.keep)
    try:
        server.start()
        sections(server)
    finally:
        server.stop()
        res["cleanup"] = getattr(server, "cleanup_info", None)


def measure(args, run, report, failed, json_tag):
    """The whole bench: run(args, res) against a private copy of args.bin (others may rebuild
    build/localrds while a bench runs, and every section must measure the same build), with res
    already holding the mode and the host; then report(res), one `<json_tag> {...}` line with
    every figure, and exit status 1 when failed(res). SIGTERM/SIGHUP become
    KeyboardInterrupt, so that the benches' finally blocks clean up."""
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    snap_dir = tempfile.mkdtemp(prefix="localrds-bench-bin-")
    try:
        copy = os.path.join(snap_dir, "localrds")
        shutil.copy2(args.bin, copy)
        # localrds installs the guard extension its servers load from beside its binary
        for lib in glob.glob(os.path.join(os.path.dirname(args.bin), "localrds_guard_*.so")):
            shutil.copy2(lib, snap_dir)
        os.chmod(snap_dir, 0o755)
        log(f"measuring a copy of {args.bin} ({binary_id(args.bin)})")
        source_bin, args.bin = args.bin, copy
        started = time.time()
        res = {"mode": "quick" if args.quick else "full", "host": host_info()}
        run(args, res)
        res["elapsed_s"] = time.time() - started
        res["bin"], res["bin_id"] = source_bin, binary_id(copy)
    finally:
        shutil.rmtree(snap_dir, ignore_errors=True)
    emit(report, res, json_tag)
    sys.exit(1 if failed(res) else 0)
