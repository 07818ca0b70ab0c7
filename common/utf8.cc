#include "common/utf8.h"

#include <cstdio>

namespace localrds {

size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  // The sequence's length, the payload bits of its lead byte, and the smallest code point it may
  // carry (anything below is an overlong form).
  struct Lead {
    size_t len;
    char32_t bits;
    char32_t min;
  };
  Lead lead;
  if (c >= 0xc2 && c <= 0xdf) {
    lead = {2, static_cast<char32_t>(c & 0x1f), 0x80};
  } else if (c >= 0xe0 && c <= 0xef) {
    lead = {3, static_cast<char32_t>(c & 0x0f), 0x800};
  } else if (c >= 0xf0 && c <= 0xf4) {
    lead = {4, static_cast<char32_t>(c & 0x07), 0x10000};
  } else {
    return 0;  // a continuation byte first, C0/C1 (always overlong), or F5-FF (beyond U+10FFFF)
  }
  const size_t len = lead.len;
  char32_t v = lead.bits;
  if (s.size() - i < len) return 0;  // truncated
  for (size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
    v = (v << 6) | (byte(k) & 0x3f);
  }
  if (v < lead.min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  *cp = v;
  return len;
}

bool IsValidUtf8(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool IsXmlChar(char32_t cp) {
  return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

std::string FirstNonXmlChar(std::string_view s) {
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return "";  // not UTF-8 at all: IsValidUtf8 says so
    if (!IsXmlChar(cp)) {
      char text[16];
      std::snprintf(text, sizeof text, "U+%04X", static_cast<unsigned>(cp));
      return text;
    }
    i += n;
  }
  return "";
}

}  // namespace localrds
