// CertificateService: DescribeCertificates, RDS's CA certificates as the localrds CAs that
// really issue every server's certificate (emulator/postgres/tls.h): each identifier's
// Thumbprint and validity are those of the localrds CA behind it.
//
// Thread-safety: thread-safe. A call may make a CA the first time it is asked for (an RSA 4096
// key takes a second or two): call it from the HTTP handler's worker, as every action is.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/status.h"
#include "emulator/postgres/tls.h"

namespace localrds {

class CertificateService {
 public:
  //! Borrows `tls`, which must outlive it; `default_region` names the CertificateArn of a request
  //! that carries no Region.
  CertificateService(CertificateAuthorities& tls, std::string default_region)
      : tls_(tls), default_region_(std::move(default_region)) {}

  //! CertificateIdentifier (any case), MaxRecords (20-100), Marker; Filters are accepted and
  //! ignored, as RDS documents ("isn't currently supported"). An unknown identifier is
  //! CertificateNotFound.
  Result<nlohmann::json> DescribeCertificates(const nlohmann::json& req);

 private:
  CertificateAuthorities& tls_;
  const std::string default_region_;
};

//! CertificateNotFound unless `id` names one of RDS's CAs (CreateDBInstance, ModifyDBInstance,
//! restores and replicas with CACertificateIdentifier).
Status CheckCaIdentifier(const std::string& id);

}  // namespace localrds
