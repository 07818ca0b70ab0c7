#include "emulator/core/instance_classes.h"

namespace localrds {

const std::vector<InstanceClass>& AllInstanceClasses() {
  // RDS for PostgreSQL classes (User Guide, "DB instance class types").
  static const std::vector<InstanceClass> kClasses = {
      {"db.t3.micro", 2, 1},     {"db.t3.small", 2, 2},    {"db.t3.medium", 2, 4},
      {"db.t3.large", 2, 8},     {"db.t3.xlarge", 4, 16},  {"db.t3.2xlarge", 8, 32},
      {"db.t4g.micro", 2, 1},    {"db.t4g.small", 2, 2},   {"db.t4g.medium", 2, 4},
      {"db.t4g.large", 2, 8},    {"db.t4g.xlarge", 4, 16}, {"db.t4g.2xlarge", 8, 32},
      {"db.m5.large", 2, 8},     {"db.m5.xlarge", 4, 16},  {"db.m5.2xlarge", 8, 32},
      {"db.m5.4xlarge", 16, 64}, {"db.m6g.large", 2, 8},   {"db.m6g.xlarge", 4, 16},
      {"db.m6g.2xlarge", 8, 32}, {"db.m6i.large", 2, 8},   {"db.m6i.xlarge", 4, 16},
      {"db.m6i.2xlarge", 8, 32}, {"db.m7g.large", 2, 8},   {"db.m7g.xlarge", 4, 16},
      {"db.r5.large", 2, 16},    {"db.r5.xlarge", 4, 32},  {"db.r5.2xlarge", 8, 64},
      {"db.r6g.large", 2, 16},   {"db.r6g.xlarge", 4, 32}, {"db.r6g.2xlarge", 8, 64},
      {"db.r6i.large", 2, 16},   {"db.r6i.xlarge", 4, 32}, {"db.r7g.large", 2, 16},
      {"db.r7g.xlarge", 4, 32},
  };
  return kClasses;
}

const InstanceClass* FindInstanceClass(const std::string& name) {
  for (const auto& c : AllInstanceClasses()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

}  // namespace localrds
