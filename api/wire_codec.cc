#include "api/wire_codec.h"

#include <boost/url/parse_query.hpp>

#include <cstdlib>

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

}  // namespace

std::string XmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += "&#" + std::to_string(static_cast<int>(c)) + ";";
        } else {
          out += c;
        }
    }
  }
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
  if (!parsed) return Status::Error(AwsError::kMalformedQueryString, "The query string is malformed.");
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

WireCodec::WireCodec(nlohmann::json model) : model_(std::move(model)) {
  xmlns_ = model_["metadata"]["xmlNamespace"].get<std::string>();
}

bool WireCodec::HasOperation(const std::string& action) const {
  return model_["operations"].contains(action);
}

Status WireCodec::DecodeMember(const std::string& shape_name, const std::string& key,
                               const QueryParams& params, nlohmann::json* out,
                               bool* present) const {
  const nlohmann::json& shape = model_["shapes"][shape_name];
  const std::string type = shape["type"].get<std::string>();
  *present = false;
  if (type == "structure") {
    std::string prefix = key.empty() ? "" : key + ".";
    if (!key.empty() && !HasPrefix(params, prefix)) return Status::Ok();
    nlohmann::json obj = nlohmann::json::object();
    for (auto& [name, member] : shape["members"].items()) {
      std::string loc = member.value("locationName", name);
      bool member_present = false;
      nlohmann::json value;
      LOCALRDS_RETURN_IF_ERROR(
          DecodeMember(member["shape"].get<std::string>(), prefix + loc, params, &value, &member_present));
      if (member_present) obj[name] = std::move(value);
    }
    if (shape.contains("required")) {
      for (const auto& req : shape["required"]) {
        if (!obj.contains(req.get<std::string>())) {
          return Status::Error(AwsError::kMissingParameter,
                               "The request must contain the parameter " + req.get<std::string>());
        }
      }
    }
    *out = std::move(obj);
    *present = true;
    return Status::Ok();
  }
  if (type == "list") {
    const nlohmann::json& member = shape["member"];
    std::vector<std::string> item_prefixes;
    if (shape.value("flattened", false)) {
      item_prefixes.push_back(key + ".");
    } else {
      item_prefixes.push_back(key + "." + member.value("locationName", std::string("member")) + ".");
      if (member.contains("locationName")) item_prefixes.push_back(key + ".member.");
    }
    nlohmann::json arr = nlohmann::json::array();
    auto whole = params.find(key);
    bool any = whole != params.end() && whole->second.empty();  // "Tags=" is an empty list
    for (const auto& item_prefix : item_prefixes) {
      for (int i = 1;; ++i) {
        std::string item_key = item_prefix + std::to_string(i);
        bool item_present = false;
        nlohmann::json item;
        LOCALRDS_RETURN_IF_ERROR(
            DecodeMember(member["shape"].get<std::string>(), item_key, params, &item, &item_present));
        if (!item_present) break;
        arr.push_back(std::move(item));
        any = true;
        if (i > 1000) return Status::InvalidParameter("Too many list members in " + key);
      }
      if (!arr.empty()) break;
    }
    if (any) {
      *out = std::move(arr);
      *present = true;
    }
    return Status::Ok();
  }
  if (type == "map") return Status::Ok();  // RDS inputs have no maps
  auto it = params.find(key);
  if (it == params.end()) return Status::Ok();
  const std::string& raw = it->second;
  *present = true;
  if (type == "integer" || type == "long") {
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(raw.c_str(), &end, 10);
    if (raw.empty() || *end != '\0' || errno == ERANGE ||
        (type == "integer" && (v > INT32_MAX || v < INT32_MIN))) {
      return Status::InvalidParameter("Invalid value '" + raw + "' for parameter " + key +
                                      ": it must be an integer.");
    }
    *out = v;
  } else if (type == "boolean") {
    std::string l = Lower(raw);
    if (l != "true" && l != "false") {
      return Status::InvalidParameter("Invalid value '" + raw + "' for parameter " + key +
                                      ": it must be true or false.");
    }
    *out = (l == "true");
  } else if (type == "double" || type == "float") {
    char* end = nullptr;
    double v = std::strtod(raw.c_str(), &end);
    if (raw.empty() || *end != '\0') {
      return Status::InvalidParameter("Invalid value '" + raw + "' for parameter " + key);
    }
    *out = v;
  } else {
    *out = raw;  // string, timestamp (parsed where used), blob
  }
  return Status::Ok();
}

Result<nlohmann::json> WireCodec::DecodeRequest(const std::string& action,
                                                const QueryParams& params) const {
  const nlohmann::json& op = model_["operations"][action];
  if (!op.contains("input")) return nlohmann::json::object();
  nlohmann::json out;
  bool present = false;
  LOCALRDS_RETURN_IF_ERROR(DecodeMember(op["input"].get<std::string>(), "", params, &out, &present));
  return out;
}

void WireCodec::EncodeValue(const std::string& shape_name, const nlohmann::json& value,
                            std::string& out) const {
  const nlohmann::json& shape = model_["shapes"][shape_name];
  const std::string& type = shape["type"].get_ref<const std::string&>();
  if (type == "structure") {
    if (!value.is_object()) return;
    for (auto& [name, member] : shape["members"].items()) {
      auto it = value.find(name);
      if (it == value.end() || it->is_null()) continue;
      const std::string& loc = member.contains("locationName")
                                   ? member["locationName"].get_ref<const std::string&>()
                                   : name;
      const nlohmann::json& mshape = model_["shapes"][member["shape"].get<std::string>()];
      if (mshape["type"] == "list" && mshape.value("flattened", false)) {
        EncodeValue(member["shape"].get<std::string>(), *it, out);
        continue;
      }
      out += '<';
      out += loc;
      out += '>';
      EncodeValue(member["shape"].get<std::string>(), *it, out);
      out += "</";
      out += loc;
      out += '>';
    }
  } else if (type == "list") {
    if (!value.is_array()) return;
    const nlohmann::json& member = shape["member"];
    const std::string loc = member.value("locationName", std::string("member"));
    for (const auto& item : value) {
      out += '<' + loc + '>';
      EncodeValue(member["shape"].get<std::string>(), item, out);
      out += "</" + loc + '>';
    }
  } else if (value.is_string()) {
    out += XmlEscape(value.get_ref<const std::string&>());
  } else if (value.is_boolean()) {
    out += value.get<bool>() ? "true" : "false";
  } else if (value.is_number()) {
    out += value.dump();
  }
}

std::string WireCodec::EncodeResponse(const std::string& action, const nlohmann::json& result,
                                      const std::string& request_id) const {
  const nlohmann::json& op = model_["operations"][action];
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<" + action + "Response xmlns=\"" +
                    xmlns_ + "\">";
  if (op.contains("output")) {
    const std::string wrapper = op["resultWrapper"].get<std::string>();
    out += "<" + wrapper + ">";
    EncodeValue(op["output"].get<std::string>(), result, out);
    out += "</" + wrapper + ">";
  }
  out += "<ResponseMetadata><RequestId>" + request_id + "</RequestId></ResponseMetadata></" +
         action + "Response>";
  return out;
}

std::string WireCodec::EncodeError(const Status& status, const std::string& request_id) {
  const AwsErrorInfo& info = status.info();
  return std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error><Type>") +
         (info.sender_fault ? "Sender" : "Receiver") + "</Type><Code>" + info.code +
         "</Code><Message>" + XmlEscape(status.message()) + "</Message></Error><RequestId>" +
         request_id + "</RequestId></ErrorResponse>";
}

}  // namespace localrds
