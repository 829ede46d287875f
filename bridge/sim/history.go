package sim

import (
	"slices"
	"sort"
	"strings"
)

// history is the REST view of every alert, sorted by (timestampMs, uuid); bounded by max,
// the oldest dropped first. Guarded by Server.mu.
type history struct {
	max    int
	seq    uint64
	sorted []*Alert
	byUUID map[string]*Alert
}

func less(a *Alert, ts int64, uuid string) bool {
	return a.TimestampMs < ts || a.TimestampMs == ts && a.UUID < uuid
}

// add stores a (replacing an alert with the same uuid) and returns the stored copy.
func (h *history) add(a Alert) *Alert {
	if h.byUUID == nil {
		h.byUUID = make(map[string]*Alert)
	}
	if old, ok := h.byUUID[a.UUID]; ok {
		h.remove(old)
	}
	h.seq++
	a.seq = h.seq
	p := &a
	i := sort.Search(len(h.sorted), func(i int) bool { return !less(h.sorted[i], a.TimestampMs, a.UUID) })
	h.sorted = slices.Insert(h.sorted, i, p)
	h.byUUID[a.UUID] = p
	for h.max > 0 && len(h.sorted) > h.max {
		h.remove(h.sorted[0])
	}
	return p
}

func (h *history) remove(a *Alert) {
	i := sort.Search(len(h.sorted), func(i int) bool { return !less(h.sorted[i], a.TimestampMs, a.UUID) })
	if i < len(h.sorted) && h.sorted[i] == a {
		h.sorted = slices.Delete(h.sorted, i, i+1)
	}
	delete(h.byUUID, a.UUID)
}

func (h *history) inCreationOrder() []Alert {
	out := make([]Alert, len(h.sorted))
	for i, a := range h.sorted {
		out[i] = *a
	}
	slices.SortFunc(out, func(x, y Alert) int { return compareU64(x.seq, y.seq) })
	return out
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// alertQuery is the getPolicyAlertsV2 request.
type alertQuery struct {
	AfterTimestampMs  *int64  `json:"afterTimestampMs"`
	BeforeTimestampMs *int64  `json:"beforeTimestampMs"`
	MaxResults        int     `json:"maxResults"`
	LastTimestampMs   *int64  `json:"lastTimestampMs"`
	LastUUID          *string `json:"lastUuid"`
}

// query returns one page: alerts with after ≤ timestampMs ≤ before (inclusive, absent =
// unbounded), past the cursor (lastTimestampMs, lastUuid) in the page order, at most limit.
func (h *history) query(q alertQuery, newestFirst bool, limit int) []Alert {
	in := func(a *Alert) bool {
		if q.AfterTimestampMs != nil && *q.AfterTimestampMs > 0 && a.TimestampMs < *q.AfterTimestampMs {
			return false
		}
		if q.BeforeTimestampMs != nil && *q.BeforeTimestampMs > 0 && a.TimestampMs > *q.BeforeTimestampMs {
			return false
		}
		return pastCursor(a, q, newestFirst)
	}
	out := make([]Alert, 0, min(limit, 256))
	n := len(h.sorted)
	for k := 0; k < n && len(out) < limit; k++ {
		i := k
		if newestFirst {
			i = n - 1 - k
		}
		if a := h.sorted[i]; in(a) {
			out = append(out, *a)
		}
	}
	return out
}

// pastCursor: with lastTimestampMs set, only alerts strictly after (ts, uuid) in page order
// (with no lastUuid, strictly after the timestamp).
func pastCursor(a *Alert, q alertQuery, newestFirst bool) bool {
	if q.LastTimestampMs == nil || *q.LastTimestampMs <= 0 {
		return true
	}
	ts, uuid := *q.LastTimestampMs, ""
	if q.LastUUID != nil {
		uuid = *q.LastUUID
	}
	if uuid == "" {
		if newestFirst {
			return a.TimestampMs < ts
		}
		return a.TimestampMs > ts
	}
	if newestFirst {
		return less(a, ts, uuid)
	}
	return a.TimestampMs > ts || a.TimestampMs == ts && a.UUID > uuid
}

// describe writes a textDescription like Rhombus's.
func describe(triggers []string, camera string) string {
	what := "Activity"
	if len(triggers) > 0 && triggers[0] != "" {
		w := strings.ToLower(strings.ReplaceAll(triggers[0], "_", " "))
		what = strings.ToUpper(w[:1]) + w[1:]
	}
	return what + " on " + camera
}
