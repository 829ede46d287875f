package lease

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomWeights is the org count per slot of n random org uuids.
func randomWeights(r *rand.Rand, n, slots int) []int {
	w := make([]int, slots)
	for range n {
		w[SlotOf(fmt.Sprintf("%08x-%04x-4%03x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff), slots)]++
	}
	return w
}

func fresh(k int) []shardMember {
	ms := make([]shardMember, k)
	for i := range ms {
		ms[i] = shardMember{id: fmt.Sprintf("m%02d", i), claim: slotClaim{Instance: fmt.Sprintf("r%d", i)}}
	}
	return ms
}

// loads is every member's org count under p.
func loads(p plan, w []int, k int) []int {
	out := make([]int, k)
	for s, o := range p.owners {
		if o >= 0 {
			out[o] += w[s]
		}
	}
	return out
}

func share(w []int, k int) int {
	t := 0
	for _, n := range w {
		t += n
	}
	return (t + k - 1) / k
}

// next is the members' claims after they applied p at generation gen: a slot with orgs
// is held (its terms run), the rest kept; a slot handed over is dropped.
func next(ms []shardMember, p plan, w []int, gen int32) []shardMember {
	out := make([]shardMember, len(ms))
	for i, m := range ms {
		c := slotClaim{Instance: m.claim.Instance, Held: map[int]int32{}}
		for s, o := range p.owners {
			switch {
			case o != i || s == p.release[i]:
			case w[s] > 0:
				g, ok := m.claim.Held[s]
				if !ok {
					g = gen
				}
				c.Held[s] = g
			default:
				c.Kept = append(c.Kept, s)
			}
		}
		out[i] = shardMember{id: m.id, claim: c}
	}
	return out
}

// settle runs generations until nobody hands a slot over; it returns the members, the
// last plan and the slots that moved between members.
func settle(t *testing.T, ms []shardMember, w []int, gen int32) ([]shardMember, plan, int) {
	t.Helper()
	moved := 0
	for range 200 {
		p := balance(ms, w)
		for i, m := range ms { // held slots never move without a hand-over
			for s := range m.claim.Held {
				if p.owners[s] != i {
					t.Fatalf("generation %d: held slot %d of %s moved to %d", gen, s, m.id, p.owners[s])
				}
			}
		}
		ms = next(ms, p, w, gen)
		gen++
		handing := false
		for _, r := range p.release {
			if r >= 0 {
				handing = true
				moved++
			}
		}
		if !handing {
			return ms, p, moved
		}
	}
	t.Fatal("the shard did not settle in 200 generations")
	return nil, plan{}, 0
}

func TestBalanceFreshWithinFairShare(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, slots := range []int{16, 64, 256} {
		for seed := range 200 {
			k := 1 + seed%5
			w := randomWeights(r, 10+seed%50, slots)
			_, p, _ := settle(t, fresh(k), w, 1)
			for i, l := range loads(p, w, k) {
				if l > share(w, k)+1 {
					t.Fatalf("slots %d, %d members: member %d leads %d orgs, share %d (+1)", slots, k, i, l, share(w, k))
				}
			}
			for s, o := range p.owners {
				if o < 0 {
					t.Fatalf("slot %d unowned", s)
				}
			}
		}
	}
}

func TestBalanceJoinMovesOneAtATime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w := randomWeights(r, 30, 256)
	two, _, _ := settle(t, fresh(2), w, 1)
	three := append(two, fresh(3)[2])
	_, p, moved := settle(t, three, w, 10)
	l := loads(p, w, 3)
	if l[2] == 0 || max(l[0], l[1], l[2]) > share(w, 3)+1 {
		t.Fatalf("after the join: loads %v, share %d", l, share(w, 3))
	}
	if moved > l[2] {
		t.Fatalf("%d hand-overs for %d orgs on the new member", moved, l[2])
	}
}

func TestBalanceFailoverKeepsSurvivors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	w := randomWeights(r, 30, 256)
	ms, _, _ := settle(t, fresh(3), w, 1)
	survivors := []shardMember{ms[0], ms[2]}
	p := balance(survivors, w)
	for i, m := range survivors {
		for s := range m.claim.Held {
			if p.owners[s] != i {
				t.Fatalf("survivor %s lost held slot %d", m.id, s)
			}
		}
	}
	for s := range ms[1].claim.Held {
		if p.owners[s] < 0 {
			t.Fatalf("the dead member's slot %d is unowned", s)
		}
	}
	if l := loads(p, w, 2); max(l[0], l[1]) > share(w, 2)+1 {
		t.Fatalf("after the failover: loads %v, share %d", l, share(w, 2))
	}
}

func TestBalanceCollisionsWeighOrgs(t *testing.T) {
	w := make([]int, 16)
	w[0], w[1], w[2], w[3] = 4, 1, 1, 1 // four orgs hash to slot 0
	for i := 4; i < 12; i++ {
		w[i] = 1
	}
	_, p, _ := settle(t, fresh(3), w, 1)
	if l := loads(p, w, 3); max(l[0], l[1], l[2]) > share(w, 3)+1 {
		t.Fatalf("loads %v, share %d", l, share(w, 3))
	}
}

func TestBalanceNewestClaimWins(t *testing.T) {
	w := []int{1, 1}
	ms := fresh(2)
	ms[0].claim.Held = map[int]int32{0: 3} // a stale claim (it was out of the group)
	ms[1].claim.Held = map[int]int32{0: 7}
	if p := balance(ms, w); p.owners[0] != 1 {
		t.Fatalf("slot 0 went to %d, want the member assigned it in the newer generation", p.owners[0])
	}
}
