// ClusterPool: a few initdb'd, never-started clusters per engine version, kept ready so that
// CreateDBInstance does not wait for initdb (≈0.7 s here): taking one is a rename.
//
// Ready clusters live in pool/<major>/ready-<n>; a cluster being made lives in tmp-<n> and is
// renamed into place only when complete, so a crash never leaves a half-made ready cluster
// (tmp-* directories are removed at start). A background thread refills the pool.
// Thread-safe; owns its thread; borrows the runtime and the layout, which must outlive it.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "emulator/runtime/pg_runtime.h"
#include "storage/layout.h"

namespace localrds {

class ClusterPool {
 public:
  ClusterPool(PgRuntime& runtime, const Layout& layout, std::vector<std::string> majors, int size);
  ~ClusterPool();

  void Start();
  void Stop();
  //! Moves a ready cluster to `pgdata` (which must not exist). False when none is ready.
  bool Take(const std::string& major, const std::filesystem::path& pgdata);
  //! initdb into `pgdata` via a temporary directory, with localrds' settings hook.
  Status MakeCluster(const std::string& major, const std::filesystem::path& pgdata);
  int ReadyCount(const std::string& major);

 private:
  void Loop();

  PgRuntime& runtime_;
  const Layout& layout_;
  const std::vector<std::string> majors_;
  const int size_;
  std::mutex mutex_;  //!< guards stopping_ and renames out of the pool
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace localrds
