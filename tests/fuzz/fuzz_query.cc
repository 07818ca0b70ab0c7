// libFuzzer target: a request body as the Query API reads it (ParseQueryString, then the
// decoder of the action it names, or of one picked by its length). Invariants, checked with
// abort(): a decoded request holds only strings that are UTF-8 made of characters XML 1.0
// carries (what is stored is echoed later), and every answer the API could send for it (the
// error envelope, the values escaped) is well-formed in the same sense.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/wire_codec.h"
#include "tests/fuzz/require_xml_text.h"

namespace {

void RequireDecodedStrings(const nlohmann::json& j) {
  if (j.is_string()) localrds::RequireXmlText(j.get_ref<const std::string&>());
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      localrds::RequireXmlText(key);
      RequireDecodedStrings(value);
    }
  }
  if (j.is_array()) {
    for (const auto& value : j) RequireDecodedStrings(value);
  }
}

constexpr const char* kActions[] = {"CreateDBInstance",    "ModifyDBInstance",
                                    "DescribeDBInstances", "DeleteDBInstance",
                                    "CreateDBSnapshot",    "RestoreDBInstanceToPointInTime",
                                    "AddTagsToResource",   "CreateDBInstanceReadReplica",
                                    "DescribeEvents",      "RestoreDBInstanceFromDBSnapshot"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  auto params = localrds::ParseQueryString(body);
  if (!params.ok()) {
    localrds::RequireXmlText(localrds::WireCodec::EncodeError(params.status(), "req"));
    return 0;
  }
  auto named = params->find("Action");
  const std::string action = named != params->end()
                                 ? named->second
                                 : kActions[size % (sizeof kActions / sizeof kActions[0])];
  for (const auto& [key, value] : *params) {
    localrds::RequireXmlText(localrds::XmlEscape(key));
    localrds::RequireXmlText(localrds::XmlEscape(value));
  }
  auto decoded = localrds::WireCodec::Builtin().DecodeRequest(action, *params);
  if (decoded.ok()) {
    RequireDecodedStrings(*decoded);
  } else {
    localrds::RequireXmlText(localrds::WireCodec::EncodeError(decoded.status(), "req"));
  }
  return 0;
}
