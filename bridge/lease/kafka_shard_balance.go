package lease

import (
	"cmp"
	"hash/fnv"
	"slices"
)

// SlotOf is org's slot among slots: a stable hash of its uuid, the same on every replica.
func SlotOf(org string, slots int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(org))
	return int(h.Sum32() % uint32(max(slots, 1)))
}

// slotClaim is a shard member's group metadata: who it is, how many slots it counts, and
// the slots it has. Held slots run org terms and move only once the member released
// them; kept slots (assigned, no term running) may move at any rebalance.
type slotClaim struct {
	Instance string        `json:"i"`
	Slots    int           `json:"n"`
	Orgs     uint64        `json:"v,omitempty"` // hash of its org list: a change rebalances
	Held     map[int]int32 `json:"h,omitempty"` // slot → generation in which it was assigned
	Kept     []int         `json:"k,omitempty"`
}

// shardMember is one member of the shard group as the leader sees it.
type shardMember struct {
	id    string
	claim slotClaim
}

// plan is a generation's shard map: the member owning each slot (index into the members,
// -1: none) and, per member, the held slot it is to hand over (-1: none).
type plan struct {
	owners  []int
	release []int
}

// balance computes the shard map for members (sorted by id) from their claims and the
// org count of every slot (weights). It is sticky and moves little:
//  1. a held slot stays with its holder (the newest generation wins a conflicting claim);
//  2. a kept slot stays while its member is within the fair share ⌈orgs ÷ members⌉;
//  3. every other slot goes, heaviest first, to the least loaded member;
//  4. a member above the share + 1 hands over one held slot (its lightest) when another
//     member has room for it: it stops those orgs, rejoins, and step 3 places the slot.
func balance(members []shardMember, weights []int) plan {
	b := newBalancer(members, weights)
	b.pin()
	b.keep()
	b.place()
	b.handOver()
	return plan{owners: b.owners, release: b.release}
}

type balancer struct {
	ms      []shardMember
	w       []int
	owners  []int
	gen     []int32
	pinned  []bool
	load    []int
	count   []int
	release []int
	share   int
}

func newBalancer(ms []shardMember, w []int) *balancer {
	b := &balancer{ms: ms, w: w, owners: make([]int, len(w)), gen: make([]int32, len(w)), pinned: make([]bool, len(w)),
		load: make([]int, len(ms)), count: make([]int, len(ms)), release: make([]int, len(ms))}
	total := 0
	for _, n := range w {
		total += n
	}
	for i := range b.owners {
		b.owners[i] = -1
	}
	for i := range b.release {
		b.release[i] = -1
	}
	b.share = (total + max(len(ms), 1) - 1) / max(len(ms), 1)
	return b
}

func (b *balancer) own(s, m int) {
	if prev := b.owners[s]; prev >= 0 {
		b.load[prev] -= b.w[s]
		b.count[prev]--
	}
	b.owners[s] = m
	b.load[m] += b.w[s]
	b.count[m]++
}

func (b *balancer) pin() {
	for i, m := range b.ms {
		for s, g := range m.claim.Held {
			if s >= 0 && s < len(b.w) && (b.owners[s] < 0 || g > b.gen[s]) {
				b.own(s, i)
				b.gen[s], b.pinned[s] = g, true
			}
		}
	}
}

func (b *balancer) keep() {
	for i, m := range b.ms {
		kept := slices.Clone(m.claim.Kept)
		slices.Sort(kept)
		for _, s := range kept {
			if s >= 0 && s < len(b.w) && b.owners[s] < 0 && b.load[i]+b.w[s] <= b.share {
				b.own(s, i)
			}
		}
	}
}

func (b *balancer) place() {
	if len(b.ms) == 0 {
		return
	}
	var free []int
	for s, o := range b.owners {
		if o < 0 {
			free = append(free, s)
		}
	}
	slices.SortStableFunc(free, func(x, y int) int { return cmp.Compare(b.w[y], b.w[x]) })
	for _, s := range free {
		best := 0
		for i := range b.ms {
			if b.load[i] < b.load[best] || b.load[i] == b.load[best] && b.count[i] < b.count[best] {
				best = i
			}
		}
		b.own(s, best)
	}
}

func (b *balancer) handOver() {
	for i := range b.ms {
		if b.load[i] <= b.share+1 {
			continue
		}
		s := b.lightestPinned(i)
		if s < 0 {
			continue
		}
		for j := range b.ms {
			if j != i && b.load[j]+b.w[s] <= b.share+1 {
				b.release[i] = s
				break
			}
		}
	}
}

// lightestPinned is member i's held slot with the fewest orgs (at least one), or -1.
func (b *balancer) lightestPinned(i int) int {
	best := -1
	for s, o := range b.owners {
		if o == i && b.pinned[s] && b.w[s] > 0 && (best < 0 || b.w[s] < b.w[best]) {
			best = s
		}
	}
	return best
}
