// UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing beyond U+10FFFF), and
// the characters XML 1.0 can carry. The API refuses input that is not both, and its XML writer
// replaces whatever slipped in earlier, so no stored string can make a later response invalid.
// Pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace localrds {

//! Decodes the sequence at s[i]: stores its code point in *cp and returns its length (1-4), or
//! returns 0 when the bytes there are not well-formed UTF-8.
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp);

//! Whether `s` is well-formed UTF-8.
bool IsValidUtf8(std::string_view s);

//! Whether XML 1.0 may carry `cp` (its Char production: tab, newline, carriage return,
//! U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF).
bool IsXmlChar(char32_t cp);

//! The first code point of well-formed UTF-8 `s` that XML 1.0 cannot carry, as "U+FFFF"; ""
//! when there is none.
std::string FirstNonXmlChar(std::string_view s);

}  // namespace localrds
