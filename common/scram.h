// SCRAM-SHA-256 password verifiers in PostgreSQL's stored format.
//
// localrds never stores or logs a plaintext password: the API layer turns MasterUserPassword into
// a verifier at once, and the verifier is what the catalog keeps and what `CREATE/ALTER ROLE ...
// PASSWORD '<verifier>'` receives (PostgreSQL accepts pre-hashed SCRAM secrets). Thread-safe.
#pragma once

#include <string>

namespace localrds {

//! "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>" with a random 16-byte salt.
std::string ScramSha256Verifier(const std::string& password, int iterations = 4096);
//! Same, with a given raw salt (for tests against known vectors).
std::string ScramSha256VerifierWithSalt(const std::string& password, const std::string& salt,
                                        int iterations);
//! True when `password` matches `verifier` (used by tests and the password-change check).
bool ScramVerify(const std::string& verifier, const std::string& password);

}  // namespace localrds
