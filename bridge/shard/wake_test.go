package shard

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// entry is a KV entry as a watcher delivers it.
type entry struct {
	jetstream.KeyValueEntry
	key, value string
	op         jetstream.KeyValueOp
}

func (e entry) Key() string                     { return e.key }
func (e entry) Value() []byte                   { return []byte(e.value) }
func (e entry) Operation() jetstream.KeyValueOp { return e.op }

// TestOnlyChangesWake: lease renewals and presence heartbeats, most of the buckets'
// traffic with many orgs, change nothing and wake no reconcile; a new holder, a released
// lease, a replica appearing, leaving or coming back after it lapsed do.
func TestOnlyChangesWake(t *testing.T) {
	m, err := New(Config{Instance: "a", TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	m.keyOrg = map[string]string{"leader.org1": "org1"}
	m.cfg.PresencePrefix = "replicas.x."
	put, del := jetstream.KeyValuePut, jetstream.KeyValueDelete
	for _, tc := range []struct {
		what  string
		e     entry
		lease bool
		want  bool
	}{
		{"lease taken", entry{key: "leader.org1", value: "b", op: put}, true, true},
		{"lease renewed", entry{key: "leader.org1", value: "b", op: put}, true, false},
		{"lease taken over", entry{key: "leader.org1", value: "c", op: put}, true, true},
		{"lease released", entry{key: "leader.org1", op: del}, true, true},
		{"lease released again", entry{key: "leader.org1", op: del}, true, false},
		{"an unlisted org's lease", entry{key: "leader.org2", value: "b", op: put}, true, false},
		{"replica appears", entry{key: "replicas.x.b", value: "b", op: put}, false, true},
		{"replica heartbeat", entry{key: "replicas.x.b", value: "b", op: put}, false, false},
		{"replica leaves", entry{key: "replicas.x.b", op: del}, false, true},
	} {
		apply := m.applyPresence
		if tc.lease {
			apply = m.applyLease
		}
		if got := apply(tc.e); got != tc.want {
			t.Errorf("%s: changed = %v, want %v", tc.what, got, tc.want)
		}
	}
	m.live["b"] = time.Now().Add(-2 * ttl) // lapsed: its next heartbeat brings it back
	if !m.applyPresence(entry{key: "replicas.x.b", value: "b", op: jetstream.KeyValuePut}) {
		t.Error("a lapsed replica's heartbeat: changed = false, want true")
	}
}
