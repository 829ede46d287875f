package rhombus

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Enricher adds what the REST API knows to live events: data.deviceName from the camera
// cache and, for policy alerts that arrived without their details (the nested shape
// without timestampMs), the details from getPolicyAlertDetails. It never holds an event
// longer than Wait: on failure or timeout the event is returned as it was.
//
// Completing alerts costs REST calls, which the org's budget limits. The Enricher never
// queues behind that budget: it has its own share (half the client's rate) and when that
// is spent, or while backfill has calls waiting or running (backfill goes first), an
// alert is published without details at once (counted) rather than held.
type Enricher struct {
	c       *Client
	wait    time.Duration
	log     *slog.Logger
	budget  *rate.Limiter
	skipped atomic.Int64
}

// NewEnricher enriches through c, waiting at most wait per event (default 2 s).
func NewEnricher(c *Client, wait time.Duration, log *slog.Logger) *Enricher {
	if wait <= 0 {
		wait = 2 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	share := rate.Limit(c.cfg.Rate / 2)
	return &Enricher{c: c, wait: wait, log: log.With("component", "rhombus_enrich"),
		budget: rate.NewLimiter(share, max(1, int(c.cfg.Rate/2)))}
}

// Enrich returns ev enriched, or ev itself when there is nothing to add or no answer in
// time. The id never changes.
func (e *Enricher) Enrich(ctx context.Context, ev event.Event) event.Event {
	if ev.Invalid {
		return ev
	}
	// The bound costs a timer: only events that may call the REST API take it. A device
	// name comes from the cache, or waits at most firstNamesWait for the first list.
	if (ev.IsAlertCreate() && ev.TimestampMs == 0 && ev.EntityUUID != "") || e.wait < firstNamesWait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(WithoutQueueing(ctx), e.wait)
		defer cancel()
	}
	if ev.IsAlertCreate() && ev.TimestampMs == 0 && ev.EntityUUID != "" {
		if !e.c.prio.busy() && e.budget.Allow() {
			ev = e.complete(ctx, ev)
		} else if n := e.skipped.Add(1); n == 1 || n%100 == 0 {
			e.log.Warn("REST budget spent or taken by backfill: alerts published without details", "skipped_total", n)
		}
	}
	if ev.DeviceUUID != "" {
		if name, ok := e.c.DeviceName(ctx, ev.DeviceUUID); ok {
			ev = ev.WithDeviceName(name)
		}
	}
	return ev
}

// CachedName is the device's name in the camera cache, "" when it has none; it never
// waits nor calls the REST API. A name known as the event is parsed is encoded with it,
// and Enrich then has nothing to splice in.
func (e *Enricher) CachedName(deviceUUID string) string {
	cc := &e.c.cams
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.names[deviceUUID]
}

// complete fills a bare alert's normalised fields from getPolicyAlertDetails, keeping the
// payload as received in data.raw.
func (e *Enricher) complete(ctx context.Context, ev event.Event) event.Event {
	a, err := e.c.PolicyAlertDetails(ctx, ev.EntityUUID)
	if err != nil || a.UUID != ev.EntityUUID {
		e.log.Warn("alert published without details", "alert_uuid", ev.EntityUUID, "error", errString(err))
		return ev
	}
	d := ev.Data()
	if len(d.Raw) == 0 {
		return ev // never trade the payload as received for the details
	}
	full := a.changeData()
	full.Raw = d.Raw
	if full.DeviceUUID == "" {
		full.DeviceUUID = d.DeviceUUID
	}
	out, err := event.Build(ev.Org, ev.Via, full)
	if err != nil || out.ID != ev.ID {
		return ev
	}
	out.Received, out.Fence = ev.Received, ev.Fence
	return out
}

// Skipped is the number of alerts published without details because the REST budget
// share was spent or backfill had it.
func (e *Enricher) Skipped() int64 { return e.skipped.Load() }

func errString(err error) string {
	if err == nil {
		return "uuid mismatch"
	}
	return err.Error()
}
