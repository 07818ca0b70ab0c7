// The files behind backups: the WAL archive (gzip'd segments written by PostgreSQL's
// archive_command), base backups, and the copies a restore makes. No catalog, no RDS rules.
//
// Archive layout, archive/<resource-id>/:
//   <24-hex segment>[.partial|.backup].gz, <tli>.history.gz   what archive_command wrote
//   restorable-until                                          LatestRestorableTime, in ms
// Every function is thread-safe for different directories; they block (file copies), so call
// them from operation workers or the reconciler only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/status.h"

namespace localrds::backup_files {

//! PostgreSQL's archive_command for `archive`: stores %p as <archive>/%f.gz (written to a
//! temporary name, fsynced, renamed). A segment that is already there is accepted when its
//! content is the same and refused (non-zero exit, PostgreSQL retries) when it differs.
std::string ArchiveCommand(const std::filesystem::path& archive);
//! PostgreSQL's restore_command reading from `wal_dir` (a frozen copy of an archive).
std::string RestoreCommand(const std::filesystem::path& wal_dir);
//! Paths end up inside single-quoted configuration values and double-quoted shell words:
//! refuses the characters that would break out of them.
Status CheckConfigSafePath(const std::filesystem::path& p);

//! True for a WAL file name as archived: 24 hex digits, optionally .partial or .backup.
bool IsWalFileName(const std::string& name);
//! The WAL segment a base backup starts in ("START WAL LOCATION … (file X)" of backup_label).
Result<std::string> StartWalFile(const std::filesystem::path& backup_dir);
//! Removes the archived WAL files (any timeline) that precede `first_kept` (a segment name),
//! which is the start segment of the oldest base backup still kept. Returns how many it removed.
int RemoveWalBefore(const std::filesystem::path& archive, const std::string& first_kept);

//! LatestRestorableTime of an archive: every commit up to this time is archived.
std::optional<int64_t> ReadRestorableUntil(const std::filesystem::path& archive);
Status WriteRestorableUntil(const std::filesystem::path& archive, int64_t ms);

//! Copies into `dest` (created with `archive`'s owner and mode) every archived file of `archive`
//! it does not have yet, byte for byte with owner and mode, each through a temporary name,
//! fsynced and renamed (archived files never change); removes what an interrupted call left
//! under a temporary name. Returns how many it copied.
Result<int> CopyNewArchiveFiles(const std::filesystem::path& archive,
                                const std::filesystem::path& dest);
//! Hard-links every file of `archive` into `dest` (created afresh): a frozen, cheap view of the
//! archive as it is now, which later archiving or expiry cannot change.
Status FreezeArchive(const std::filesystem::path& archive, const std::filesystem::path& dest);

//! Copies `src` to `dst` (cp -a: owners and modes kept; `link` hard-links files instead of
//! copying them, for immutable backups), through `dst`.tmp and an atomic rename after syncfs.
//! A `dst` that exists already counts as done.
Status CopyTree(const std::filesystem::path& src, const std::filesystem::path& dst, bool link);
//! Flushes the file system that holds `dir` (syncfs): cheaper than an fsync per file.
Status SyncFileSystem(const std::filesystem::path& dir);

}  // namespace localrds::backup_files
