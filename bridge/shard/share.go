package shard

import (
	"hash/fnv"
	"slices"
)

// FairShare is ⌈orgs ÷ replicas⌉ (replicas below 1 count as 1).
func FairShare(orgs, replicas int) int {
	replicas = max(replicas, 1)
	return (orgs + replicas - 1) / replicas
}

// rank orders orgs by their rendezvous score for instance, highest first: each replica
// prefers a different, stable subset, so replicas with room rarely race for one org.
func rank(instance string, orgs []string) []string {
	out := slices.Clone(orgs)
	score := make(map[string]uint64, len(out))
	for _, o := range out {
		score[o] = rendezvous(instance, o)
	}
	slices.SortFunc(out, func(a, b string) int {
		switch sa, sb := score[a], score[b]; {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return out
}

func rendezvous(instance, org string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(instance))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(org))
	return h.Sum64()
}
