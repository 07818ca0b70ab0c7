#include "api/wire_codec.h"

#include <algorithm>
#include <boost/url/parse_query.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/utf8.h"

extern "C" const char kRdsModelJson[];  // api/generated/rds_model.json, embedded by CMake

namespace localrds {
namespace {

bool HasPrefix(const QueryParams& params, const std::string& prefix) {
  auto it = params.lower_bound(prefix);
  return it != params.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// All of `raw` as a decimal integer (an optional sign, then digits), or nothing. Reads the whole
// string: "20%00junk" decodes to "20\0junk", which strtoll would have read as 20.
std::optional<int64_t> ParseInteger(std::string_view raw) {
  if (raw.size() > 1 && raw[0] == '+' && raw[1] != '-') raw.remove_prefix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (raw.empty() || ec != std::errc() || end != raw.data() + raw.size()) return std::nullopt;
  return v;
}

// All of `raw` as a finite decimal number, or nothing.
std::optional<double> ParseDouble(std::string_view raw) {
  if (raw.size() > 1 && raw[0] == '+' && raw[1] != '-') raw.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (raw.empty() || ec != std::errc() || end != raw.data() + raw.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

namespace {
// Escapes the five XML specials and writes U+FFFD for every byte that is not well-formed UTF-8
// and every character XML 1.0 cannot carry (control characters, U+FFFE, U+FFFF), so the
// document stays well-formed whatever the string holds.
void AppendXmlEscaped(const std::string& s, std::string& out) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0 || !IsXmlChar(cp)) {
      out += kReplacement;
      i += n == 0 ? 1 : n;
      continue;
    }
    switch (cp) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.append(s, i, n);
    }
    i += n;
  }
}
}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  AppendXmlEscaped(s, out);
  return out;
}

namespace {
// Decodes a key or value that Boost.URL has already validated (every '%' has two hex digits).
std::string FormDecode(boost::urls::pct_string_view encoded) {
  std::string_view s(encoded.data(), encoded.size());
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

Result<QueryParams> ParseQueryString(const std::string& body) {
  QueryParams out;
  if (body.empty()) return out;
  auto parsed = boost::urls::parse_query(body);
  if (!parsed)
    return Status::Error(AwsError::kMalformedQueryString, "The query string is malformed.");
  for (auto param : *parsed) {
    if (param.key.empty()) continue;
    out[FormDecode(param.key)] = param.has_value ? FormDecode(param.value) : std::string();
  }
  return out;
}

const WireCodec& WireCodec::Builtin() {
  static const WireCodec codec(nlohmann::json::parse(kRdsModelJson));
  return codec;
}

WireCodec::WireCodec(nlohmann::json model) {
  xmlns_ = model["metadata"]["xmlNamespace"].get<std::string>();
  static const std::map<std::string, Shape::Type> kTypes = {
      {"structure", Shape::kStructure}, {"list", Shape::kList},       {"map", Shape::kMap},
      {"string", Shape::kString},       {"integer", Shape::kInteger}, {"long", Shape::kLong},
      {"boolean", Shape::kBoolean},     {"double", Shape::kDouble},   {"float", Shape::kDouble},
      {"timestamp", Shape::kTimestamp}};
  const nlohmann::json& shapes = model["shapes"];
  for (auto& [name, js] : shapes.items()) shapes_[name];  // create every node first
  for (auto& [name, js] : shapes.items()) {
    Shape& shape = shapes_[name];
    auto t = kTypes.find(js["type"].get<std::string>());
    shape.type = t == kTypes.end() ? Shape::kOther : t->second;
    shape.flattened = js.value("flattened", false);
    if (js.contains("members")) {
      for (auto& [mname, m] : js["members"].items()) {
        Shape::Member member;
        member.name = mname;
        member.loc = m.value("locationName", mname);
        member.open = "<" + member.loc + ">";
        member.close = "</" + member.loc + ">";
        member.shape = &shapes_.at(m["shape"].get<std::string>());
        shape.members.push_back(std::move(member));
      }
    }
    if (js.contains("required")) {
      for (const auto& r : js["required"]) shape.required.push_back(r.get<std::string>());
    }
    if (js.contains("member")) {
      shape.item = &shapes_.at(js["member"]["shape"].get<std::string>());
      shape.item_has_loc = js["member"].contains("locationName");
      shape.item_loc = js["member"].value("locationName", std::string("member"));
    }
  }
  for (auto& [name, op] : model["operations"].items()) {
    Operation o;
    if (op.contains("input")) o.input = &shapes_.at(op["input"].get<std::string>());
    if (op.contains("output")) {
      o.output = &shapes_.at(op["output"].get<std::string>());
      o.wrapper = op["resultWrapper"].get<std::string>();
    }
    operations_[name] = o;
  }
}

bool WireCodec::HasOperation(const std::string& action) const {
  return operations_.count(action) > 0;
}

Status WireCodec::DecodeMember(const Shape& shape, const std::string& key,
                               const QueryParams& params, nlohmann::json* out,
                               bool* present) const {
  *present = false;
  if (shape.type == Shape::kStructure) return DecodeStructure(shape, key, params, out, present);
  if (shape.type == Shape::kList) return DecodeList(shape, key, params, out, present);
  if (shape.type == Shape::kMap) return Status::Ok();  // RDS inputs have no maps
  return DecodeScalar(shape.type, key, params, out, present);
}

Status WireCodec::DecodeStructure(const Shape& shape, const std::string& key,
                                  const QueryParams& params, nlohmann::json* out,
                                  bool* present) const {
  std::string prefix = key.empty() ? "" : key + ".";
  if (!key.empty() && !HasPrefix(params, prefix)) return Status::Ok();
  nlohmann::json obj = nlohmann::json::object();
  for (const auto& member : shape.members) {
    // An optional string parameter of the request sent empty (`EngineVersion=`, `DBName=`, as
    // Terraform sends them when unset) is absent, as RDS takes it. Nested values keep their
    // empty strings (a tag's empty Value is a value); an empty number or flag stays an error.
    if (key.empty() && member.shape->type == Shape::kString) {
      auto given = params.find(member.loc);
      if (given != params.end() && given->second.empty() &&
          std::find(shape.required.begin(), shape.required.end(), member.name) ==
              shape.required.end()) {
        continue;
      }
    }
    bool member_present = false;
    nlohmann::json value;
    LOCALRDS_RETURN_IF_ERROR(
        DecodeMember(*member.shape, prefix + member.loc, params, &value, &member_present));
    if (member_present) obj[member.name] = std::move(value);
  }
  for (const auto& req : shape.required) {
    if (!obj.contains(req)) {
      return Status::Error(AwsError::kMissingParameter,
                           "The request must contain the parameter " + req);
    }
  }
  *out = std::move(obj);
  *present = true;
  return Status::Ok();
}

Status WireCodec::DecodeList(const Shape& shape, const std::string& key, const QueryParams& params,
                             nlohmann::json* out, bool* present) const {
  std::vector<std::string> item_prefixes;
  if (shape.flattened) {
    item_prefixes.push_back(key + ".");
  } else {
    item_prefixes.push_back(key + "." + shape.item_loc + ".");
    if (shape.item_has_loc) item_prefixes.push_back(key + ".member.");
  }
  nlohmann::json arr = nlohmann::json::array();
  auto whole = params.find(key);
  bool any = whole != params.end() && whole->second.empty();  // "Tags=" is an empty list
  for (const auto& item_prefix : item_prefixes) {
    for (int i = 1;; ++i) {
      if (i > 1000) return Status::InvalidParameter("Too many list members in " + key);
      bool item_present = false;
      nlohmann::json item;
      LOCALRDS_RETURN_IF_ERROR(
          DecodeMember(*shape.item, item_prefix + std::to_string(i), params, &item, &item_present));
      if (!item_present) break;
      arr.push_back(std::move(item));
      any = true;
    }
    if (!arr.empty()) break;
  }
  if (any) {
    *out = std::move(arr);
    *present = true;
  }
  return Status::Ok();
}

Status WireCodec::DecodeScalar(Shape::Type type, const std::string& key, const QueryParams& params,
                               nlohmann::json* out, bool* present) {
  auto it = params.find(key);
  if (it == params.end()) return Status::Ok();
  const std::string& raw = it->second;
  *present = true;
  if (!IsValidUtf8(raw)) {
    return Status::InvalidParameter("The value of parameter " + key + " is not valid UTF-8.");
  }
  if (type == Shape::kInteger || type == Shape::kLong) {
    auto v = ParseInteger(raw);
    if (!v || (type == Shape::kInteger && (*v > INT32_MAX || *v < INT32_MIN))) {
      return Status::InvalidParameter("Invalid value '" + raw + "' for parameter " + key +
                                      ": it must be an integer.");
    }
    *out = *v;
  } else if (type == Shape::kBoolean) {
    // The whole value, compared as a std::string: "true\0junk" is not "true".
    std::string l = Lower(raw);
    if (l != "true" && l != "false") {
      return Status::InvalidParameter("Invalid value '" + raw + "' for parameter " + key +
                                      ": it must be true or false.");
    }
    *out = (l == "true");
  } else if (type == Shape::kDouble) {
    auto v = ParseDouble(raw);
    if (!v) return Status::InvalidParameter("Invalid value '" + raw + "' for parameter " + key);
    *out = *v;
  } else {
    // Stored strings are echoed in later responses: XML must be able to carry them (a number or
    // flag with a stray character fails its own parse above).
    if (std::string c = FirstNonXmlChar(raw); !c.empty()) {
      return Status::InvalidParameter("The value of parameter " + key + " contains the character " +
                                      c + ", which is not allowed.");
    }
    *out = raw;  // string, timestamp (parsed where used), blob
  }
  return Status::Ok();
}

Result<nlohmann::json> WireCodec::DecodeRequest(const std::string& action,
                                                const QueryParams& params) const {
  auto op = operations_.find(action);
  if (op == operations_.end() || op->second.input == nullptr) return nlohmann::json::object();
  nlohmann::json out;
  bool present = false;
  LOCALRDS_RETURN_IF_ERROR(DecodeMember(*op->second.input, "", params, &out, &present));
  return out;
}

void WireCodec::EncodeValue(const Shape& shape, const nlohmann::json& value,
                            std::string& out) const {
  switch (shape.type) {
    case Shape::kStructure: {
      if (!value.is_object()) return;
      for (const auto& member : shape.members) {
        auto it = value.find(member.name);
        if (it == value.end() || it->is_null()) continue;
        if (member.shape->type == Shape::kList && member.shape->flattened) {
          EncodeValue(*member.shape, *it, out);
          continue;
        }
        out += member.open;
        EncodeValue(*member.shape, *it, out);
        out += member.close;
      }
      return;
    }
    case Shape::kList: {
      if (!value.is_array()) return;
      for (const auto& item : value) {
        out += '<';
        out += shape.item_loc;
        out += '>';
        EncodeValue(*shape.item, item, out);
        out += "</";
        out += shape.item_loc;
        out += '>';
      }
      return;
    }
    default:
      if (value.is_string()) {
        AppendXmlEscaped(value.get_ref<const std::string&>(), out);
      } else if (value.is_boolean()) {
        out += value.get<bool>() ? "true" : "false";
      } else if (value.is_number_integer()) {
        out += std::to_string(value.get<int64_t>());
      } else if (value.is_number()) {
        out += value.dump();
      }
  }
}

std::string WireCodec::EncodeResponse(const std::string& action, const nlohmann::json& result,
                                      const std::string& request_id,
                                      const SharedList* shared) const {
  const Operation& op = operations_.at(action);
  std::string out;
  out.reserve(4096);
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + action + "Response xmlns=\"" + xmlns_ +
         "\">";
  if (op.output != nullptr) {
    out += "<" + op.wrapper + ">";
    EncodeValue(*op.output, result, out);
    if (shared != nullptr) {
      for (const auto& member : op.output->members) {
        if (member.name != shared->member || member.shape->type != Shape::kList) continue;
        out += member.open;
        for (const auto& item : shared->items) {
          out += '<';
          out += member.shape->item_loc;
          out += '>';
          EncodeValue(*member.shape->item, *item, out);
          out += "</";
          out += member.shape->item_loc;
          out += '>';
        }
        out += member.close;
      }
    }
    out += "</" + op.wrapper + ">";
  }
  out += "<ResponseMetadata><RequestId>" + request_id + "</RequestId></ResponseMetadata></" +
         action + "Response>";
  return out;
}

std::string WireCodec::EncodeError(const Status& status, const std::string& request_id) {
  const AwsErrorInfo& info = status.info();
  return EncodeError(info.code, info.sender_fault, status.message(), request_id);
}

std::string WireCodec::EncodeError(const std::string& code, bool sender_fault,
                                   const std::string& message, const std::string& request_id) {
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>") +
         (sender_fault ? "Sender" : "Receiver") + "</Type><Code>" + XmlEscape(code) +
         "</Code><Message>" + XmlEscape(message) + "</Message></Error><RequestId>" + request_id +
         "</RequestId></ErrorResponse>";
}

}  // namespace localrds
