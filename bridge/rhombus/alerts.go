package rhombus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// PolicyAlert is one getPolicyAlertsV2 (or getPolicyAlertDetails) record; Raw is the
// record exactly as Rhombus sent it.
type PolicyAlert struct {
	UUID            string
	DeviceUUID      string
	LocationUUID    string
	TimestampMs     int64
	DurationSec     *float64
	Triggers        []string
	TextDescription string
	Raw             json.RawMessage
}

// parseAlert reads one record leniently (numbers may come as strings and vice versa).
func parseAlert(raw json.RawMessage) (PolicyAlert, error) {
	var r struct {
		UUID            any   `json:"uuid"`
		DeviceUUID      any   `json:"deviceUuid"`
		LocationUUID    any   `json:"locationUuid"`
		TimestampMs     any   `json:"timestampMs"`
		DurationSec     any   `json:"durationSec"`
		Triggers        []any `json:"policyAlertTriggers"`
		TextDescription any   `json:"textDescription"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return PolicyAlert{}, err
	}
	a := PolicyAlert{UUID: str(r.UUID), DeviceUUID: str(r.DeviceUUID), LocationUUID: str(r.LocationUUID),
		TextDescription: str(r.TextDescription), Raw: append(json.RawMessage(nil), bytes.TrimSpace(raw)...)}
	if f, ok := num(r.TimestampMs); ok {
		a.TimestampMs = int64(f)
	}
	if f, ok := num(r.DurationSec); ok {
		a.DurationSec = &f
	}
	for _, t := range r.Triggers {
		if s := str(t); s != "" {
			a.Triggers = append(a.Triggers, s)
		}
	}
	return a, nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, x == x
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil && f == f
	}
	return 0, false
}

// Event builds the backfill event of the alert's creation; its id equals the live copy's.
func (a PolicyAlert) Event(org string) (event.Event, error) {
	return event.Build(org, event.ViaBackfill, a.changeData())
}

func (a PolicyAlert) changeData() v1.ChangeData {
	return v1.ChangeData{Entity: event.EntityPolicyAlert, Type: event.ChangeCreate, EntityUUID: a.UUID,
		DeviceUUID: a.DeviceUUID, TimestampMs: a.TimestampMs, PolicyAlertTriggers: a.Triggers,
		DurationSec: a.DurationSec, TextDescription: a.TextDescription, LocationUUID: a.LocationUUID, Raw: a.Raw}
}

// alertsQuery is the getPolicyAlertsV2 request.
type alertsQuery struct {
	After      int64  `json:"afterTimestampMs"`
	Before     int64  `json:"beforeTimestampMs"`
	MaxResults int    `json:"maxResults"`
	LastTs     int64  `json:"lastTimestampMs,omitempty"`
	LastUUID   string `json:"lastUuid,omitempty"`
}

func (c *Client) alertPage(ctx context.Context, q alertsQuery) ([]PolicyAlert, error) {
	var resp struct {
		PolicyAlerts []json.RawMessage `json:"policyAlerts"`
	}
	if err := c.Call(ctx, "/api/event/getPolicyAlertsV2", q, &resp); err != nil {
		return nil, err
	}
	out := make([]PolicyAlert, 0, len(resp.PolicyAlerts))
	for _, raw := range resp.PolicyAlerts {
		a, err := parseAlert(raw)
		if err != nil || a.UUID == "" {
			c.log.Warn("policy alert record skipped: no uuid or not an object", "record", snippet(raw))
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// AlertEvents returns the backfill source for org (the shape of recovery.AlertSource):
// one getPolicyAlertsV2 page of the policy alerts with afterMs ≤ timestampMs ≤ beforeMs,
// past the cursor (lastTs, lastUUID) when lastTs is not 0, asking for PageSize, as events
// whose ids equal their live copies', in the order Rhombus returned them. Its calls go
// ahead of enrichment in the REST budget (WithPriority). The paging itself (narrowing,
// de-duplication, when to stop) is the caller's: see recovery.Recovery.
func (c *Client) AlertEvents(org string) func(ctx context.Context, afterMs, beforeMs, lastTs int64, lastUUID string) ([]event.Event, error) {
	return func(ctx context.Context, afterMs, beforeMs, lastTs int64, lastUUID string) ([]event.Event, error) {
		q := alertsQuery{After: afterMs, Before: beforeMs, MaxResults: c.cfg.PageSize, LastTs: lastTs, LastUUID: lastUUID}
		alerts, err := c.alertPage(WithPriority(ctx), q)
		if err != nil {
			return nil, err
		}
		evs := make([]event.Event, 0, len(alerts))
		for _, a := range alerts {
			ev, err := a.Event(org)
			if err != nil {
				return nil, fmt.Errorf("rhombus: alert %s: %w", a.UUID, err)
			}
			evs = append(evs, ev)
		}
		return evs, nil
	}
}

// PolicyAlertDetails fetches one alert with getPolicyAlertDetails.
func (c *Client) PolicyAlertDetails(ctx context.Context, alertUUID string) (PolicyAlert, error) {
	var resp struct {
		PolicyAlert json.RawMessage `json:"policyAlert"`
	}
	req := map[string]string{"policyAlertUuid": alertUUID}
	if err := c.Call(ctx, "/api/event/getPolicyAlertDetails", req, &resp); err != nil {
		return PolicyAlert{}, err
	}
	if len(resp.PolicyAlert) == 0 || string(resp.PolicyAlert) == "null" {
		return PolicyAlert{}, fmt.Errorf("rhombus: getPolicyAlertDetails %s: %w", alertUUID, &APIError{Message: "no policyAlert in answer"})
	}
	return parseAlert(resp.PolicyAlert)
}
