package spool

import (
	"fmt"
	"strings"
	"time"
)

// SyncMode says when appended records are forced to stable storage. See the package
// documentation for the trade-off.
type SyncMode int

// The sync modes.
const (
	SyncInterval SyncMode = iota // fsync in the background at most every Interval (default)
	SyncAlways                   // fsync before Append returns
	SyncNone                     // leave write-back to the operating system; Close syncs
)

// DefaultSyncInterval is the background fsync period of SyncInterval.
const DefaultSyncInterval = 100 * time.Millisecond

// SyncPolicy is the fsync policy. The zero value is SyncInterval every 100ms.
type SyncPolicy struct {
	Mode     SyncMode
	Interval time.Duration // SyncInterval's period, also the flusher's tick in every mode (100ms)
}

// ParseSyncPolicy reads "always", "none", "interval" or a duration such as "250ms"
// (SyncInterval with that period). "" is the default.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "interval":
		return SyncPolicy{}, nil
	case "always":
		return SyncPolicy{Mode: SyncAlways}, nil
	case "none":
		return SyncPolicy{Mode: SyncNone}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return SyncPolicy{}, fmt.Errorf("spool: sync policy %q: want always, none, interval or a positive duration", s)
	}
	return SyncPolicy{Mode: SyncInterval, Interval: d}, nil
}

// String is the policy in ParseSyncPolicy's syntax.
func (p SyncPolicy) String() string {
	switch p.Mode {
	case SyncAlways:
		return "always"
	case SyncNone:
		return "none"
	}
	if p.Interval == 0 {
		return DefaultSyncInterval.String()
	}
	return p.Interval.String()
}
