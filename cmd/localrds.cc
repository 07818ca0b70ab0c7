// localrds: a local Amazon RDS for PostgreSQL. The only place that sees every layer: it parses
// the command line, opens the catalog, picks the runtime, recovers, and serves the API.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "api/router.h"
#include "api/sns_publisher.h"
#include "common/log.h"
#include "emulator/core/regions.h"
#include "emulator/engine/operation_engine.h"
#include "emulator/postgres/server_secrets.h"
#include "emulator/runtime/docker_runtime.h"
#include "emulator/runtime/local_runtime.h"
#include "emulator/runtime/server_files.h"
#include "emulator/service/control_plane.h"
#include "storage/catalog.h"
#include "storage/layout.h"

#ifndef LOCALRDS_VERSION
#define LOCALRDS_VERSION "0.1.0"
#endif

namespace {

namespace fs = std::filesystem;
using localrds::LogLine;

struct Flag {
  const char* name;
  const char* env;
  const char* def;
  const char* help;
};

const Flag kFlags[] = {
    {"host", "LOCALRDS_HOST", "127.0.0.1", "address the API listens on (loopback by default)"},
    {"port", "LOCALRDS_PORT", "4566", "API port"},
    {"allowed-hosts", "LOCALRDS_ALLOWED_HOSTS", "",
     "more names the API answers to in the Host header (comma-separated; localhost and the "
     "loopback and --host addresses always)"},
    {"data-dir", "LOCALRDS_DATA_DIR", "./.localrds", "where the catalog and every cluster live"},
    {"runtime", "LOCALRDS_RUNTIME", "local",
     "how PostgreSQL servers run: local (processes) or docker (a container each)"},
    {"docker-image", "LOCALRDS_DOCKER_IMAGE", "localrds/postgres",
     "--runtime docker: the image repository, one tag per major version (docker/build-image.sh)"},
    {"region", "LOCALRDS_REGION", "us-east-1",
     "the region of requests that name none (every AWS commercial region is served: a request's "
     "is its signature's)"},
    {"account-id", "LOCALRDS_ACCOUNT_ID", "000000000000",
     "the account of requests whose access key is not a 12-digit account id"},
    {"credentials", "LOCALRDS_CREDENTIALS", "",
     "strict signatures: a file of 'ACCESS_KEY SECRET ACCOUNT_ID' lines; only those keys are "
     "accepted and every signature is verified (default: any credentials, not verified)"},
    {"pg-user", "LOCALRDS_PG_USER", "postgres", "OS user for PostgreSQL when run as root"},
    {"pg-bin-root", "LOCALRDS_PG_BIN_ROOT", "/usr/lib/postgresql",
     "one directory per major version"},
    {"port-range", "LOCALRDS_PORT_RANGE", "15432-16431",
     "instance ports used when the asked Port is busy (keep below 32768)"},
    {"default-port", "LOCALRDS_DEFAULT_PORT", "5432",
     "the port of an instance created without Port (RDS: 5432)"},
    {"pg-listen-address", "LOCALRDS_PG_LISTEN_ADDRESS", "127.0.0.1",
     "where instance servers listen (* inside the localrds image, for published ports)"},
    {"endpoint-address", "LOCALRDS_ENDPOINT_ADDRESS", "127.0.0.1",
     "the Endpoint.Address reported for instances (where clients reach their ports)"},
    {"pool-size", "LOCALRDS_POOL_SIZE", "3", "ready-made clusters kept per engine version"},
    {"max-instances", "LOCALRDS_MAX_INSTANCES", "40", "DB instance quota (RDS's default is 40)"},
    {"threads", "LOCALRDS_THREADS", "2", "HTTP threads"},
    {"wal-ship-seconds", "LOCALRDS_WAL_SHIP_SECONDS", "5",
     "how often new commits are archived: LatestRestorableTime trails them by about this much "
     "(RDS: 300)"},
    {"inter-region-latency", "LOCALRDS_INTER_REGION_LATENCY", "40",
     "milliseconds a cross-Region read replica applies its source's commits late (the Regions' "
     "distance, seen as ReplicaLag); 0 turns it off"},
    {"storage-unit", "LOCALRDS_STORAGE_UNIT", "GiB",
     "what one unit of AllocatedStorage is, to rehearse a full disk quickly: GiB (as RDS), "
     "MiB, or a number of bytes (at least 1048576); autoscaling's waits scale with it"},
    {"sns-endpoint-url", "LOCALRDS_SNS_ENDPOINT_URL", "",
     "an SNS Query-API endpoint (http://...) that event subscriptions publish to, signed with "
     "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (default: nothing is sent)"},
    {"timing", "LOCALRDS_TIMING", "fast",
     "how long operations take: fast (as soon as done), aws (RDS-like durations: failover 90 s, "
     "create 10 min... see the README) or aws:<scale> (aws:0.1 = a tenth of them)"},
};

void PrintHelp() {
  std::cout << "localrds " << LOCALRDS_VERSION
            << " - a local Amazon RDS for PostgreSQL\n\n"
               "usage: localrds serve [flags]\n       localrds --help | --version\n\nflags "
               "(each also read from its environment variable):\n";
  for (const auto& f : kFlags) {
    std::string left = std::string("  --") + f.name + " (" + f.env + ")";
    std::cout << left << std::string(left.size() < 44 ? 44 - left.size() : 1, ' ') << f.help << " ["
              << f.def << "]\n";
  }
  std::cout << "\nPoint an SDK at it with AWS_ENDPOINT_URL_RDS=http://127.0.0.1:4566 (or its\n"
               "endpoint_url option); the AWS CLI before v2.13 (Debian 12 has v2.9) reads no such\n"
               "variable: give it --endpoint-url http://127.0.0.1:4566.\n";
}

int ParseInt(const std::map<std::string, std::string>& opts, const char* name) {
  const std::string& v = opts.at(name);
  char* end = nullptr;
  long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') {
    std::cerr << "localrds: --" << name << " must be a number, not '" << v << "'\n";
    std::exit(2);
  }
  return static_cast<int>(n);
}

// PostgreSQL runs as an unprivileged user: it must be able to traverse to the data directory.
void MakeTraversable(const fs::path& dir) {
  for (fs::path p = dir; !p.empty() && p != p.root_path(); p = p.parent_path()) {
    struct stat st {};
    if (stat(p.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH)) {
      chmod(p.c_str(), st.st_mode | S_IXOTH);
      LogLine() << "made " << p.string()
                << " traversable (o+x) so that the PostgreSQL user can reach the data directory";
    }
  }
}

// The data directory holds every password verifier (catalog.db) and the key of the servers'
// replication passwords: nobody but localrds reads it. The servers' OS user, when localrds runs
// as root, only traverses it (group x) to reach its own directories inside.
localrds::Status ProtectDataDirectory(const localrds::Layout& paths,
                                      const std::optional<localrds::RunAs>& pg_user) {
  const fs::path& dir = paths.data_dir();
  if (pg_user && chown(dir.c_str(), 0, pg_user->gid) != 0) {
    return localrds::Status::Internal("cannot chown " + dir.string());
  }
  if (chmod(dir.c_str(), pg_user ? 0710 : 0700) != 0) {
    return localrds::Status::Internal("cannot chmod " + dir.string());
  }
  // SQLite creates catalog.db-wal and -shm with the catalog's own mode.
  const fs::path catalog = paths.CatalogPath();
  int fd = open(catalog.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return localrds::Status::Internal("cannot open " + catalog.string());
  close(fd);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const fs::path f = catalog.string() + suffix;
    if (fs::exists(f)) chmod(f.c_str(), 0600);
  }
  for (const fs::path& f : {paths.SocketDirRecord(), dir / "localrds.lock"}) {
    if (fs::exists(f)) chmod(f.c_str(), 0600);
  }
  return localrds::Status::Ok();
}

// Every flag at its environment variable's value, else its default.
std::map<std::string, std::string> FlagDefaults() {
  std::map<std::string, std::string> opts;
  for (const auto& f : kFlags) {
    const char* e = std::getenv(f.env);
    opts[f.name] = e && *e ? e : f.def;
  }
  return opts;
}

// Reads the arguments into `opts`. Returns the exit code when localrds must stop here (--help,
// --version, a mistake, no `serve`), nullopt to serve.
std::optional<int> ParseArguments(int argc, char** argv, std::map<std::string, std::string>& opts) {
  bool serve = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h" || a == "help") {
      PrintHelp();
      return 0;
    }
    if (a == "--version" || a == "version") {
      std::cout << "localrds " << LOCALRDS_VERSION << "\n";
      return 0;
    }
    if (a == "serve") {
      serve = true;
      continue;
    }
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        std::cerr << "localrds: --" << name << " needs a value\n";
        return 2;
      }
      if (!opts.count(name)) {
        std::cerr << "localrds: unknown flag --" << name << " (see --help)\n";
        return 2;
      }
      opts[name] = value;
      continue;
    }
    std::cerr << "localrds: unknown argument '" << a << "' (see --help)\n";
    return 2;
  }
  if (!serve) {
    PrintHelp();
    return 2;
  }
  return std::nullopt;
}

// The control plane's configuration from the flags; false (having said why) when one is invalid.
bool ConfigFromFlags(std::map<std::string, std::string>& opts, localrds::EmulatorConfig& config) {
  config.region = opts["region"];
  config.account_id = opts["account-id"];
  if (!localrds::FindRegion(config.region)) {
    std::cerr << "localrds: --region " << config.region
              << " is not an AWS commercial region (us-east-1, eu-west-1, ...)\n";
    return false;
  }
  if (config.account_id.size() != 12 ||
      config.account_id.find_first_not_of("0123456789") != std::string::npos) {
    std::cerr << "localrds: --account-id must be 12 digits\n";
    return false;
  }
  config.pool_size = ParseInt(opts, "pool-size");
  config.default_port = ParseInt(opts, "default-port");
  if (config.default_port < 1150 || config.default_port > 65535) {
    std::cerr << "localrds: --default-port must be between 1150 and 65535 (RDS's range)\n";
    return false;
  }
  config.pg_listen_address = opts["pg-listen-address"];
  config.endpoint_address = opts["endpoint-address"];
  if (config.endpoint_address.empty()) {
    std::cerr << "localrds: --endpoint-address must not be empty\n";
    return false;
  }
  if (config.pg_listen_address.empty() ||
      config.pg_listen_address.find_first_of("'\\\n") != std::string::npos) {
    std::cerr << "localrds: --pg-listen-address must be an address (or *)\n";
    return false;
  }
  config.max_instances = ParseInt(opts, "max-instances");
  const int ship = ParseInt(opts, "wal-ship-seconds");
  if (ship < 1 || ship > 3600) {
    std::cerr << "localrds: --wal-ship-seconds must be between 1 and 3600\n";
    return false;
  }
  config.wal_ship_interval = std::chrono::seconds(ship);
  const int latency = ParseInt(opts, "inter-region-latency");
  if (latency < 0 || latency > 10000) {
    std::cerr << "localrds: --inter-region-latency must be between 0 and 10000 (milliseconds)\n";
    return false;
  }
  config.inter_region_latency = std::chrono::milliseconds(latency);
  const std::string& unit = opts["storage-unit"];
  if (unit == "GiB" || unit == "gib") {
    config.storage_unit_bytes = localrds::kGiB;
  } else if (unit == "MiB" || unit == "mib") {
    config.storage_unit_bytes = 1LL << 20;
  } else {
    char* end = nullptr;
    const long long n = std::strtoll(unit.c_str(), &end, 10);
    if (unit.empty() || *end != '\0' || n < (1LL << 20) || n > localrds::kGiB) {
      std::cerr << "localrds: --storage-unit must be GiB, MiB or a number of bytes between "
                   "1048576 and 1073741824, not '"
                << unit << "'\n";
      return false;
    }
    config.storage_unit_bytes = n;
  }
  if (config.storage_unit_bytes != localrds::kGiB) {
    LogLine() << "AllocatedStorage counts units of " << config.storage_unit_bytes
              << " bytes (--storage-unit), not GiB";
  }
  config.version = LOCALRDS_VERSION;
  const std::string& r = opts["port-range"];
  size_t dash = r.find('-');
  if (dash == std::string::npos) {
    std::cerr << "localrds: --port-range must look like 15432-16431\n";
    return false;
  }
  config.port_range_lo = std::atoi(r.substr(0, dash).c_str());
  config.port_range_hi = std::atoi(r.substr(dash + 1).c_str());
  if (config.port_range_lo < 1150 || config.port_range_hi < config.port_range_lo ||
      config.port_range_hi > 65535) {
    std::cerr << "localrds: invalid --port-range " << r << "\n";
    return false;
  }
  auto timing = localrds::TimingProfile::Parse(opts["timing"]);
  if (!timing.ok()) {
    std::cerr << "localrds: --" << timing.status().message() << "\n";
    return false;
  }
  config.timing = *timing;
  if (opts["runtime"] != "local" && opts["runtime"] != "docker") {
    std::cerr << "localrds: --runtime must be local or docker, not '" << opts["runtime"] << "'\n";
    return false;
  }
  return true;
}

// "localrds: <message>" on stderr; the exit code of a failed start.
int StartFailed(const std::string& message) {
  std::cerr << "localrds: " << message << "\n";
  return 1;
}

// Creates and locks the data directory (one localrds per data directory: the lock is held until
// the process exits), protects it, claims the socket directory and opens the servers' key.
// Returns the exit code when that fails.
std::optional<int> PrepareDataDirectory(const std::string& data_dir,
                                        const std::string& pg_user_name) {
  const localrds::Layout paths(data_dir);
  std::error_code ec;
  fs::create_directories(paths.data_dir(), ec);
  if (ec) {
    std::cerr << "localrds: cannot create " << paths.data_dir() << ": " << ec.message() << "\n";
    return 1;
  }
  int lock_fd =
      open((paths.data_dir() / "localrds.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    std::cerr << "localrds: another localrds is using " << paths.data_dir() << "\n";
    return 1;
  }
  std::optional<localrds::RunAs> pg_user;
  if (geteuid() == 0) {
    MakeTraversable(paths.data_dir());
    auto r = localrds::RunAs::Lookup(pg_user_name);
    if (r.ok()) pg_user = *r;
  }
  if (localrds::Status st = ProtectDataDirectory(paths, pg_user); !st.ok()) {
    return StartFailed(st.message());
  }
  auto socket_dir =
      localrds::ClaimSocketDirectory(paths.SocketDirRecord(), pg_user, paths.SocketDir());
  if (!socket_dir.ok()) return StartFailed(socket_dir.status().message());
  if (auto key = localrds::ServerSecrets::Open(paths.KeyPath()); !key.ok()) {
    return StartFailed(key.status().message());
  }
  return std::nullopt;
}

// The runtime --runtime names: local processes or a container per server.
localrds::Result<std::unique_ptr<localrds::PgRuntime>> MakeRuntime(
    std::map<std::string, std::string>& opts, const localrds::Layout& layout) {
  if (opts["runtime"] == "docker") {
    localrds::DockerRuntime::Config dc;
    dc.data_dir = layout.data_dir();
    dc.runtime_dir = layout.RuntimeDir();
    dc.image = opts["docker-image"];
    dc.os_user = opts["pg-user"];
    auto r = localrds::DockerRuntime::Create(dc);
    if (!r.ok()) return r.status();
    return std::unique_ptr<localrds::PgRuntime>(std::move(*r));
  }
  auto r = localrds::LocalRuntime::Create(opts["pg-user"], opts["pg-bin-root"]);
  if (!r.ok()) return r.status();
  return std::unique_ptr<localrds::PgRuntime>(std::move(*r));
}

// The servers load the guard extension from the data directory (the build directory may be one
// the servers' OS user cannot read): copies it there for every installed major version.
localrds::Status InstallGuards(localrds::PgRuntime& runtime, const localrds::Layout& layout) {
  std::vector<std::string> majors;
  for (const auto& v : runtime.InstalledVersions()) majors.push_back(v.major);
  std::error_code ec;
  return localrds::InstallGuardLibraries(fs::read_symlink("/proc/self/exe", ec).parent_path(),
                                         layout.LibDir(), majors);
}

// Crash drills for tests: LOCALRDS_CRASH_AT=<kind>:<step> makes localrds SIGKILL itself right
// before that operation step runs, exactly as a kill -9 at that moment would.
void InstallCrashDrill() {
  const char* crash_at = std::getenv("LOCALRDS_CRASH_AT");
  if (!crash_at || !*crash_at) return;
  std::string spec = crash_at;
  size_t colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  int step = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
  localrds::OperationEngine::SetCrashHook([kind, step](const std::string& k, int s) {
    if (k == kind && s == step) {
      LogLine() << "LOCALRDS_CRASH_AT=" << kind << ":" << step << ": killing localrds now";
      raise(SIGKILL);
    }
    return true;
  });
}

// Serves the RDS API until SIGINT or SIGTERM, then shuts the control plane and its servers down.
int Serve(std::map<std::string, std::string>& opts, const localrds::EmulatorConfig& config,
          localrds::ControlPlane& cp, const localrds::Layout& layout,
          std::optional<localrds::CredentialStore> credentials) {
  boost::asio::io_context ioc;
  localrds::RequestGuard guard(opts["host"],
                               localrds::RequestGuard::ParseHostList(opts["allowed-hosts"]),
                               localrds::RequestGuard::LocalAddresses());
  if (credentials) {
    LogLine() << "strict signatures: " << credentials->size() << " access key"
              << (credentials->size() == 1 ? "" : "s") << " from " << opts["credentials"];
  }
  guard.SetAccounts(config.account_id, std::move(credentials));
  localrds::Router router(cp, ioc, std::move(guard));
  localrds::HttpServer server(ioc, router);
  localrds::Status st = server.Listen(opts["host"], ParseInt(opts, "port"));
  if (!st.ok()) {
    std::cerr << "localrds: " << st.message() << "\n";
    cp.Shutdown(false);
    return 1;
  }
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    LogLine() << "signal " << sig << ": shutting down";
    server.Stop();
  });
  LogLine() << "localrds " << LOCALRDS_VERSION << " serving the RDS API on http://" << opts["host"]
            << ":" << server.port() << " (runtime " << opts["runtime"] << ", region "
            << config.region << ", data " << layout.data_dir().string() << ")";
  server.Run(std::max(1, ParseInt(opts, "threads")));
  cp.Shutdown(true);
  LogLine() << "stopped";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opts = FlagDefaults();
  if (auto exit_code = ParseArguments(argc, argv, opts)) return *exit_code;
  signal(SIGPIPE, SIG_IGN);
  localrds::EmulatorConfig config;
  if (!ConfigFromFlags(opts, config)) return 2;
  std::optional<localrds::CredentialStore> credentials;
  if (!opts["credentials"].empty()) {
    auto loaded = localrds::LoadCredentialsFile(opts["credentials"]);
    if (!loaded.ok()) {
      std::cerr << "localrds: --credentials: " << loaded.status().message() << "\n";
      return 2;
    }
    credentials = std::move(*loaded);
  }
  std::unique_ptr<localrds::HttpSnsPublisher> sns;
  if (!opts["sns-endpoint-url"].empty()) {
    const char* key = std::getenv("AWS_ACCESS_KEY_ID");
    const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    auto made = localrds::HttpSnsPublisher::Make(
        opts["sns-endpoint-url"], key ? key : config.account_id, secret ? secret : "localrds");
    if (!made.ok()) {
      std::cerr << "localrds: " << made.status().message() << "\n";
      return 2;
    }
    sns = std::move(*made);
    config.sns_publisher = sns.get();
  }
  if (auto exit_code = PrepareDataDirectory(opts["data-dir"], opts["pg-user"])) return *exit_code;
  const localrds::Layout layout(opts["data-dir"]);  // with the socket directory just claimed

  auto runtime = MakeRuntime(opts, layout);
  if (!runtime.ok()) return StartFailed(runtime.status().message());
  if (localrds::Status st = InstallGuards(**runtime, layout); !st.ok()) {
    return StartFailed(st.message());
  }
  config.guard_library_dir = layout.LibDir();
  // A catalog from before regions moves into the scope its events name, else into this run's.
  auto catalog =
      localrds::Catalog::Open(layout.CatalogPath().string(), {config.account_id, config.region});
  if (!catalog.ok()) return StartFailed(catalog.status().message());
  InstallCrashDrill();
  localrds::ControlPlane cp(config, **catalog, **runtime, layout);
  LogLine() << "localrds " << LOCALRDS_VERSION << " recovering " << layout.data_dir().string();
  localrds::Status st = cp.Recover();
  if (!st.ok()) {
    std::cerr << "localrds: recovery failed: " << st.ToString() << "\n";
    return 1;
  }
  cp.StartBackground();
  return Serve(opts, config, cp, layout, std::move(credentials));
}
