// Package lease elects one leader among the replicas of rhombus-bridge.
//
// Lease.Run campaigns until its context ends. While this replica leads, onLeading runs
// with a leader context that is cancelled the moment leadership is in doubt: a renewal
// failed, or the replica's own monotonic clock says the lease may have lapsed (the time
// since the last successful renewal was started exceeds TTL minus a safety margin). That
// happens before any other replica can acquire the lease, so a frozen or cut-off leader
// stops acting before its successor starts. Revision(leaderCtx) is the fencing token of
// the term; tokens increase strictly across terms.
//
// Two backends implement the store:
//   - NATS: a JetStream KV bucket whose MaxAge is the TTL. Acquire = Create, renew =
//     Update on the last revision (every TTL/3), release = Delete on the last revision,
//     so a deposed holder can neither renew nor delete its successor's key. The fencing
//     token is the KV revision of the Create. Standbys watch the key; the bucket keeps
//     limit markers so an expiry reaches the watchers as a purge, with a timer at TTL
//     after the last seen revision as a fallback.
//   - Kafka: classic consumer-group membership on a coordination group, spoken with
//     kafka-go's group API (JoinGroup/SyncGroup/Heartbeat/LeaveGroup). The member that
//     is assigned partition 0 of the lease topic leads; the assignment is sticky, so a
//     standby joining does not move the lease. The fencing token is the generation in
//     which the term began. Session and rebalance timeouts are the TTL, so the brokers'
//     group.min.session.timeout.ms (Kafka's default 6000) bounds the TTL, and with it the
//     failover time after a crash, from below. A TTL the brokers refuse
//     (INVALID_SESSION_TIMEOUT) is an ErrRefused naming BRIDGE_LEASE_TTL and the limit
//     read from the coordinator (DescribeConfigs); Run logs it as an ERROR at most once a
//     minute and retries from 1 s, backing off to 30 s.
//
// KafkaShard is partner mode's lease for many orgs on Kafka: one consumer group whose
// members are the replicas and whose partitions are org slots (a hash of the org uuid).
// The group's leader computes a sticky, org-weighed assignment (balance): it is the shard
// map. KafkaShard.Org(org) is a Backend for that org's Lease: held while the org's slot is
// this replica's and the group session is surely alive, so the per-org term, fence and
// polite drain work as with a lease of its own.
package lease
