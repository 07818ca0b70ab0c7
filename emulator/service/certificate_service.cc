#include "emulator/service/certificate_service.h"

#include <algorithm>
#include <cctype>

#include "common/time_util.h"
#include "emulator/core/paging.h"
#include "emulator/core/request.h"

namespace localrds {

Status CheckCaIdentifier(const std::string& id) {
  if (FindCaSpec(id)) return Status::Ok();
  return Status::Error(AwsError::kCertificateNotFound, "Certificate " + id + " not found");
}

Result<nlohmann::json> CertificateService::DescribeCertificates(const nlohmann::json& req) {
  auto page = PageArgs(req, 20, 100, 100);
  if (!page.ok()) return page.status();
  std::optional<std::string> wanted = ReqString(req, "CertificateIdentifier");
  if (wanted) {
    std::string lower = *wanted;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    LOCALRDS_RETURN_IF_ERROR(CheckCaIdentifier(lower));
    wanted = lower;
  }
  const std::string region = RequestScope(req, Scope{"", default_region_}).region;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& spec : CaSpecs()) {
    if (wanted && *wanted != spec.id) continue;
    auto ca = tls_.Get(spec.id);
    if (!ca.ok()) return ca.status();
    list.push_back({{"CertificateIdentifier", spec.id},
                    {"CertificateType", "CA"},
                    {"Thumbprint", ca->thumbprint},
                    {"ValidFrom", FormatIso8601(ca->valid_from_ms, false)},
                    {"ValidTill", FormatIso8601(ca->valid_till_ms, false)},
                    {"CertificateArn", "arn:aws:rds:" + region + "::cert:" + spec.id},
                    {"CustomerOverride", false}});
  }
  nlohmann::json out = OffsetPage(list, "Certificates", *page);
  out["DefaultCertificateForNewLaunches"] = kDefaultCaIdentifier;
  return out;
}

}  // namespace localrds
