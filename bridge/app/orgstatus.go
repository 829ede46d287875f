package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/shard"
)

// orgStatus is one entry of /status `orgs` (partner mode).
type orgStatus struct {
	OrgUUID     string `json:"orgUuid"`
	Leader      bool   `json:"leader"`
	Subscribed  bool   `json:"subscribed"`
	LastEventMs int64  `json:"lastEventMs"`
	Reconnects  int64  `json:"reconnects"`
	Gaps        int64  `json:"gaps"`
	Backfilled  int64  `json:"backfilled"`
	WatermarkMs int64  `json:"watermarkMs"`
	QueueDepth  int    `json:"queueDepth"`
	FeedError   string `json:"feedError,omitempty"`
}

// shardStatus is /status `shardInfo`: what the shard sees besides the map.
type shardStatus struct {
	Replicas  []string `json:"replicas"`
	FairShare int      `json:"fairShare"`
	Orgs      int      `json:"orgs"`
}

func (u *orgUnit) orgStatus() orgStatus {
	s := u.snapshot()
	o := orgStatus{OrgUUID: u.org, Leader: s.leader, Subscribed: s.subscribed, Gaps: s.gapsDone,
		Backfilled: s.backfilledDone, WatermarkMs: u.wm.Mark(), LastEventMs: u.pipe.LastEventMs(),
		QueueDepth: u.pipe.QueueDepth()}
	if s.recovery != nil {
		g, b := s.recovery.Counts()
		o.Gaps, o.Backfilled = o.Gaps+g, o.Backfilled+b
	}
	fs := u.sub.State()
	o.Reconnects = fs.Reconnects
	if !o.Subscribed && fs.LastError != "" {
		o.FeedError = fs.LastError
	}
	return o
}

// status is /status in partner mode: the orgs this replica leads, the shard map, and at
// the top level leader (leads at least one org) and subscribed (all of those are).
func (f *fleet) status() ops.Status {
	a := f.a
	st := ops.Status{Instance: a.cfg.Bridge.InstanceID, Deployment: a.cfg.Bridge.Deployment, Version: a.opt.Version,
		StartedAt: a.started.UTC().Format(time.RFC3339)}
	led := []orgStatus{}
	for _, u := range f.unitList() {
		o := u.orgStatus()
		if !o.Leader {
			continue
		}
		led = append(led, o)
		st.LastEventMs = max(st.LastEventMs, o.LastEventMs)
		st.Reconnects += o.Reconnects
		st.Gaps += o.Gaps
		st.Backfilled += o.Backfilled
		st.QueueDepth += o.QueueDepth
	}
	slices.SortFunc(led, func(x, y orgStatus) int { return strings.Compare(x.OrgUUID, y.OrgUUID) })
	st.Leader = len(led) > 0
	st.Subscribed = st.Leader && !slices.ContainsFunc(led, func(o orgStatus) bool { return !o.Subscribed })
	shardMap, replicas := f.shard.Map(), f.shard.Replicas()
	st.Orgs, st.Shard = led, shardMap
	st.ShardInfo = shardStatus{Replicas: replicas, Orgs: len(shardMap), FairShare: shard.FairShare(len(shardMap), len(replicas))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st.Sinks = a.pingSinks(ctx)
	if err := f.readiness(st.Sinks, led); err != nil {
		st.ReadyProblem = err.Error()
	}
	return st
}

// ready is /readyz in partner mode: the sinks are reachable. An org without a live
// subscription (a revoked key, say) is reported in /status but does not take the
// replica, and with it every other org's webhooks, out of service.
func (f *fleet) ready(ctx context.Context) error {
	var errs []error
	for _, sk := range f.a.pingSinks(ctx) {
		if !sk.Ready {
			errs = append(errs, fmt.Errorf("sink %s: %s", sk.Name, sk.Error))
		}
	}
	return errors.Join(errs...)
}

// readiness is ready's verdict plus the led orgs without a live subscription.
func (f *fleet) readiness(sinks []ops.Sink, led []orgStatus) error {
	var errs []error
	for _, sk := range sinks {
		if !sk.Ready {
			errs = append(errs, fmt.Errorf("sink %s: %s", sk.Name, sk.Error))
		}
	}
	var down []string
	for _, o := range led {
		if !o.Subscribed {
			down = append(down, o.OrgUUID)
		}
	}
	if len(down) > 0 {
		errs = append(errs, fmt.Errorf("led orgs without a live Rhombus subscription: %s", strings.Join(down, ", ")))
	}
	return errors.Join(errs...)
}

// Gather is /metrics in partner mode: the process's metrics and every org's, each of
// those with an org label (bounded by the org count).
func (f *fleet) Gather() ([]*dto.MetricFamily, error) {
	gs := prometheus.Gatherers{f.a.reg}
	for org, u := range f.unitList() {
		gs = append(gs, orgGatherer{org: org, g: u.reg})
	}
	return gs.Gather()
}

// orgGatherer adds the label org to every metric of g.
type orgGatherer struct {
	org string
	g   prometheus.Gatherer
}

func (o orgGatherer) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := o.g.Gather()
	name := "org"
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			m.Label = append(m.Label, &dto.LabelPair{Name: &name, Value: &o.org})
			slices.SortFunc(m.Label, func(x, y *dto.LabelPair) int { return strings.Compare(x.GetName(), y.GetName()) })
		}
	}
	return mfs, err
}
