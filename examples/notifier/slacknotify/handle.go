package slacknotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// Decision is what a Notifier does with one event.
type Decision int

const (
	// Skip: not an alert creation, or no high-priority trigger; acknowledged, not posted.
	Skip Decision = iota
	// Post: posted, then acknowledged.
	Post
)

// Decide says whether ev is worth a post: the creation of a policy alert with at least one
// of the configured triggers.
func (n *Notifier) Decide(ev *v1.Event) Decision {
	if !strings.EqualFold(ev.Data.Entity, "POLICY_ALERT") || !strings.EqualFold(ev.Data.Type, "CREATE") {
		return Skip
	}
	for _, t := range ev.Data.PolicyAlertTriggers {
		if n.triggers[strings.ToUpper(t)] {
			return Post
		}
	}
	return Skip
}

// handle processes one message: ack after a successful post (or a skip), nak with a delay
// after a failed one, term for a message that is not a CloudEvent.
func (n *Notifier) handle(ctx context.Context, msg jetstream.Msg) {
	log := n.cfg.Logger.With("subject", msg.Subject())
	var ev v1.Event
	if err := json.Unmarshal(msg.Data(), &ev); err != nil || ev.SpecVersion != v1.SpecVersion {
		log.Error("not a CloudEvent: dropped", "err", err, "bytes", len(msg.Data()))
		_ = msg.TermWithReason("not a CloudEvent")
		return
	}
	log = log.With("event_id", ev.ID, "alert_uuid", ev.Data.EntityUUID)
	if n.Decide(&ev) == Skip {
		n.ack(ctx, msg, log)
		return
	}
	err := n.poster.post(ctx, Format(&ev))
	if err != nil {
		delay := n.retryDelay(msg, err)
		log.Warn("post failed; will retry", "err", err, "retry_in", delay)
		if nerr := msg.NakWithDelay(delay); nerr != nil {
			log.Warn("nak failed; redelivered after the ack wait", "err", nerr)
		}
		return
	}
	log.Info("alert posted", "triggers", ev.Data.PolicyAlertTriggers)
	n.ack(ctx, msg, log)
}

func (n *Notifier) ack(ctx context.Context, msg jetstream.Msg, log interface{ Warn(string, ...any) }) {
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(actx); err != nil {
		log.Warn("ack not confirmed; the message may be redelivered", "err", err)
	}
}

// retryDelay is the nak delay: the webhook's Retry-After when it gave one, else RetryBase
// doubled per delivery so far, capped at RetryMax.
func (n *Notifier) retryDelay(msg jetstream.Msg, err error) time.Duration {
	var re *postError
	if errors.As(err, &re) && re.retryAfter > 0 {
		return min(re.retryAfter, n.cfg.RetryMax)
	}
	d := n.cfg.RetryBase
	if md, merr := msg.Metadata(); merr == nil {
		for i := uint64(1); i < md.NumDelivered && d < n.cfg.RetryMax; i++ {
			d *= 2
		}
	}
	return min(d, n.cfg.RetryMax)
}

// Format is the text posted for an alert.
func Format(ev *v1.Event) string {
	d := ev.Data
	camera := d.DeviceName
	if camera == "" {
		camera = d.DeviceUUID
	}
	var b strings.Builder
	fmt.Fprintf(&b, ":rotating_light: *%s* on %s", strings.Join(d.PolicyAlertTriggers, ", "), camera)
	if t, err := time.Parse(time.RFC3339Nano, ev.Time); err == nil {
		fmt.Fprintf(&b, " at %s", t.UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if d.DurationSec != nil {
		fmt.Fprintf(&b, " (%gs)", *d.DurationSec)
	}
	if d.TextDescription != "" {
		fmt.Fprintf(&b, "\n%s", d.TextDescription)
	}
	fmt.Fprintf(&b, "\nalert %s", d.EntityUUID)
	return b.String()
}
