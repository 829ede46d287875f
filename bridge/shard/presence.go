package shard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// PresenceBucket is the KV bucket of live replicas.
const PresenceBucket = "rhombus_bridge_shard"

// PresenceKey is the key prefix of a deployment's replicas in PresenceBucket.
func PresenceKey(deployment string) string { return "replicas." + token(deployment) + "." }

// OpenPresence creates (or updates) the presence bucket: entries expire after ttl, with
// expiry markers so watchers see a replica leave (servers before 2.11 have none; the
// manager then also drops replicas it has not heard from for longer than ttl).
func OpenPresence(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas int) (jetstream.KeyValue, error) {
	kvc := jetstream.KeyValueConfig{Bucket: PresenceBucket, Description: "rhombus-bridge live replicas (partner mode)",
		History: 1, TTL: ttl, LimitMarkerTTL: max(ttl, time.Second), Replicas: max(replicas, 1)}
	kv, err := js.CreateOrUpdateKeyValue(ctx, kvc)
	if errors.Is(err, jetstream.ErrLimitMarkerTTLNotSupported) {
		kvc.LimitMarkerTTL = 0
		kv, err = js.CreateOrUpdateKeyValue(ctx, kvc)
	}
	if err != nil {
		return nil, fmt.Errorf("kv bucket %s: %w", PresenceBucket, err)
	}
	return kv, nil
}

// watch starts the lease and presence watchers and this replica's presence heartbeat.
// Campaigns start once both buckets' current values were read and a heartbeat interval
// has passed, so replicas started together see each other first.
func (m *Manager) watch(ctx context.Context) error {
	lw, err := m.cfg.Lease.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("shard: watch lease bucket: %w", err)
	}
	pw, err := m.cfg.Presence.Watch(ctx, m.cfg.PresencePrefix+">")
	if err != nil {
		_ = lw.Stop()
		return fmt.Errorf("shard: watch presence: %w", err)
	}
	leaseSynced, presenceSynced := make(chan struct{}), make(chan struct{})
	m.wg.Go(func() { m.followLeases(ctx, lw, leaseSynced) })
	m.wg.Go(func() { m.followPresence(ctx, pw, presenceSynced) })
	m.wg.Go(func() { m.heartbeat(ctx) })
	m.wg.Go(func() {
		for _, c := range []<-chan struct{}{leaseSynced, presenceSynced} {
			select {
			case <-c:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-time.After(m.cfg.TTL / 5):
		case <-ctx.Done():
			return
		}
		m.mu.Lock()
		m.synced = true
		m.mu.Unlock()
		m.poke()
	})
	return nil
}

// followLeases keeps holders in step with the lease bucket.
func (m *Manager) followLeases(ctx context.Context, w jetstream.KeyWatcher, synced chan<- struct{}) {
	reopen := func() (jetstream.KeyWatcher, error) { return m.cfg.Lease.WatchAll(ctx) }
	m.follow(ctx, "lease bucket", w, reopen, synced, func() { clear(m.holders) }, m.applyLease)
}

// applyLease records a lease bucket entry and reports whether an org's holder changed.
// A renewal (the same holder writing its key again) changes nothing and so wakes no
// reconcile: with hundreds of orgs, renewals are most of the bucket's traffic.
func (m *Manager) applyLease(e jetstream.KeyValueEntry) bool {
	org, ok := m.keyOrg[e.Key()]
	if !ok {
		return false
	}
	was, held := m.holders[org]
	if e.Operation() != jetstream.KeyValuePut {
		delete(m.holders, org)
		return held
	}
	m.holders[org] = string(e.Value())
	return !held || was != string(e.Value())
}

// followPresence keeps live in step with the presence bucket.
func (m *Manager) followPresence(ctx context.Context, w jetstream.KeyWatcher, synced chan<- struct{}) {
	reopen := func() (jetstream.KeyWatcher, error) { return m.cfg.Presence.Watch(ctx, m.cfg.PresencePrefix+">") }
	m.follow(ctx, "presence", w, reopen, synced, func() { clear(m.live) }, m.applyPresence)
}

// applyPresence records a presence entry and reports whether the set of live replicas
// changed: the heartbeat of a replica already counted live does not change it.
func (m *Manager) applyPresence(e jetstream.KeyValueEntry) bool {
	name := strings.TrimPrefix(e.Key(), m.cfg.PresencePrefix)
	seen, known := m.live[name]
	if e.Operation() != jetstream.KeyValuePut {
		delete(m.live, name)
		return known
	}
	now := time.Now()
	m.live[name] = now
	return !known || !m.isLive(seen, now)
}

// follow applies every entry of w (under m.mu) until ctx ends, waking a reconcile when
// apply reports a change. Should the watch close, it
// is opened again after a second, and reset runs before its initial values (what was
// deleted meanwhile is not replayed). synced is closed after the first initial values.
func (m *Manager) follow(ctx context.Context, what string, w jetstream.KeyWatcher,
	reopen func() (jetstream.KeyWatcher, error), synced chan<- struct{}, reset func(), apply func(jetstream.KeyValueEntry) bool) {
	once := onceCloser(synced)
	for {
		m.drain(ctx, w, once, apply)
		_ = w.Stop()
		for {
			if ctx.Err() != nil {
				return
			}
			m.log.Warn("watch closed; opening it again", "watch", what)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			var err error
			if w, err = reopen(); err == nil {
				break
			}
			m.log.Warn("cannot watch", "watch", what, "error", err)
		}
		m.mu.Lock()
		reset()
		m.mu.Unlock()
	}
}

// drain applies w's entries until it closes or ctx ends; initial marks the end of the
// initial values.
func (m *Manager) drain(ctx context.Context, w jetstream.KeyWatcher, initial func(), apply func(jetstream.KeyValueEntry) bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, open := <-w.Updates():
			if !open {
				return
			}
			if e == nil {
				initial()
				continue
			}
			m.mu.Lock()
			changed := apply(e)
			m.mu.Unlock()
			if changed {
				m.poke()
			}
		}
	}
}

// heartbeat announces this replica every TTL/5 and withdraws it when ctx ends, so peers
// take over its orgs as it hands them over.
func (m *Manager) heartbeat(ctx context.Context) {
	key := m.cfg.PresencePrefix + token(m.cfg.Instance)
	t := time.NewTicker(m.cfg.TTL / 5)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, m.cfg.TTL/5)
		if _, err := m.cfg.Presence.Put(pctx, key, []byte(m.cfg.Instance)); err != nil && ctx.Err() == nil {
			m.log.Warn("presence heartbeat failed", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = m.cfg.Presence.Delete(dctx, key)
			cancel()
			return
		case <-t.C:
		}
	}
}

// liveLocked lists the replicas heard from within the TTL (this one always counts).
func (m *Manager) liveLocked(now time.Time) []string {
	out := []string{token(m.cfg.Instance)}
	for name, seen := range m.live {
		if name != out[0] && m.isLive(seen, now) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// isLive: a replica last heard from at seen still counts at now.
func (m *Manager) isLive(seen, now time.Time) bool { return now.Sub(seen) <= m.cfg.TTL+m.cfg.TTL/5 }

func onceCloser(c chan<- struct{}) func() {
	done := false
	return func() {
		if !done {
			done = true
			close(c)
		}
	}
}

// token keeps a name usable as one KV key token.
func token(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}
