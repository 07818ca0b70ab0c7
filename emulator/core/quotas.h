// RDS's default quotas that localrds enforces (User Guide, CHAP_Limits), in one place: the
// services refuse what goes past them and DescribeAccountAttributes reports them with their use.
// The DB instance quota is a flag (--max-instances). Pure constants.
#pragma once

namespace localrds {

//! "Manual DB instance snapshots" per account and Region.
inline constexpr int kManualSnapshotQuota = 100;
//! "Read replicas per primary": 15 for a source that is a primary, 5 for one that is itself a
//! replica, in chains of at most 3 (PostgreSQL 14.1 and later).
inline constexpr int kMaxReplicasOfPrimary = 15;
inline constexpr int kMaxReplicasOfReplica = 5;
inline constexpr int kMaxReplicaChain = 3;
//! Accounts a manual snapshot may be shared with.
inline constexpr int kMaxSharedAccounts = 20;
//! "Total storage for all DB instances", GiB.
inline constexpr int kAllocatedStorageQuotaGiB = 100000;

}  // namespace localrds
