// Credentials (api/credentials.h): the --credentials file of strict-signature mode.
#include "api/credentials.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace localrds {

TEST(CredentialsTest, EntriesCommentsAndSeparators) {
  auto store = ParseCredentials(
      "# access key, secret, account\n"
      "\n"
      "AKIDALICE  alice/secret+1   111111111111\n"
      "AKIDBOB,bob-secret,222222222222   # a trailing comment\n"
      "  123456789012 \t s3cr3t , 123456789012\r\n");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ(store->size(), 3u);
  EXPECT_EQ(store->at("AKIDALICE").secret, "alice/secret+1");
  EXPECT_EQ(store->at("AKIDALICE").account, "111111111111");
  EXPECT_EQ(store->at("AKIDBOB").secret, "bob-secret");
  EXPECT_EQ(store->at("123456789012").account, "123456789012");
  EXPECT_TRUE(ParseCredentials("").ok());
}

TEST(CredentialsTest, BadLinesAreNamed) {
  auto message = [](std::string_view text) {
    auto r = ParseCredentials(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(message("# keys\nAKID secret\n"),
            "line 2: expected ACCESS_KEY SECRET ACCOUNT_ID, found 2 fields");
  EXPECT_EQ(message("AKID secret 111111111111 extra"),
            "line 1: expected ACCESS_KEY SECRET ACCOUNT_ID, found 4 fields");
  EXPECT_EQ(message("AKID secret 12345"), "line 1: the account id must be 12 digits, not '12345'");
  EXPECT_EQ(message("AKID secret 11111111111x"),
            "line 1: the account id must be 12 digits, not '11111111111x'");
  EXPECT_EQ(message("AKID a 111111111111\n\nAKID b 222222222222\n"),
            "line 3: the access key AKID is already listed");
}

TEST(CredentialsTest, Files) {
  auto dir = std::filesystem::temp_directory_path() /
             ("localrds-credentials-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "creds").string();
  std::ofstream(path) << "AKID secret 111111111111\n";
  auto store = LoadCredentialsFile(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->at("AKID").secret, "secret");
  std::ofstream(path) << "AKID secret\n";
  EXPECT_EQ(LoadCredentialsFile(path).status().message(),
            path + ": line 1: expected ACCESS_KEY SECRET ACCOUNT_ID, found 2 fields");
  EXPECT_EQ(LoadCredentialsFile((dir / "missing").string()).status().message(),
            "cannot read " + (dir / "missing").string());
  std::filesystem::remove_all(dir);
}

}  // namespace localrds
