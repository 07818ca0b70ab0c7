// Small helpers for the SQL localrds sends to its servers. Header-only, pure.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace localrds {

//! `s` as an SQL string literal ('it''s').
inline std::string SqlLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

//! The parts of `s` between `sep`s ("a,,b," → a, "", b, "").
inline std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

}  // namespace localrds
