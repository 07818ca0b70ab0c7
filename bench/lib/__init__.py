"""What the localrds benchmarks (bench/bench_*.py) share; each bench holds only its own
measurements. See bench/README.md, "bench/lib".

  env        the PostgreSQL binaries and OS user, the master user and database of the
             instances the benches create, units; pins the AWS environment on import
  host       free ports, /proc (processes, the PostgreSQL servers under a directory), disk usage
  stats      summaries of a list of figures (nearest-rank percentiles, medians)
  report     progress lines on stderr, the report's formatting, the report's common lines
  skeleton   the skeleton of a bench: options, a private copy of the binary, sections, the JSON
             line and the exit status
  server     the localrds wrapper: one `localrds serve` on a temp data dir, its log, its
             /_localrds endpoints, full cleanup
  api        the RDS Query API of one localrds through boto3: calls, waits, deletes
  pg         PostgreSQL over psql and pgbench as the master user (one-shot and a persistent
             psql session)
  probe      a minimal PostgreSQL wire-protocol client (the failover probe)
  baselines  plain PostgreSQL by hand as the OS user postgres, and the `cp -a` copy baseline
  multi_az   a Multi-AZ instance and one failover of it with the probe running (the failover
             and docker benches)
  errors     BenchError (a section's failure, shown as one sentence) and ServerHung
"""
