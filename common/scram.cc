#include "common/scram.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstring>
#include <stdexcept>
#include <vector>

namespace localrds {
namespace {

std::string Base64(const unsigned char* data, size_t len) {
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
  out.resize(n);
  return out;
}

std::string Base64Decode(const std::string& in) {
  std::string out(3 * in.size() / 4 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return {};
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad++;
  if (in.size() > 1 && in[in.size() - 2] == '=') pad++;
  out.resize(n - pad);
  return out;
}

void Hmac(const unsigned char* key, size_t key_len, const char* msg, unsigned char* out) {
  unsigned int len = 0;
  HMAC(EVP_sha256(), key, static_cast<int>(key_len), reinterpret_cast<const unsigned char*>(msg),
       std::strlen(msg), out, &len);
}

}  // namespace

std::string ScramSha256VerifierWithSalt(const std::string& password, const std::string& salt,
                                        int iterations) {
  unsigned char salted[32];
  // PostgreSQL applies SASLprep to the password; for printable ASCII it is the identity, and RDS
  // only allows printable ASCII in MasterUserPassword.
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), 32, salted);
  unsigned char client_key[32], stored_key[32], server_key[32];
  Hmac(salted, 32, "Client Key", client_key);
  SHA256(client_key, 32, stored_key);
  Hmac(salted, 32, "Server Key", server_key);
  return "SCRAM-SHA-256$" + std::to_string(iterations) + ":" +
         Base64(reinterpret_cast<const unsigned char*>(salt.data()), salt.size()) + "$" +
         Base64(stored_key, 32) + ":" + Base64(server_key, 32);
}

std::string ScramSha256Verifier(const std::string& password, int iterations) {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1) throw std::runtime_error("RAND_bytes failed");
  return ScramSha256VerifierWithSalt(password, std::string(reinterpret_cast<char*>(salt), 16),
                                     iterations);
}

bool ScramVerify(const std::string& verifier, const std::string& password) {
  // SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>
  const std::string prefix = "SCRAM-SHA-256$";
  if (verifier.rfind(prefix, 0) != 0) return false;
  size_t colon = verifier.find(':', prefix.size());
  size_t dollar = verifier.find('$', prefix.size());
  if (colon == std::string::npos || dollar == std::string::npos || colon > dollar) return false;
  int iterations = std::atoi(verifier.substr(prefix.size(), colon - prefix.size()).c_str());
  std::string salt = Base64Decode(verifier.substr(colon + 1, dollar - colon - 1));
  return ScramSha256VerifierWithSalt(password, salt, iterations) == verifier;
}

}  // namespace localrds
