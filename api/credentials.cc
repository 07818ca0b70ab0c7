#include "api/credentials.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

namespace localrds {

Result<CredentialStore> ParseCredentials(std::string_view text) {
  CredentialStore store;
  int line_no = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    std::vector<std::string> fields;
    std::string field;
    for (char c : line) {
      if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
        if (!field.empty()) fields.push_back(std::move(field));
        field.clear();
      } else {
        field += c;
      }
    }
    if (!field.empty()) fields.push_back(std::move(field));
    if (fields.empty()) continue;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (fields.size() != 3) {
      return Status::InvalidParameter(where + "expected ACCESS_KEY SECRET ACCOUNT_ID, found " +
                                      std::to_string(fields.size()) + " field" +
                                      (fields.size() == 1 ? "" : "s"));
    }
    const std::string& account = fields[2];
    if (account.size() != 12 || !std::all_of(account.begin(), account.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      return Status::InvalidParameter(where + "the account id must be 12 digits, not '" +
                                      account.substr(0, 40) + "'");
    }
    if (store.count(fields[0])) {
      return Status::InvalidParameter(where + "the access key " + fields[0].substr(0, 128) +
                                      " is already listed");
    }
    store[fields[0]] = AccessKeyEntry{fields[1], account};
  }
  return store;
}

Result<CredentialStore> LoadCredentialsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidParameter("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidParameter("cannot read " + path);
  auto store = ParseCredentials(text.str());
  if (!store.ok()) return Status::InvalidParameter(path + ": " + store.status().message());
  return store;
}

}  // namespace localrds
