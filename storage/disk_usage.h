// DiskUsage: what a file or directory tree takes on disk, as `du` counts it: the blocks allocated
// to every file (st_blocks * 512, so sparse files and preallocated WAL segments count as the
// filesystem holds them), not their lengths. Symbolic links are not followed; files that vanish
// during the walk (a server recycling WAL) are skipped. Pure apart from reading the tree;
// thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>

namespace localrds {

struct DiskUsage {
  int64_t bytes = 0;  //!< allocated bytes of every file and directory in the tree
  int64_t files = 0;  //!< entries walked
};

//! Walks `path` (a directory, or one file); an empty result when it is not there.
DiskUsage MeasureDiskUsage(const std::filesystem::path& path);

}  // namespace localrds
