// Package shard decides which organisations this replica leads in partner mode, using the
// broker as the only coordinator.
//
// Every org has its own lease (a key per org in the lease bucket; see bridge/lease), so at
// most one replica subscribes to an org at a time, with fencing per org term. The shard
// only decides which leases this replica campaigns for:
//
//   - Live replicas announce themselves with a presence key per replica in a KV bucket
//     whose entries expire after the lease TTL (renewed every TTL/5, deleted on a polite
//     exit). Every replica watches that bucket, so all see the same count.
//   - The fair share is ⌈orgs ÷ live replicas⌉. A replica campaigns for free orgs (no
//     holder in the lease bucket) only while it leads fewer than its share, preferring the
//     orgs that rank highest for it by rendezvous hashing, so replicas rarely race for one.
//     An attempt on an org another replica won is withdrawn at once, freeing the slot.
//   - A replica that leads more than its share + 1 (a replica joined, or the org list
//     shrank; the +1 spares a move for every small change) gives one org up at a time: its term ends politely (the pipeline drains under the
//     lease, the key is deleted), and a replica below its share takes it, resuming from the
//     shared watermark; backfill closes the short gap.
//   - When a replica dies, its leases and its presence key expire after the TTL; the
//     survivors' share grows and they take its orgs as soon as the expiry reaches them.
//
// So no replica leads more than ⌈orgs ÷ live replicas⌉ + 1 once the shard has settled
// (the contract's bound).
//
// With the Kafka lease an Assigner (lease.KafkaShard) decides instead: the consumer group's
// assignment maps org slots to replicas, and this replica campaigns for exactly the orgs
// it is given; an org no longer given to it ends its term politely before its slot moves.
//
// Without a lease (BRIDGE_LEASE=none) there is no coordination: this replica leads every org.
package shard
