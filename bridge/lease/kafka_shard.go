package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// KafkaShardConfig is where the Kafka shard lives.
type KafkaShardConfig struct {
	// Kafka is the coordination group (GroupID) and topic, whose partitions are the slots.
	Kafka    KafkaConfig
	Instance string
	TTL      time.Duration // the group's session and rebalance timeout
	Slots    int           // org slots: every replica of a deployment must count the same
	Logger   *slog.Logger
}

// KafkaShard is the partner-mode shard on Kafka: one consumer group whose members are the
// replicas and whose assignment, computed by balance on the group's leader, maps every
// org slot to one replica. Org(org) is the lease of one org: held while this replica owns
// the org's slot in the current generation and its group session is surely alive.
type KafkaShard struct {
	k      *Kafka
	cfg    KafkaShardConfig
	log    *slog.Logger
	rejoin chan struct{} // asks the group loop to rejoin (buffered: 1)

	mu       sync.Mutex
	orgs     []string
	orgsHash uint64
	member   bool          // a member of the current generation (no rebalance seen yet)
	leader   bool          // computed the current generation's assignment
	gen      int32         // the current generation
	view     slotMap       // the latest shard map (Self -1: this replica owns nothing)
	since    map[int]int32 // owned slot → generation in which it became this replica's
	held     map[int]int   // slot → org terms running
	seq      uint64        // terms acquired (the low bits of the fencing token)
	beat     time.Time     // send time of the last request the coordinator answered as a member
	changed  chan struct{} // closed and replaced on every change of the above
	onChange func()
}

// slotMap is a generation's shard map as every member receives it.
type slotMap struct {
	Slots     int      `json:"n"`
	Instances []string `json:"i,omitempty"` // members' instances, by member index
	Owners    []int    `json:"o,omitempty"` // slot → member index (-1: none)
	Self      int      `json:"s"`           // this member's index (-1: not a member of the map)
	Release   int      `json:"r"`           // the slot this member is to hand over (-1: none)
}

var noMap = slotMap{Self: -1, Release: -1}

// NewKafkaShard validates cfg.
func NewKafkaShard(cfg KafkaShardConfig) (*KafkaShard, error) {
	if cfg.Instance == "" || cfg.TTL <= 0 || cfg.Slots < 1 {
		return nil, errors.New("lease: kafka shard: instance, ttl and slots are required")
	}
	cfg.Kafka.Partitions = cfg.Slots
	k, err := NewKafka(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &KafkaShard{k: k, cfg: cfg, log: cfg.Logger.With("component", "kafka_shard", "group", cfg.Kafka.GroupID),
		rejoin: make(chan struct{}, 1), view: noMap, since: map[int]int32{}, held: map[int]int{},
		changed: make(chan struct{})}, nil
}

// SetOrgs sets the org list: the leader weighs slots by it, so a change on the leader
// rebalances.
func (s *KafkaShard) SetOrgs(orgs []string) {
	sorted := slices.Sorted(slices.Values(orgs))
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.Join(sorted, "\n")))
	s.mu.Lock()
	changed := h.Sum64() != s.orgsHash
	s.orgs, s.orgsHash = sorted, h.Sum64()
	leader := s.leader
	s.mu.Unlock()
	if changed && leader {
		s.poke()
	}
}

func (s *KafkaShard) poke() {
	select {
	case s.rejoin <- struct{}{}:
	default:
	}
}

// Run keeps this replica in the group until ctx ends, then leaves it (the others take
// its slots at once). Run ctx only after every org term has ended: terms are renewed by
// the group's heartbeats. changed is called whenever the shard map changed.
func (s *KafkaShard) Run(ctx context.Context, changed func()) error {
	s.mu.Lock()
	s.onChange = changed
	s.mu.Unlock()
	if err := s.k.Prepare(ctx, s.cfg.Instance, s.cfg.TTL); err != nil {
		return err
	}
	defer s.leave()
	retry := max(s.cfg.TTL/10, 100*time.Millisecond)
	for ctx.Err() == nil {
		if err := s.join(ctx); err != nil {
			if ctx.Err() != nil {
				break
			}
			if errors.Is(err, ErrRefused) {
				s.log.Error("shard group refused; this replica leads no org until the setting is fixed", "error", err)
				sleep(ctx, refusedRetryMax)
				continue
			}
			s.log.Warn("shard group join failed; retrying", "error", err, "retry_in", retry.String())
			sleep(ctx, retry)
			continue
		}
		s.heartbeat(ctx)
	}
	return nil
}

// join joins the group with this replica's claim and applies the new shard map.
func (s *KafkaShard) join(ctx context.Context) error {
	s.update(func() { s.member, s.leader = false, false })
	meta, _ := json.Marshal(s.claim())
	sent := time.Now()
	a, err := s.k.joinSync(ctx, meta, s.assign)
	if err != nil {
		if errors.Is(err, kafka.RebalanceInProgress) {
			return nil // the next join completes it
		}
		return err
	}
	var m slotMap
	if err := json.Unmarshal(a.UserData, &m); err != nil || m.Slots != s.cfg.Slots || m.Self < 0 {
		if err == nil && m.Slots != s.cfg.Slots {
			s.log.Error("the group's leader counts another number of slots: set KAFKA_SHARD_SLOTS alike on every replica",
				"slots", s.cfg.Slots, "leader_slots", m.Slots)
		}
		m = noMap
	}
	s.apply(m, sent)
	return nil
}

// heartbeat heart-beats until the group rebalances, this replica is out of it, or a
// rejoin is asked for.
func (s *KafkaShard) heartbeat(ctx context.Context) {
	if !s.isMember() {
		return
	}
	t := time.NewTicker(s.k.renewInterval(s.cfg.TTL))
	defer t.Stop()
	for failed := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-s.rejoin:
			return
		case <-t.C:
		}
		sent := time.Now()
		hctx, cancel := context.WithTimeout(ctx, s.cfg.TTL/3)
		err := s.k.heartbeat(hctx)
		cancel()
		switch {
		case err == nil:
			failed = 0
			s.update(func() { s.beat = sent })
		case errors.Is(err, kafka.RebalanceInProgress):
			return
		case errors.Is(err, kafka.UnknownMemberId), errors.Is(err, kafka.IllegalGeneration),
			errors.Is(err, kafka.FencedInstanceID):
			s.log.Warn("no longer a member of the shard group; its orgs' terms end", "error", err)
			s.k.member = ""
			s.apply(noMap, time.Time{})
			return
		default:
			if failed++; failed == 1 && ctx.Err() == nil {
				s.log.Warn("shard group heartbeat failed; retrying while the terms are surely held", "error", err)
			}
		}
	}
}

// leave leaves the group and forgets the shard map.
func (s *KafkaShard) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), max(s.cfg.TTL/3, time.Second))
	defer cancel()
	if err := s.k.Close(ctx); err != nil {
		s.log.Info("shard group not left (the session expires by itself)", "error", err)
	}
	s.apply(noMap, time.Time{})
}

// apply installs a new shard map received at generation s.k.gen (beat: when the join was
// sent; zero: this replica is out of the group).
func (s *KafkaShard) apply(m slotMap, beat time.Time) {
	s.update(func() {
		s.view, s.member = m, !beat.IsZero()
		if s.member {
			s.gen, s.beat = s.k.gen, beat
		}
		since := map[int]int32{}
		for slot, o := range m.Owners {
			if o == m.Self && m.Self >= 0 {
				if g, ok := s.since[slot]; ok {
					since[slot] = g
				} else {
					since[slot] = s.gen
				}
			}
		}
		s.since = since
	})
	if m.Release >= 0 && s.heldCount(m.Release) == 0 {
		s.poke() // nothing runs on the slot to hand over: give it up at once
	}
}

// update runs f under the lock, then tells the waiters and the owner of the change.
func (s *KafkaShard) update(f func()) {
	s.mu.Lock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
	cb := s.onChange
	s.mu.Unlock()
	if cb != nil {
		cb()
	}
}

func (s *KafkaShard) isMember() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.member
}

func (s *KafkaShard) heldCount(slot int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[slot]
}

// errNoBeat reports that no heartbeat was answered within a renewal.
var errNoBeat = fmt.Errorf("shard group: no heartbeat answered")
