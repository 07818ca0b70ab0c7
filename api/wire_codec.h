// WireCodec: the AWS Query protocol for RDS, driven by the service model.
//
// Decoding turns flat query parameters ("Tags.Tag.1.Key", "Filters.Filter.2.Values.Value.1")
// into JSON keyed by RDS member names, converting integers and booleans and enforcing the
// model's required members. A scalar must be one in full ("20%00junk" is not the integer 20):
// anything else is InvalidParameterValue. Encoding turns a JSON result into the RDS XML response,
// with the model's element names (list members such as <DBInstance>, <Tag>, <EventCategory>). Using
// the model (api/generated/rds_model.json, from tools/gen_model.py) means no element name is typed
// by hand. Immutable after construction; thread-safe.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace localrds {

using QueryParams = std::map<std::string, std::string>;

//! A list member whose items are shared, immutable JSON objects (encoded without copying them):
//! DescribeDBInstances' DBInstances.
struct SharedList {
  std::string member;
  std::vector<std::shared_ptr<const nlohmann::json>> items;
};

class WireCodec {
 public:
  //! The model compiled into the binary.
  static const WireCodec& Builtin();
  explicit WireCodec(nlohmann::json model);

  bool HasOperation(const std::string& action) const;
  Result<nlohmann::json> DecodeRequest(const std::string& action, const QueryParams& params) const;
  //! `<ActionResponse xmlns=…><ActionResult>…</ActionResult><ResponseMetadata>…`
  //! `shared`, when given, supplies the output member of that name.
  std::string EncodeResponse(const std::string& action, const nlohmann::json& result,
                             const std::string& request_id,
                             const SharedList* shared = nullptr) const;
  static std::string EncodeError(const Status& status, const std::string& request_id);
  //! The same envelope for any AWS code (an injected fault's, e.g. "Throttling").
  static std::string EncodeError(const std::string& code, bool sender_fault,
                                 const std::string& message, const std::string& request_id);

 private:
  //! A shape of the model, compiled once so that encoding never looks names up.
  struct Shape {
    enum Type {
      kStructure,
      kList,
      kMap,
      kString,
      kInteger,
      kLong,
      kBoolean,
      kDouble,
      kTimestamp,
      kOther
    };
    struct Member {
      std::string name;   //!< member name (JSON key)
      std::string open;   //!< "<LocationName>"
      std::string close;  //!< "</LocationName>"
      std::string loc;    //!< wire name in queries
      const Shape* shape = nullptr;
    };
    Type type = kOther;
    std::vector<Member> members;        //!< structures, in the model's order
    std::vector<std::string> required;  //!< structures
    const Shape* item = nullptr;        //!< lists
    std::string item_loc;               //!< lists: member locationName, or "member"
    bool item_has_loc = false;
    bool flattened = false;
  };
  struct Operation {
    const Shape* input = nullptr;
    const Shape* output = nullptr;
    std::string wrapper;
  };

  //! Decodes the member at `key` (its wire name; "" for the request itself) into `out`;
  //! `present` says whether the request has it. One function per kind of shape below.
  Status DecodeMember(const Shape& shape, const std::string& key, const QueryParams& params,
                      nlohmann::json* out, bool* present) const;
  Status DecodeStructure(const Shape& shape, const std::string& key, const QueryParams& params,
                         nlohmann::json* out, bool* present) const;
  Status DecodeList(const Shape& shape, const std::string& key, const QueryParams& params,
                    nlohmann::json* out, bool* present) const;
  static Status DecodeScalar(Shape::Type type, const std::string& key, const QueryParams& params,
                             nlohmann::json* out, bool* present);
  void EncodeValue(const Shape& shape, const nlohmann::json& value, std::string& out) const;

  std::unordered_map<std::string, Shape> shapes_;  //!< node-based: pointers stay valid
  std::unordered_map<std::string, Operation> operations_;
  std::string xmlns_;
};

//! Parses an application/x-www-form-urlencoded string; MalformedQueryString on bad encoding.
Result<QueryParams> ParseQueryString(const std::string& body);
std::string XmlEscape(const std::string& s);

}  // namespace localrds
