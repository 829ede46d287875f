package lease

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/segmentio/kafka-go"
)

// claim is this replica's group metadata: held slots run org terms, kept slots are the
// rest of those owned (not the one being handed over).
func (s *KafkaShard) claim() slotClaim {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := slotClaim{Instance: s.cfg.Instance, Slots: s.cfg.Slots, Orgs: s.orgsHash, Held: map[int]int32{}}
	for slot, n := range s.held {
		if n > 0 {
			c.Held[slot] = s.since[slot]
		}
	}
	for slot := range s.since {
		if s.held[slot] == 0 && slot != s.view.Release {
			c.Kept = append(c.Kept, slot)
		}
	}
	slices.Sort(c.Kept)
	return c
}

// assign is the leader's side of a rebalance: balance over the members counting the
// same slots, with the slots weighed by this replica's org list.
func (s *KafkaShard) assign(ms []kafka.JoinGroupResponseMember) []kafka.SyncGroupRequestAssignment {
	s.mu.Lock()
	s.leader = true
	weights := make([]int, s.cfg.Slots)
	for _, o := range s.orgs {
		weights[SlotOf(o, s.cfg.Slots)]++
	}
	s.mu.Unlock()
	slices.SortFunc(ms, func(a, b kafka.JoinGroupResponseMember) int { return strings.Compare(a.ID, b.ID) })
	var valid []shardMember
	index := map[string]int{}
	for _, m := range ms {
		var c slotClaim
		if json.Unmarshal(m.Metadata.UserData, &c) == nil && c.Slots == s.cfg.Slots {
			index[m.ID] = len(valid)
			valid = append(valid, shardMember{id: m.ID, claim: c})
		}
	}
	p := balance(valid, weights)
	instances := make([]string, len(valid))
	for i, m := range valid {
		instances[i] = m.claim.Instance
	}
	out := make([]kafka.SyncGroupRequestAssignment, 0, len(ms))
	for _, m := range ms {
		sm, parts := noMap, []int{}
		sm.Slots = s.cfg.Slots
		if i, ok := index[m.ID]; ok {
			sm = slotMap{Slots: s.cfg.Slots, Instances: instances, Owners: p.owners, Self: i, Release: p.release[i]}
			for slot, o := range p.owners {
				if o == i {
					parts = append(parts, slot)
				}
			}
		}
		ud, _ := json.Marshal(sm)
		out = append(out, kafka.SyncGroupRequestAssignment{MemberID: m.ID, Assignment: kafka.GroupProtocolAssignment{
			AssignedPartitions: map[string][]int{s.cfg.Kafka.Topic: parts}, UserData: ud}})
	}
	return out
}
