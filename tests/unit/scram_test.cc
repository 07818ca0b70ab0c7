#include "common/scram.h"

#include <gtest/gtest.h>

namespace localrds {

TEST(ScramTest, MatchesAnIndependentlyComputedVerifier) {
  // Computed with Python's hashlib/hmac (PBKDF2-HMAC-SHA256, RFC 5802 keys).
  EXPECT_EQ(
      ScramSha256VerifierWithSalt("secret99", "0123456789abcdef", 4096),
      "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$g2qt7zlE/GOakY4Gfr+yP5rUmADGs+3VBBmUr9Ycj8Y=:"
      "vp5LdiPoSu2Ef+avQxXt2VTVl7sH3FNioxE9QpMBV4c=");
}

TEST(ScramTest, RandomSaltVerifiesOnlyTheRightPassword) {
  std::string v = ScramSha256Verifier("secret99");
  EXPECT_EQ(v.rfind("SCRAM-SHA-256$4096:", 0), 0u);
  EXPECT_EQ(v.find("secret99"), std::string::npos);
  EXPECT_TRUE(ScramVerify(v, "secret99"));
  EXPECT_FALSE(ScramVerify(v, "secret98"));
  EXPECT_NE(v, ScramSha256Verifier("secret99"));  // salted
}

}  // namespace localrds
