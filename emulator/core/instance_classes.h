// The DB instance classes localrds offers, with the sizes RDS documents for them. The docker
// runtime turns memory and vCPUs into container limits; the local runtime only reports them.
#pragma once

#include <string>
#include <vector>

namespace localrds {

struct InstanceClass {
  const char* name;
  int vcpus;
  double memory_gib;
};

const std::vector<InstanceClass>& AllInstanceClasses();
//! nullptr when localrds does not offer the class.
const InstanceClass* FindInstanceClass(const std::string& name);

}  // namespace localrds
