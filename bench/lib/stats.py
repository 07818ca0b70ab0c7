"""Summaries of a list of figures. None values (a figure a rep could not measure) are left out
everywhere; an empty list summarises to None."""

import statistics


def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of a list, or None when it is empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(values):
    """{n, min, median, p90, max}, or None."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "p90": pct(values, 90), "max": max(values)}


def dist(values):
    """{n, min, p50, p95, p99, max, mean} (nearest rank), or None: for many samples."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"n": len(values), "min": min(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "p99": pct(values, 99), "max": max(values), "mean": sum(values) / len(values)}


def step_medians(step_dicts):
    """[{step: ms}] -> {step: median ms}, steps in first-seen order."""
    seen = {}
    for d in step_dicts:
        for k, v in d.items():
            seen.setdefault(k, []).append(v)
    return {k: median(v) for k, v in seen.items()}
