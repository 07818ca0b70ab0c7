// The directories a PostgreSQL server's OS user must own: data directories (and the archive,
// snapshot and instance directories around them), and the socket directory every server of a
// data directory shares. Both runtimes use them.
//
// Thread-safe (plain file-system calls).
#pragma once

#include <filesystem>
#include <optional>

#include "common/status.h"
#include "common/subprocess.h"

namespace localrds {

//! Creates `dir` (and its parents) and gives it to `owner` (when localrds runs as root), 0700.
Status PrepareOwnedDirectory(const std::filesystem::path& dir, const std::optional<RunAs>& owner);
//! Creates the shared socket directory safely: it sits in /tmp under a predictable name, so a
//! link planted there is never followed and something that is not ours is never chowned.
Status PrepareSocketDirectory(const std::filesystem::path& dir, const std::optional<RunAs>& owner);

}  // namespace localrds
