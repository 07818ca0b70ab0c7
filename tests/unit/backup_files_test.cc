// The files behind backups: WAL file names, archive expiry, backup labels, the restorable mark.
#include "emulator/postgres/backup_files.h"

#include <gtest/gtest.h>

#include <fstream>

namespace localrds::backup_files {
namespace fs = std::filesystem;

class BackupFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("backup-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Touch(const std::string& name) { std::ofstream(dir_ / name) << name; }
  fs::path dir_;
};

TEST_F(BackupFilesTest, RecognisesArchivedWalNames) {
  EXPECT_TRUE(IsWalFileName("000000010000000000000002"));
  EXPECT_TRUE(IsWalFileName("000000010000000000000002.gz"));
  EXPECT_TRUE(IsWalFileName("000000010000000000000002.partial.gz"));
  EXPECT_TRUE(IsWalFileName("000000010000000000000002.00000028.backup.gz"));
  EXPECT_FALSE(IsWalFileName("00000002.history.gz"));
  EXPECT_FALSE(IsWalFileName("restorable-until"));
  EXPECT_FALSE(IsWalFileName("00000001000000000000000a"));  // PostgreSQL writes upper case
  EXPECT_FALSE(IsWalFileName("000000010000000000000002.gz.tmp"));
}

TEST_F(BackupFilesTest, ExpiryRemovesOnlyOlderSegmentsOfAnyTimeline) {
  for (const char* f :
       {"000000010000000000000001.gz", "000000010000000000000002.gz", "000000010000000000000003.gz",
        "000000020000000000000002.gz", "000000020000000000000004.gz", "00000002.history.gz",
        "000000010000000000000001.00000028.backup.gz", "restorable-until"}) {
    Touch(f);
  }
  EXPECT_EQ(RemoveWalBefore(dir_, "000000010000000000000003"), 4);
  EXPECT_TRUE(fs::exists(dir_ / "000000010000000000000003.gz"));
  EXPECT_TRUE(fs::exists(dir_ / "000000020000000000000004.gz"));
  EXPECT_TRUE(fs::exists(dir_ / "00000002.history.gz"));
  EXPECT_TRUE(fs::exists(dir_ / "restorable-until"));
  EXPECT_FALSE(fs::exists(dir_ / "000000020000000000000002.gz"));
  EXPECT_EQ(RemoveWalBefore(dir_, "not-a-segment"), 0);
}

TEST_F(BackupFilesTest, ReadsTheStartSegmentOfABackupLabel) {
  std::ofstream(dir_ / "backup_label")
      << "START WAL LOCATION: 0/9000028 (file 000000010000000000000009)\n"
         "CHECKPOINT LOCATION: 0/9000060\nBACKUP METHOD: streamed\n";
  auto f = StartWalFile(dir_);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, "000000010000000000000009");
  fs::remove(dir_ / "backup_label");
  EXPECT_FALSE(StartWalFile(dir_).ok());
}

TEST_F(BackupFilesTest, RestorableMarkRoundTripsAtomically) {
  EXPECT_FALSE(ReadRestorableUntil(dir_).has_value());
  ASSERT_TRUE(WriteRestorableUntil(dir_, 1764000000123).ok());
  EXPECT_EQ(ReadRestorableUntil(dir_), 1764000000123);
  EXPECT_FALSE(fs::exists(dir_ / "restorable-until.tmp"));
}

TEST_F(BackupFilesTest, FreezeLinksTheArchiveAsItIsNow) {
  fs::create_directories(dir_ / "archive");
  std::ofstream(dir_ / "archive" / "000000010000000000000001.gz") << "a";
  std::ofstream(dir_ / "archive" / "restorable-until") << "1";
  ASSERT_TRUE(FreezeArchive(dir_ / "archive", dir_ / "frozen").ok());
  std::ofstream(dir_ / "archive" / "000000010000000000000002.gz") << "later";
  EXPECT_TRUE(fs::exists(dir_ / "frozen" / "000000010000000000000001.gz"));
  EXPECT_FALSE(fs::exists(dir_ / "frozen" / "000000010000000000000002.gz"));
  EXPECT_FALSE(fs::exists(dir_ / "frozen" / "restorable-until"));
  EXPECT_EQ(fs::hard_link_count(dir_ / "frozen" / "000000010000000000000001.gz"), 2u);
}

TEST_F(BackupFilesTest, CopyTreeIsAllOrNothing) {
  fs::create_directories(dir_ / "src" / "sub");
  std::ofstream(dir_ / "src" / "sub" / "f") << "data";
  ASSERT_TRUE(CopyTree(dir_ / "src", dir_ / "dst", false).ok());
  EXPECT_TRUE(fs::exists(dir_ / "dst" / "sub" / "f"));
  EXPECT_FALSE(fs::exists(dir_ / "dst.tmp"));
  EXPECT_FALSE(CopyTree(dir_ / "missing", dir_ / "dst2", false).ok());
  EXPECT_FALSE(fs::exists(dir_ / "dst2"));
}

TEST_F(BackupFilesTest, RefusesPathsThatWouldBreakTheArchiveCommand) {
  EXPECT_TRUE(CheckConfigSafePath("/var/lib/localrds/archive/db-ABC").ok());
  EXPECT_FALSE(CheckConfigSafePath("/tmp/it's").ok());
  EXPECT_FALSE(CheckConfigSafePath("/tmp/$HOME").ok());
  EXPECT_NE(ArchiveCommand("/a/b").find("/a/b/%f.gz"), std::string::npos);
}

}  // namespace localrds::backup_files
