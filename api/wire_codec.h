// WireCodec: the AWS Query protocol for RDS, driven by the service model.
//
// Decoding turns flat query parameters ("Tags.Tag.1.Key", "Filters.Filter.2.Values.Value.1")
// into JSON keyed by RDS member names, converting integers and booleans and enforcing the
// model's required members. Encoding turns a JSON result into the RDS XML response, with the
// model's element names (list members such as <DBInstance>, <Tag>, <EventCategory>). Using the
// model (api/generated/rds_model.json, from tools/gen_model.py) means no element name is typed
// by hand. Immutable after construction; thread-safe.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace localrds {

using QueryParams = std::map<std::string, std::string>;

class WireCodec {
 public:
  //! The model compiled into the binary.
  static const WireCodec& Builtin();
  explicit WireCodec(nlohmann::json model);

  bool HasOperation(const std::string& action) const;
  Result<nlohmann::json> DecodeRequest(const std::string& action, const QueryParams& params) const;
  //! `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…`
  std::string EncodeResponse(const std::string& action, const nlohmann::json& result,
                             const std::string& request_id) const;
  static std::string EncodeError(const Status& status, const std::string& request_id);

 private:
  Status DecodeMember(const std::string& shape_name, const std::string& key,
                      const QueryParams& params, nlohmann::json* out, bool* present) const;
  void EncodeValue(const std::string& shape_name, const nlohmann::json& value,
                   std::string& out) const;

  nlohmann::json model_;
  std::string xmlns_;
};

//! Parses an application/x-www-form-urlencoded string; MalformedQueryString on bad encoding.
Result<QueryParams> ParseQueryString(const std::string& body);
std::string XmlEscape(const std::string& s);

}  // namespace localrds
