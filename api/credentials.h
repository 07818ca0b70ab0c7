// Credentials: the access keys localrds accepts in strict-signature mode (--credentials FILE).
//
// One entry a line, `ACCESS_KEY SECRET ACCOUNT_ID`, separated by whitespace or commas; `#` starts
// a comment; blank lines are ignored. ACCOUNT_ID is 12 digits; a key may appear once. A parsed
// store is an immutable value, safe to share between threads.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "common/status.h"

namespace localrds {

//! One access key's secret and the account it belongs to.
struct AccessKeyEntry {
  std::string secret;
  std::string account;
};

//! Access key id → its secret and account.
using CredentialStore = std::map<std::string, AccessKeyEntry>;

//! The entries of a credentials file's text, or an InvalidParameterValue naming the first bad
//! line ("line 3: ...").
Result<CredentialStore> ParseCredentials(std::string_view text);
//! The same from a file; an unreadable file is an error too.
Result<CredentialStore> LoadCredentialsFile(const std::string& path);

}  // namespace localrds
