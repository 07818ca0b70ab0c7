// libFuzzer target: the XML writer. Whatever bytes a string holds (stored before today's input
// checks, or quoted from raw input in an error message), the documents localrds writes are UTF-8
// made of characters XML 1.0 carries; abort() otherwise.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/wire_codec.h"
#include "tests/fuzz/require_xml_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  localrds::RequireXmlText(localrds::XmlEscape(s));
  // Request ids are localrds' own (Router::NewRequestId), never a client's.
  localrds::RequireXmlText(
      localrds::WireCodec::EncodeError(localrds::Status::InvalidParameter(s), "req"));
  const nlohmann::json result = {{"DBInstances",
                                  {{{"DBInstanceIdentifier", s},
                                    {"AllocatedStorage", static_cast<int64_t>(size)},
                                    {"TagList", {{{"Key", s}, {"Value", s}}}}}}},
                                 {"Marker", s}};
  localrds::RequireXmlText(
      localrds::WireCodec::Builtin().EncodeResponse("DescribeDBInstances", result, "req"));
  return 0;
}
