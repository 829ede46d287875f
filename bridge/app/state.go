package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
)

// gapCauses are the causes a gap can open with (rhombus_bridge_gaps_total starts at 0 for
// each): a term's start, a full queue, and every way a connection ends but a shutdown.
func gapCauses() []string {
	out := []string{"startup", "failover", "overflow"}
	for _, c := range []rhombus.Cause{rhombus.CauseAbrupt, rhombus.CauseClose, rhombus.CauseStompErr,
		rhombus.CauseHeartbeat, rhombus.CauseRefused, rhombus.CauseDial, rhombus.CauseConnect, rhombus.CauseTooLarge} {
		out = append(out, string(c))
	}
	return out
}

// state is what the running components report; App.mu guards it.
type state struct {
	org        string
	leader     bool
	standby    bool // watching the lease
	subscribed bool
	recovery   *recovery.Recovery
	// gapsDone and backfilledDone are the counts of earlier terms, so /status reports
	// this process's totals, not just the current term's.
	gapsDone, backfilledDone int64
}

func (a *App) update(f func(s *state)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(&a.state)
}

func (a *App) snapshot() state {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state
}

// status is the /status document.
func (a *App) status() ops.Status {
	s := a.snapshot()
	st := ops.Status{Instance: a.cfg.Bridge.InstanceID, Deployment: a.cfg.Bridge.Deployment, Leader: s.leader, Subscribed: s.subscribed,
		OrgUUID: s.org, Version: a.opt.Version, WatermarkMs: a.wm.Mark(),
		StartedAt: a.started.UTC().Format(time.RFC3339)}
	if a.pipe != nil {
		st.LastEventMs = a.pipe.LastEventMs()
		st.QueueDepth = a.pipe.QueueDepth()
	}
	st.Gaps, st.Backfilled = s.gapsDone, s.backfilledDone
	if s.recovery != nil {
		g, b := s.recovery.Counts()
		st.Gaps, st.Backfilled = st.Gaps+g, st.Backfilled+b
		if g := s.recovery.OpenGap(); g != nil {
			st.OpenGap = g
		}
	}
	if a.sub != nil {
		fs := a.sub.State()
		st.Feed, st.Reconnects = fs, fs.Reconnects
	}
	if a.lease != nil {
		st.Lease = struct {
			Backend string `json:"backend"`
			lease.Status
		}{a.cfg.Bridge.Lease, a.lease.Status()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st.Sinks = a.pingSinks(ctx)
	if err := readiness(st.Sinks, s); err != nil {
		st.ReadyProblem = err.Error()
	}
	return st
}

// ready is /readyz: sinks reachable, and leading with a live subscription or standing by.
func (a *App) ready(ctx context.Context) error {
	return readiness(a.pingSinks(ctx), a.snapshot())
}

// pingSinks asks every sink, once, whether its broker is reachable.
func (a *App) pingSinks(ctx context.Context) []ops.Sink {
	out := make([]ops.Sink, 0, len(a.sinkList))
	for _, sk := range a.sinkList {
		e := ops.Sink{Name: sk.Name(), Ready: true}
		if err := sk.Ping(ctx); err != nil {
			e.Ready, e.Error = false, err.Error()
		}
		out = append(out, e)
	}
	return out
}

// readiness is nil when every sink is reachable and this replica either leads with a
// live subscription or stands by on the lease.
func readiness(sinks []ops.Sink, s state) error {
	var errs []error
	for _, sk := range sinks {
		if !sk.Ready {
			errs = append(errs, fmt.Errorf("sink %s: %s", sk.Name, sk.Error))
		}
	}
	switch {
	case s.leader && !s.subscribed:
		errs = append(errs, errors.New("leader without a live Rhombus subscription"))
	case !s.leader && !s.standby:
		errs = append(errs, errors.New("neither leading nor watching the lease"))
	}
	return errors.Join(errs...)
}
