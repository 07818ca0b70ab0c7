"""The failures a bench section reports as one sentence."""


class BenchError(RuntimeError):
    """A failure the report shows as one sentence (no traceback)."""


class ServerHung(BenchError):
    """localrds stopped answering: the remaining sections are skipped."""
