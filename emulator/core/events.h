// The RDS events localrds emits: id, category and message as the RDS User Guide lists them
// ("Amazon RDS event categories and event messages"). The id is not part of the Event shape on
// the wire; localrds keeps it in the catalog and shows it on /_localrds/events.
#pragma once

namespace localrds {

struct EventSpec {
  const char* id;
  const char* category;
  const char* message;
};

namespace rds_events {
inline constexpr EventSpec kCreated{"RDS-EVENT-0005", "creation", "DB instance created"};
inline constexpr EventSpec kDeleted{"RDS-EVENT-0003", "deletion", "DB instance deleted"};
inline constexpr EventSpec kShutdown{"RDS-EVENT-0004", "availability", "DB instance shutdown"};
inline constexpr EventSpec kRestarted{"RDS-EVENT-0006", "availability", "DB instance restarted"};
inline constexpr EventSpec kStopped{"RDS-EVENT-0087", "notification", "DB instance stopped"};
inline constexpr EventSpec kStarted{"RDS-EVENT-0088", "notification", "DB instance started"};
inline constexpr EventSpec kAutoStarted{
    "RDS-EVENT-0154", "notification",
    "DB instance is being started due to it exceeding the maximum allowed time being stopped."};
inline constexpr EventSpec kResetCredentials{"RDS-EVENT-0016", "configuration change",
                                             "Reset master credentials"};
inline constexpr EventSpec kClassChanging{"RDS-EVENT-0012", "configuration change",
                                          "Applying modification to database instance class"};
inline constexpr EventSpec kClassChanged{"RDS-EVENT-0014", "configuration change",
                                         "Finished applying modification to DB instance class"};
inline constexpr EventSpec kStorageChanged{"RDS-EVENT-0017", "configuration change",
                                           "Finished applying modification to allocated storage"};
// Storage (category "low storage"; the autoscaling pair is "configuration change").
inline constexpr EventSpec kStorageExhausted{
    "RDS-EVENT-0007", "low storage",
    "Allocated storage has been exhausted. Allocate additional storage to resolve the issue."};
//! The message is made per instance (StorageMonitor::LowStorageMessage).
inline constexpr EventSpec kStorageLow{"RDS-EVENT-0089", "low storage",
                                       "The free storage capacity for DB instance is low."};
inline constexpr EventSpec kStorageAutoscaling{
    "RDS-EVENT-0217", "configuration change",
    "Applying autoscaling-initiated modification to allocated storage."};
inline constexpr EventSpec kStorageAutoscaled{
    "RDS-EVENT-0218", "configuration change",
    "Finished applying autoscaling-initiated modification to allocated storage."};
inline constexpr EventSpec kBackupsDisabled{
    "RDS-EVENT-0028", "backup", "Automated backups for this DB instance have been disabled"};
inline constexpr EventSpec kBackupsEnabled{
    "RDS-EVENT-0032", "backup", "Automated backups for this DB instance have been enabled"};
inline constexpr EventSpec kBackupStarted{"RDS-EVENT-0001", "backup", "Backing up DB instance"};
inline constexpr EventSpec kBackupFinished{"RDS-EVENT-0002", "backup",
                                           "Finished DB Instance backup"};
inline constexpr EventSpec kRestoredFromSnapshot{"RDS-EVENT-0043", "notification",
                                                 "Restored from snapshot"};
inline constexpr EventSpec kRestoredFromInstance{"RDS-EVENT-0019", "notification",
                                                 "Restored from DB instance"};
// Snapshot events (source type db-snapshot).
inline constexpr EventSpec kManualSnapshotCreating{"RDS-EVENT-0040", "creation",
                                                   "Creating manual snapshot"};
inline constexpr EventSpec kSnapshotDeleted{"RDS-EVENT-0041", "deletion",
                                            "Deleted manual snapshot"};
inline constexpr EventSpec kManualSnapshotCreated{"RDS-EVENT-0042", "creation",
                                                  "Manual snapshot created"};
inline constexpr EventSpec kAutomatedSnapshotCreating{"RDS-EVENT-0090", "creation",
                                                      "Creating automated snapshot"};
inline constexpr EventSpec kAutomatedSnapshotCreated{"RDS-EVENT-0091", "creation",
                                                     "Automated snapshot created"};
// Read replicas (category "read replica"; USER_Events.Messages, DB instance events).
inline constexpr EventSpec kReplicationStopped{"RDS-EVENT-0045", "read replica",
                                               "Replication has stopped."};
//! Also sent when a replica is first created (the User Guide's note on 0046).
inline constexpr EventSpec kReplicationResumed{"RDS-EVENT-0046", "read replica",
                                               "Replication for the Read Replica resumed."};
inline constexpr EventSpec kReplicationTerminated{"RDS-EVENT-0057", "read replica",
                                                  "Replication streaming has been terminated."};
inline constexpr EventSpec kReplicaCreationFailed{"RDS-EVENT-0202", "read replica",
                                                  "Read replica creation failed."};
// RDS documents no event id for a finished promotion.
inline constexpr EventSpec kPromoted{"", "read replica",
                                     "Read replica has been promoted to a standalone DB instance"};
inline constexpr EventSpec kSnapshotCopied{"", "notification", "Finished copy of snapshot"};
inline constexpr EventSpec kSnapshotFailed{"", "failure", "Snapshot failed"};
inline constexpr EventSpec kRenamed{"", "configuration change", "Renamed instance"};
inline constexpr EventSpec kFailed{
    "RDS-EVENT-0031", "failure",
    "DB instance put into failed state due to an incompatible configuration or an underlying "
    "storage issue"};
// Crash recovery: RDS documents these messages without a stable id for PostgreSQL.
inline constexpr EventSpec kRecoveryStarted{
    "", "recovery",
    "Recovery of the DB instance has started. Recovery time will vary with the amount of data to "
    "be recovered."};
inline constexpr EventSpec kRecoveryFinished{"", "recovery",
                                             "Recovery of the DB instance is complete."};
// Multi-AZ (USER_Events.Messages).
inline constexpr EventSpec kFailoverStarted{"RDS-EVENT-0013", "failover",
                                            "Multi-AZ instance failover started."};
inline constexpr EventSpec kFailoverToStandbyComplete{
    "RDS-EVENT-0015", "failover",
    "Multi-AZ failover to standby complete - DNS propagation may take a few minutes."};
inline constexpr EventSpec kFailoverCompleted{"RDS-EVENT-0049", "failover",
                                              "Multi-AZ instance failover completed."};
inline constexpr EventSpec kMultiAzRecoveryStarted{"RDS-EVENT-0052", "failover",
                                                   "Multi-AZ instance recovery started."};
inline constexpr EventSpec kMultiAzRecoveryFinished{
    "RDS-EVENT-0053", "failover",
    "Multi-AZ instance recovery completed. Pending failover or activation."};
// RDS documents no event for a failover that could not finish.
inline constexpr EventSpec kFailoverFailed{"", "failover", "Multi-AZ instance failover failed"};
inline constexpr EventSpec kStandbyFailed{"", "failover",
                                          "The Multi-AZ standby could not be built"};
inline constexpr EventSpec kConvertingToMultiAz{
    "RDS-EVENT-0024", "configuration change",
    "Applying modification to convert to a Multi-AZ DB instance."};
inline constexpr EventSpec kConvertedToMultiAz{
    "RDS-EVENT-0025", "configuration change",
    "Finished applying modification to convert to a Multi-AZ DB instance."};
inline constexpr EventSpec kConvertingToSingleAz{
    "RDS-EVENT-0030", "configuration change",
    "Applying modification to convert to a standard (Single-AZ) DB instance."};
inline constexpr EventSpec kConvertedToSingleAz{
    "RDS-EVENT-0029", "configuration change",
    "Finished applying modification to convert to a standard (Single-AZ) DB instance."};
}  // namespace rds_events

// localrds's own events: the outage drills (/_localrds/regions|zones/<name>/outage|recover).
// RDS has no such events; their ids say so. Each message is made per case (which Region or
// zone, which server, its WAL position), so that recovery time and data lost can be read off
// DescribeEvents and /_localrds/events.
namespace localrds_events {
inline constexpr EventSpec kOutage{"LOCALRDS-OUTAGE", "availability",
                                   "localrds outage drill: unreachable"};
inline constexpr EventSpec kOutageRecovered{"LOCALRDS-OUTAGE-RECOVERED", "availability",
                                            "localrds outage drill: reachable again"};
}  // namespace localrds_events

}  // namespace localrds
