package event

import "strings"

// Filter selects events by entity type (RHOMBUS_ENTITIES). The zero Filter passes
// everything; invalid events always pass, so nothing is dropped silently.
type Filter struct {
	entities map[string]struct{}
}

// NewFilter builds a filter from entity names (case-insensitive). No names: pass all.
func NewFilter(entities []string) Filter {
	f := Filter{}
	for _, e := range entities {
		e = strings.ToUpper(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if f.entities == nil {
			f.entities = map[string]struct{}{}
		}
		f.entities[e] = struct{}{}
	}
	return f
}

// Pass reports whether ev is to be forwarded.
func (f Filter) Pass(ev *Event) bool {
	if f.entities == nil || ev.Invalid {
		return true
	}
	_, ok := f.entities[strings.ToUpper(ev.Entity)]
	return ok
}
