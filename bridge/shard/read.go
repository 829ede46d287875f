package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Snapshot is the shard as the broker holds it, read by any process (`rhombus-bridge orgs`).
type Snapshot struct {
	Leaders  map[string]string // org → the replica holding its lease ("": none)
	Replicas []string          // live replicas, sorted
}

// Read reads the leader of every org (its key in the lease bucket) and the live replicas
// (presence keys under prefix).
func Read(ctx context.Context, lease, presence jetstream.KeyValue, prefix string, orgs []string,
	leaseKey func(org string) string) (Snapshot, error) {
	s := Snapshot{Leaders: make(map[string]string, len(orgs))}
	for _, o := range orgs {
		e, err := lease.Get(ctx, leaseKey(o))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			s.Leaders[o] = ""
		case err != nil:
			return s, fmt.Errorf("lease of %s: %w", o, err)
		default:
			s.Leaders[o] = string(e.Value())
		}
	}
	keys, err := presence.ListKeysFiltered(ctx, prefix+">")
	if err != nil {
		return s, fmt.Errorf("presence: %w", err)
	}
	for k := range keys.Keys() {
		s.Replicas = append(s.Replicas, strings.TrimPrefix(k, prefix))
	}
	slices.Sort(s.Replicas)
	return s, nil
}
