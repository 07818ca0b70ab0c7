// The control plane's named groups (GroupRow kinds): DB parameter, subnet and option groups and
// event subscriptions. One table ties each kind to its ARN resource type and to RDS's answer for
// a name that does not exist. Pure, header-only.
#pragma once

#include <string>

#include "common/aws_errors_generated.h"
#include "common/status.h"

namespace localrds {

struct GroupKind {
  const char* kind;      //!< GroupRow::kind
  const char* arn_type;  //!< arn:aws:rds:<region>:<account>:<arn_type>:<name>
  AwsError not_found;    //!< the error for a name that names nothing
};

inline constexpr GroupKind kParameterGroup{"parameter", "pg", AwsError::kDBParameterGroupNotFound};
inline constexpr GroupKind kSubnetGroup{"subnet", "subgrp", AwsError::kDBSubnetGroupNotFoundFault};
inline constexpr GroupKind kOptionGroup{"option", "og", AwsError::kOptionGroupNotFoundFault};
inline constexpr GroupKind kEventSubscription{"subscription", "es",
                                              AwsError::kSubscriptionNotFound};
inline constexpr GroupKind kGroupKinds[] = {kParameterGroup, kSubnetGroup, kOptionGroup,
                                            kEventSubscription};

//! RDS's message for a group of `kind` named `name` that does not exist.
inline Status GroupNotFound(const GroupKind& kind, const std::string& name) {
  const std::string k = kind.kind;
  std::string message;
  if (k == "parameter") {
    message = "DBParameterGroup not found: " + name;
  } else if (k == "subnet") {
    message = "DBSubnetGroup " + name + " not found.";
  } else if (k == "option") {
    message = "Specified OptionGroupName: " + name + " not found.";
  } else {
    message = "Event Subscription " + name + " not found.";
  }
  return Status::Error(kind.not_found, message);
}

}  // namespace localrds
