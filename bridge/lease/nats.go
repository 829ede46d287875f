package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// NATSConfig is where the NATS lease lives.
type NATSConfig struct {
	Bucket   string                // KV bucket, e.g. "rhombus_bridge_lease"
	Key      string                // key in the bucket, e.g. "leader"
	Replicas int                   // bucket replicas (0: 1)
	Storage  jetstream.StorageType // default FileStorage
}

// NATS is the JetStream KV lease backend.
type NATS struct {
	js  jetstream.JetStream
	cfg NATSConfig

	kv       jetstream.KeyValue
	instance string
	ttl      time.Duration
	last     uint64 // revision of our last Create/Update

	mu     sync.Mutex
	holder string

	noMarkers bool // the server is too old for limit markers (see Prepare)
}

// NewNATS returns the KV backend over js.
func NewNATS(js jetstream.JetStream, cfg NATSConfig) (*NATS, error) {
	if js == nil {
		return nil, errors.New("lease: nats: nil JetStream")
	}
	if cfg.Bucket == "" || cfg.Key == "" {
		return nil, errors.New("lease: nats: bucket and key are required")
	}
	return &NATS{js: js, cfg: cfg}, nil
}

// Prepare creates (or updates) the bucket with MaxAge = ttl and limit markers, so expiry
// reaches watchers.
func (n *NATS) Prepare(ctx context.Context, instance string, ttl time.Duration) error {
	kvc := jetstream.KeyValueConfig{
		Bucket: n.cfg.Bucket, Description: "rhombus-bridge leader lease", History: 1, TTL: ttl,
		LimitMarkerTTL: max(ttl, time.Second), Storage: n.cfg.Storage, Replicas: max(n.cfg.Replicas, 1),
	}
	kv, err := n.js.CreateOrUpdateKeyValue(ctx, kvc)
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		// A server before 2.11 has no expiry markers: standbys notice an expired lease by
		// the holder's revision growing TTL old instead (takeover after up to 2 × TTL).
		n.noMarkers = true
		kvc.LimitMarkerTTL = 0
		kv, err = n.js.CreateOrUpdateKeyValue(ctx, kvc)
	}
	if err != nil {
		return fmt.Errorf("kv bucket %s: %w", n.cfg.Bucket, err)
	}
	n.kv, n.instance, n.ttl = kv, instance, ttl
	return nil
}

// Degraded says how the backend works less well than it could ("" when it does not).
func (n *NATS) Degraded() string {
	if n.noMarkers {
		return "the NATS server predates 2.11 (no KV limit markers): an expired lease is noticed " +
			"when its revision is TTL old, so failover after a crash takes up to 2 x BRIDGE_LEASE_TTL"
	}
	return ""
}

// Acquire watches the key and creates it as soon as it is free: at once if it is, on a
// delete, purge or expiry marker, or when a holder's revision is TTL old (a fallback
// should a marker not arrive).
func (n *NATS) Acquire(ctx context.Context) (Term, error) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	w, err := n.kv.Watch(wctx, n.cfg.Key)
	if err != nil {
		return Term{}, fmt.Errorf("watch %s: %w", n.cfg.Key, err)
	}
	defer func() { _ = w.Stop() }()
	if t, ok, err := n.create(ctx); ok || err != nil {
		return t, err
	}
	fallback := time.NewTimer(n.ttl)
	defer fallback.Stop()
	for {
		select {
		case <-ctx.Done():
			return Term{}, ctx.Err()
		case e, open := <-w.Updates():
			if !open {
				return Term{}, errors.New("lease watch closed")
			}
			if e == nil { // initial values done
				continue
			}
			if e.Operation() == jetstream.KeyValuePut {
				n.setHolder(string(e.Value()))
				fallback.Reset(n.ttl)
				continue
			}
			n.setHolder("")
		case <-fallback.C:
			fallback.Reset(n.ttl)
		}
		if t, ok, err := n.create(ctx); ok || err != nil {
			return t, err
		}
	}
}

// create tries to take the key; ok is false when someone else holds it.
func (n *NATS) create(ctx context.Context) (Term, bool, error) {
	since := time.Now()
	rev, err := n.kv.Create(ctx, n.cfg.Key, []byte(n.instance))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return Term{}, false, nil
	}
	if err != nil {
		return Term{}, false, fmt.Errorf("create %s: %w", n.cfg.Key, err)
	}
	n.last = rev
	n.setHolder(n.instance)
	return Term{Token: rev, Since: since}, true, nil
}

// Renew updates the key on our last revision; it fails once anyone else wrote it.
func (n *NATS) Renew(ctx context.Context) error {
	rev, err := n.kv.Update(ctx, n.cfg.Key, []byte(n.instance), n.last)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("%w: update on revision %d: %w", ErrLost, n.last, err)
		}
		return fmt.Errorf("update on revision %d: %w", n.last, err)
	}
	n.last = rev
	return nil
}

// Release deletes the key only if our last revision is still the latest.
func (n *NATS) Release(ctx context.Context) error {
	if err := n.kv.Delete(ctx, n.cfg.Key, jetstream.LastRevision(n.last)); err != nil {
		return fmt.Errorf("delete on revision %d: %w", n.last, err)
	}
	n.setHolder("")
	return nil
}

// Close does nothing: the connection belongs to the caller.
func (n *NATS) Close(context.Context) error { return nil }

// Holder is the instance named by the last value seen.
func (n *NATS) Holder() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.holder
}

func (n *NATS) setHolder(h string) {
	n.mu.Lock()
	n.holder = h
	n.mu.Unlock()
}
