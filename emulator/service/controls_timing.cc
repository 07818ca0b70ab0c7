// The /_localrds/instances/<id>/timing control's side in the control plane (see controls.h).
#include "common/log.h"
#include "emulator/service/controls.h"

namespace localrds {

Result<nlohmann::json> Controls::InstanceTiming(const InstanceRef& identifier) {
  Result<InstanceRow> row = Status::Internal("unset");
  {
    Registry::Locked reg = registry_.Lock();
    row = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
  }
  if (!row.ok()) return row.status();
  const TimingProfile& server = registry_.config().timing;
  auto own = ::localrds::InstanceTiming(*row);
  return nlohmann::json{{"DBInstanceIdentifier", row->identifier},
                        {"timing", EffectiveTiming(*row, server).ToJson()},
                        {"own", own ? own->ToJson() : nlohmann::json()},
                        {"server", server.ToJson()}};
}

Result<nlohmann::json> Controls::SetInstanceTiming(const InstanceRef& identifier,
                                                   const std::optional<TimingProfile>& timing) {
  {
    Registry::Locked reg = registry_.Lock();
    auto found = reg.Find(identifier.scope.value_or(registry_.DefaultScope()), identifier.name);
    if (!found.ok()) return found.status();
    InstanceRow row = *found;
    ::localrds::SetInstanceTiming(row.attrs, timing);
    Mutation m;
    m.put.push_back(row);
    LOCALRDS_RETURN_IF_ERROR(reg.Commit(m));
  }
  LogLine("control") << "timing of " << LogValue(identifier.name) << ": "
                     << (timing ? timing->ToString() : "the server's");
  return InstanceTiming(identifier);
}

}  // namespace localrds
