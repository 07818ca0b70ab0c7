// The directories a PostgreSQL server's OS user must own: data directories (and the archive,
// snapshot and instance directories around them), and the socket directory every server of a
// data directory shares. Both runtimes use them.
//
// Thread-safe (plain file-system calls).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/subprocess.h"

namespace localrds {

//! Creates `dir` (and its parents) and gives it to `owner` (when localrds runs as root), 0700.
Status PrepareOwnedDirectory(const std::filesystem::path& dir, const std::optional<RunAs>& owner);
//! Creates the shared socket directory safely: it sits in /tmp under a predictable name, so a
//! link planted there is never followed and something that is not ours is never chowned.
Status PrepareSocketDirectory(const std::filesystem::path& dir, const std::optional<RunAs>& owner);

//! Makes sure localrds has a socket directory nobody else made: the one `record` names when it
//! is still a real directory of localrds or `owner` (0700 or less), else a new random
//! /tmp/localrds-XXXXXX (mkdtemp, so nobody can take the name first), written to `record`.
//! Without a record, `legacy` (the /tmp/localrds-<hash> of earlier versions, which servers still
//! running from before an upgrade listen in) is kept when it passes the same checks. Returns the
//! directory.
Result<std::filesystem::path> ClaimSocketDirectory(const std::filesystem::path& record,
                                                   const std::optional<RunAs>& owner,
                                                   const std::filesystem::path& legacy = {});

//! The file name of the guard extension built for a major version ("localrds_guard_15.so").
std::string GuardLibraryName(const std::string& major);
//! Copies localrds_guard_<major>.so for each of `majors` from `from` into `to` (created 0755,
//! owned by localrds: the servers can read the library, never replace it), atomically.
Status InstallGuardLibraries(const std::filesystem::path& from, const std::filesystem::path& to,
                             const std::vector<std::string>& majors);

//! A libpq password file (PGPASSFILE) for one command, removed when this goes out of scope.
class PassFile {
 public:
  //! Writes `*:*:*:<user>:<password>` to a new randomly named file in `dir` (the socket
  //! directory: private to the servers' OS user, and mounted into the docker runtime's job
  //! containers), 0600, owned by `owner`.
  static Result<std::unique_ptr<PassFile>> Create(const std::filesystem::path& dir,
                                                  const std::optional<RunAs>& owner,
                                                  const std::string& user,
                                                  const std::string& password);
  ~PassFile();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit PassFile(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

//! The name of the OS user localrds runs as (its effective uid).
std::string CurrentOsUser();

}  // namespace localrds
