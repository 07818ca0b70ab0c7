#include "emulator/postgres/parameters.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "common/aws_errors_generated.h"

namespace localrds {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Settings localrds writes itself at every start (emulator/engine/servers.cc, the log files and
// TLS): a group that set them would break ports, archiving, replication, logs or TLS.
const std::set<std::string>& Owned() {
  static const std::set<std::string> kOwned = {"archive_cleanup_command",
                                               "archive_command",
                                               "archive_library",
                                               "archive_mode",
                                               "archive_timeout",
                                               "cluster_name",
                                               "config_file",
                                               "data_directory",
                                               "dynamic_library_path",
                                               "external_pid_file",
                                               "hba_file",
                                               "hot_standby",
                                               "ident_file",
                                               "listen_addresses",
                                               "local_preload_libraries",
                                               "log_destination",
                                               "log_directory",
                                               "log_file_mode",
                                               "log_filename",
                                               "log_rotation_age",
                                               "log_rotation_size",
                                               "log_timezone",
                                               "log_truncate_on_rotation",
                                               "logging_collector",
                                               "max_replication_slots",
                                               "max_wal_senders",
                                               "port",
                                               "primary_conninfo",
                                               "primary_slot_name",
                                               "promote_trigger_file",
                                               "recovery_end_command",
                                               "recovery_init_sync_method",
                                               "recovery_min_apply_delay",
                                               "recovery_target",
                                               "recovery_target_action",
                                               "recovery_target_inclusive",
                                               "recovery_target_lsn",
                                               "recovery_target_name",
                                               "recovery_target_time",
                                               "recovery_target_timeline",
                                               "recovery_target_xid",
                                               "restore_command",
                                               "shared_preload_libraries",
                                               "ssl",
                                               "ssl_ca_file",
                                               "ssl_cert_file",
                                               "ssl_crl_dir",
                                               "ssl_crl_file",
                                               "ssl_key_file",
                                               "ssl_passphrase_command",
                                               "ssl_passphrase_command_supports_reload",
                                               "synchronous_standby_names",
                                               "syslog_facility",
                                               "syslog_ident",
                                               "syslog_sequence_numbers",
                                               "syslog_split_messages",
                                               "track_commit_timestamp",
                                               "unix_socket_directories",
                                               "unix_socket_group",
                                               "unix_socket_permissions",
                                               "wal_level",
                                               "wal_receiver_timeout",
                                               "wal_retrieve_retry_interval",
                                               "wal_sender_timeout",
                                               "event_source",
                                               "krb_server_keyfile",
                                               "data_sync_retry"};
  return kOwned;
}

// The values of the default group: localrds' sizing (emulator/engine/servers.cc) and RDS's
// parameters as localrds sets them.
const std::map<std::string, std::string>& SystemValues() {
  static const std::map<std::string, std::string> kValues = {
      {"shared_buffers", "2048"},  // 16 MB: many servers share one machine
      {"max_connections", "40"},  {"password_encryption", "scram-sha-256"},
      {"rds.force_ssl", "0"},     {"rds.logical_replication", "0"},
  };
  return kValues;
}

std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find('\t', start);
    out.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

Status BadValue(const std::string& name, const std::string& value, const std::string& allowed) {
  return Status::InvalidParameter("Invalid parameter value: " + value + " for: " + name +
                                  " allowed values are: " + allowed);
}

// --- RDS formulas ---------------------------------------------------------------------------

class FormulaParser {
 public:
  FormulaParser(const std::string& s, const FormulaInputs& in) : s_(s), in_(in) {}
  std::optional<int64_t> Parse() {
    auto v = Expr();
    Skip();
    if (!v || pos_ != s_.size()) return std::nullopt;
    return v;
  }

 private:
  void Skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  std::optional<int64_t> Number() {
    Skip();
    size_t start = pos_;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (start == pos_ || pos_ - start > 18) return std::nullopt;
    return std::stoll(s_.substr(start, pos_ - start));
  }
  std::optional<int64_t> Variable() {
    Skip();
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    const std::string name = s_.substr(start, pos_ - start);
    if (name == "DBInstanceClassMemory") return in_.class_memory;
    if (name == "DBInstanceVCPU") return in_.vcpus;
    if (name == "AllocatedStorage") return in_.allocated_storage;
    if (name == "EndPointPort") return in_.port;
    return std::nullopt;
  }
  // {Variable op number op number …} with op * or /, left to right, integer arithmetic.
  std::optional<int64_t> Braces() {
    ++pos_;  // '{'
    Skip();
    auto v = std::isdigit(static_cast<unsigned char>(pos_ < s_.size() ? s_[pos_] : 'x'))
                 ? Number()
                 : Variable();
    if (!v) return std::nullopt;
    while (true) {
      Skip();
      if (pos_ >= s_.size()) return std::nullopt;
      const char op = s_[pos_];
      if (op == '}') {
        ++pos_;
        return v;
      }
      if (op != '*' && op != '/') return std::nullopt;
      ++pos_;
      auto n = Number();
      if (!n || (op == '/' && *n == 0)) return std::nullopt;
      v = op == '*' ? *v * *n : *v / *n;
    }
  }
  std::optional<int64_t> Term() {
    Skip();
    if (pos_ >= s_.size()) return std::nullopt;
    if (s_[pos_] == '{') return Braces();
    if (std::isdigit(static_cast<unsigned char>(s_[pos_]))) return Number();
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    const std::string fn = s_.substr(start, pos_ - start);
    if (fn != "LEAST" && fn != "GREATEST" && fn != "SUM") return std::nullopt;
    Skip();
    if (pos_ >= s_.size() || s_[pos_] != '(') return std::nullopt;
    ++pos_;
    std::vector<int64_t> args;
    while (true) {
      auto a = Expr();
      if (!a) return std::nullopt;
      args.push_back(*a);
      Skip();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ')') {
        ++pos_;
        break;
      }
      return std::nullopt;
    }
    if (fn == "LEAST") return *std::min_element(args.begin(), args.end());
    if (fn == "GREATEST") return *std::max_element(args.begin(), args.end());
    int64_t sum = 0;
    for (int64_t a : args) sum += a;
    return sum;
  }
  // A term, optionally times or divided by numbers ("{…}*2").
  std::optional<int64_t> Expr() {
    auto v = Term();
    while (v) {
      Skip();
      if (pos_ >= s_.size() || (s_[pos_] != '*' && s_[pos_] != '/')) break;
      const char op = s_[pos_++];
      auto n = Term();
      if (!n || (op == '/' && *n == 0)) return std::nullopt;
      v = op == '*' ? *v * *n : *v / *n;
    }
    return v;
  }

  const std::string& s_;
  const FormulaInputs& in_;
  size_t pos_ = 0;
};

}  // namespace

bool IsFormula(const std::string& value) {
  return value.find('{') != std::string::npos || value.rfind("LEAST(", 0) == 0 ||
         value.rfind("GREATEST(", 0) == 0 || value.rfind("SUM(", 0) == 0;
}

Result<std::string> EvaluateFormula(const std::string& value, const FormulaInputs& in) {
  if (!IsFormula(value)) return value;
  auto v = FormulaParser(value, in).Parse();
  if (!v) {
    return Status::InvalidParameter(
        "Invalid formula: " + value +
        ". Formulas are {Variable/number} terms (DBInstanceClassMemory, "
        "DBInstanceVCPU, AllocatedStorage, EndPointPort) and LEAST, "
        "GREATEST and SUM of them.");
  }
  return std::to_string(*v);
}

// --- the catalog ----------------------------------------------------------------------------

std::unique_ptr<ParameterCatalog> ParameterCatalog::FromDescription(
    const std::string& major, const std::string& describe_config,
    const std::map<std::string, std::string>& enum_values, Runner run, std::string scratch) {
  std::unique_ptr<ParameterCatalog> c(new ParameterCatalog());
  c->family_ = "postgres" + major;
  c->run_ = std::move(run);
  c->scratch_ = std::move(scratch);
  std::istringstream in(describe_config);
  std::string line;
  std::vector<ParameterInfo> params;
  while (std::getline(in, line)) {
    auto f = SplitTabs(line);
    if (f.size() < 8 || f[0].empty()) continue;
    ParameterInfo p;
    p.name = Lower(f[0]);
    p.context = f[1];
    p.pg_type = f[3];
    p.description = f[7];
    p.apply_type = p.context == "postmaster" || p.context == "internal" ? "static" : "dynamic";
    p.modifiable =
        p.context != "internal" && !Owned().count(p.name) && p.name.rfind("localrds.", 0) != 0;
    if (p.pg_type == "BOOLEAN") {
      p.data_type = "boolean";
      p.allowed = "0,1";
    } else if (p.pg_type == "INTEGER" || p.pg_type == "REAL") {
      p.data_type = p.pg_type == "INTEGER" ? "integer" : "real";
      if (!f[5].empty() && !f[6].empty()) p.allowed = f[5] + "-" + f[6];
    } else {
      p.data_type = "string";
      if (auto it = enum_values.find(f[0]); it != enum_values.end()) p.allowed = it->second;
    }
    params.push_back(std::move(p));
  }
  // RDS's own parameters that mean something here.
  params.push_back({"rds.force_ssl", "Force SSL connections.", "sighup", "BOOLEAN", "boolean",
                    "0,1", "dynamic", true, ""});
  params.push_back({"rds.logical_replication", "Enables logical decoding (wal_level = logical).",
                    "postmaster", "BOOLEAN", "boolean", "0,1", "static", true, ""});
  std::sort(params.begin(), params.end(),
            [](const ParameterInfo& a, const ParameterInfo& b) { return a.name < b.name; });
  for (auto& p : params) {
    if (auto it = SystemValues().find(p.name); it != SystemValues().end()) {
      p.system_value = it->second;
    }
    c->index_[p.name] = c->params_.size();
    c->params_.push_back(std::move(p));
  }
  return c;
}

Result<std::unique_ptr<ParameterCatalog>> ParameterCatalog::Build(const std::string& major,
                                                                  Runner run, std::string scratch) {
  auto described = run({"--describe-config"});
  if (!described.ok()) return described.status();
  if (described->exit_code != 0) {
    return Status::Internal("postgres --describe-config failed: " + described->output);
  }
  // An enum's values: PostgreSQL lists them when it refuses one that is not.
  std::map<std::string, std::string> enums;
  std::istringstream in(described->output);
  std::string line;
  while (std::getline(in, line)) {
    auto f = SplitTabs(line);
    if (f.size() < 4 || f[3] != "ENUM") continue;
    auto out = run({"-D", scratch, "-C", f[0], "-c", f[0] + "=localrds-no-such-value"});
    if (!out.ok()) return out.status();
    static const std::string kHint = "Available values: ";
    const size_t at = out->output.find(kHint);
    if (at == std::string::npos) continue;
    std::string values = out->output.substr(at + kHint.size());
    values = values.substr(0, values.find('\n'));
    if (!values.empty() && values.back() == '.') values.pop_back();
    values.erase(std::remove(values.begin(), values.end(), ' '), values.end());
    enums[f[0]] = values;
  }
  return FromDescription(major, described->output, enums, std::move(run), std::move(scratch));
}

const ParameterInfo* ParameterCatalog::Find(const std::string& name) const {
  auto it = index_.find(Lower(name));
  return it == index_.end() ? nullptr : &params_[it->second];
}

Status ParameterCatalog::Check(const std::string& name, const ParameterSetting& s) const {
  const ParameterInfo* p = Find(name);
  if (!p) return Status::InvalidParameter("Could not find parameter with name: " + name);
  if (!p->modifiable) {
    return Status::InvalidParameter("The parameter " + p->name + " cannot be modified.");
  }
  if (s.apply_method != "immediate" && s.apply_method != "pending-reboot") {
    return Status::InvalidParameter("Invalid apply method: " + s.apply_method + " for parameter: " +
                                    p->name + ". Valid values are: immediate, pending-reboot");
  }
  if (p->apply_type == "static" && s.apply_method == "immediate") {
    return Status::Error(AwsError::kInvalidParameterCombination,
                         "cannot use immediate apply method for static parameter");
  }
  // One line of postgresql.conf holds the value: a line break would make the file unreadable
  // at the next start.
  if (s.value.find_first_of("\r\n") != std::string::npos) {
    return BadValue(p->name, s.value, p->allowed.empty() ? std::string("any") : p->allowed);
  }
  if (IsFormula(s.value)) {
    // Checked for its shape here; its value per instance class when a server starts.
    auto v = EvaluateFormula(s.value, FormulaInputs{1LL << 30, 2, 20LL << 30, 5432});
    if (!v.ok()) return v.status();
    if (p->data_type != "integer") return BadValue(p->name, s.value, p->allowed);
    return Status::Ok();
  }
  if (p->data_type == "boolean") {
    if (s.value != "0" && s.value != "1") return BadValue(p->name, s.value, p->allowed);
    return Status::Ok();
  }
  if (p->name.rfind("rds.", 0) == 0) return Status::Ok();
  // PostgreSQL decides: range, unit, enum, syntax.
  auto out = run_({"-D", scratch_, "-C", p->name, "-c", p->name + "=" + s.value});
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) {
    return BadValue(p->name, s.value, p->allowed.empty() ? std::string("any") : p->allowed);
  }
  return Status::Ok();
}

Result<const ParameterCatalog*> Parameters::Family(const std::string& family) {
  static const std::string kPrefix = "postgres";
  if (family.rfind(kPrefix, 0) != 0 || family.size() == kPrefix.size()) {
    return Status::InvalidParameter("DBParameterGroupFamily " + family +
                                    " is not a valid family for engine postgres.");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = catalogs_.find(family);
  if (it != catalogs_.end()) return it->second.get();
  const std::string major = family.substr(kPrefix.size());
  auto runner = runner_for_(major);
  if (!runner) {
    return Status::InvalidParameter("DBParameterGroupFamily " + family +
                                    " is not a valid family for engine postgres.");
  }
  auto built = ParameterCatalog::Build(major, runner, scratch_);
  if (!built.ok()) return built.status();
  const ParameterCatalog* c = built->get();
  catalogs_[family] = std::move(built.value());
  return c;
}

std::string GroupSettingsConf(const std::map<std::string, std::string>& settings,
                              const FormulaInputs& in) {
  std::ostringstream out;
  for (const auto& [name, raw] : settings) {
    if (name == "rds.logical_replication") {
      if (raw == "1") out << "wal_level = logical\n";
      continue;
    }
    if (name.rfind("rds.", 0) == 0) continue;  // rds.force_ssl: the hba rules
    auto v = EvaluateFormula(raw, in);
    if (!v.ok()) continue;  // checked when it was set
    std::string quoted;
    for (char ch : *v) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
    out << name << " = '" << quoted << "'\n";
  }
  return out.str();
}

}  // namespace localrds
