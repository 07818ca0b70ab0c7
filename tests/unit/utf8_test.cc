#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace localrds {

TEST(Utf8Test, DecodesWellFormedSequences) {
  char32_t cp = 0;
  EXPECT_EQ(DecodeUtf8("A", 0, &cp), 1u);
  EXPECT_EQ(cp, U'A');
  EXPECT_EQ(DecodeUtf8("\xc3\xa9", 0, &cp), 2u);
  EXPECT_EQ(cp, U'\u00e9');
  EXPECT_EQ(DecodeUtf8("\xe2\x82\xac", 0, &cp), 3u);
  EXPECT_EQ(cp, U'\u20ac');
  EXPECT_EQ(DecodeUtf8("\xf0\x9f\x98\x80", 0, &cp), 4u);
  EXPECT_EQ(cp, U'\U0001F600');
  EXPECT_EQ(DecodeUtf8("\xf4\x8f\xbf\xbf", 0, &cp), 4u);  // U+10FFFF, the last code point
  EXPECT_EQ(cp, char32_t{0x10ffff});
}

// The byte sequences of the report: each answered 500 before, as the strict decoder let them in.
TEST(Utf8Test, RefusesWhatRfc3629Forbids) {
  for (const char* bad : {
           "\xed\xa0\x80",      // a UTF-16 surrogate (U+D800)
           "\xed\xbf\xbf",      // the last surrogate
           "\xf4\x90\x80\x80",  // beyond U+10FFFF
           "\xe0\x80\xbc",      // overlong '<'
           "\xc0\xaf",          // overlong '/'
           "\xf0\x80\x80\xaf",  // overlong, four bytes
           "\x80",              // a continuation byte first
           "\xe2\x82",          // truncated
           "\xff",
       }) {
    char32_t cp = 0;
    EXPECT_EQ(DecodeUtf8(bad, 0, &cp), 0u) << bad;
    EXPECT_FALSE(IsValidUtf8(std::string("ok ") + bad)) << bad;
  }
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(""));
}

TEST(Utf8Test, NamesTheFirstCharacterXmlCannotCarry) {
  EXPECT_EQ(FirstNonXmlChar("plain \t\r\n text \xe2\x82\xac"), "");
  EXPECT_EQ(FirstNonXmlChar("a\xef\xbf\xbf"), "U+FFFF");
  EXPECT_EQ(FirstNonXmlChar("a\xef\xbf\xbe"), "U+FFFE");
  EXPECT_EQ(FirstNonXmlChar(std::string("a\x01", 2)), "U+0001");
  EXPECT_EQ(FirstNonXmlChar(std::string("a\0b", 3)), "U+0000");
  EXPECT_EQ(FirstNonXmlChar("\xef\xbf\xbd"), "");  // U+FFFD itself is fine
  EXPECT_FALSE(IsXmlChar(0x1b));
  EXPECT_TRUE(IsXmlChar(0x10000));
}

}  // namespace localrds
