"""Output: progress lines on stderr, the formatting of the reports on stdout, the lines every
report shares, and the JSON line that ends a bench's output."""

import json
import sys
import time
import traceback

from .env import MiB


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fmt(v, spec=".3f", none="-"):
    return none if v is None else format(v, spec)


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def fmt_ms(s):
    """A lib.stats summary in milliseconds: median, p90, max and n ("n/a" for none)."""
    return "n/a" if s is None else (f"median {s['median'] * 1000:.1f} ms, p90 "
                                    f"{s['p90'] * 1000:.1f} ms, max {s['max'] * 1000:.1f} ms "
                                    f"(n={s['n']})")


def print_against(label, s, baseline_label, b):
    """A figure of a small bench (bench_groups.py, bench_console.py), then its baseline of the
    same run and the ratio of their medians, on three lines."""
    print(f"  {label}: {fmt_ms(s)}")
    print(f"    baseline, {baseline_label}: {fmt_ms(b)}")
    print(f"    ratio of medians: {fmt_ratio(s and s['median'], b and b['median'])}")


def fmt_mb(nbytes):
    return "-" if nbytes is None else f"{nbytes / MiB:.0f}"


def host_text(res):
    """`2 CPUs, 23.5 GiB RAM` from res['host']."""
    mem = res["host"].get("mem_total_kb") or 0
    return f"{res['host']['cpus']} CPUs, {mem / 1024 / 1024:.1f} GiB RAM"


def stat_cols(st, n=3, width=8, spec=".3f"):
    """The n, min, median and max columns of a summary."""
    return (f"{st['n']:>{n}}{st['min']:>{width}{spec}}{st['median']:>{width}{spec}}"
            f"{st['max']:>{width}{spec}}")


def section_errors(w, res, names):
    """One `!! <section>: <error>` line per failed section."""
    for name in names:
        err = res.get(name, {}).get("error")
        if err:
            w(f"!! {name}: {err}\n")


def servers_left(w, res):
    """The warning when localrds' reset or SIGTERM left PostgreSQL servers running."""
    c = res.get("cleanup") or {}
    if c.get("servers_running_0_5s_after_reset") or c.get("servers_left_after_sigterm"):
        w("!! PostgreSQL servers were left running after reset/SIGTERM (the bench stopped them)\n")


def footer(w, res):
    w(f"\nlocalrds measured: a copy of {res.get('bin')} ({res.get('bin_id')}); total bench time "
      f"{res['elapsed_s']:.1f} s\n")


class BaselineSummary:
    """The `-- summary` table of figure, localrds value, baseline and ratio."""

    def __init__(self, w, ratio_width=8):
        self.w, self.ratio_width = w, ratio_width
        w("\n-- summary\n")
        w(f"{'figure':<44}{'localrds':>10}{'baseline':>10}{'ratio':>{ratio_width}}"
          f"  baseline / goal\n")

    def line(self, label, value, base=None, note="", spec=".3f"):
        """value: a number, or a string printed as it is (e.g. `error`); base: None for none."""
        v = value if isinstance(value, str) else fmt(value, spec)
        b = fmt(base, spec) if base is not None else ""
        r = fmt_ratio(value, base) if base is not None and not isinstance(value, str) else ""
        self.w(f"{label:<44}{v:>10}{b:>10}{r:>{self.ratio_width}}  {note}\n")


def emit(report, res, json_tag):
    """report(res) on stdout, then `<json_tag> {...}` with every figure; a report that fails
    still lets the JSON line out."""
    try:
        report(res)
    except Exception as e:  # noqa: BLE001 - the JSON line must still come out
        traceback.print_exc()
        log(f"report failed: {e!r}")
    print(json_tag + " " + json.dumps(res, sort_keys=True, default=str), flush=True)
