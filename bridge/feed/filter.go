package feed

import (
	"encoding/json"
	"strings"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// Filter selects stored events by entity, device and trigger (all case-insensitive;
// empty: any).
type Filter struct {
	Entity  string
	Device  string
	Trigger string
}

// Subject narrows a NATS subscription to what the filter can express in subjects:
// {prefix}.v1.*.{entity}.*.{device}.
func (f Filter) Subject(prefix string) string {
	entity, device := ">", ""
	if f.Entity != "" || f.Device != "" {
		entity = tokenOrAny(strings.ToLower(f.Entity)) + ".*." + tokenOrAny(f.Device)
	}
	return prefix + ".v1.*." + entity + device
}

func tokenOrAny(s string) string {
	if s == "" {
		return "*"
	}
	return event.Token(s)
}

// Match reports whether a stored body passes the filter. Bodies that are not
// CloudEvents pass only an empty filter.
func (f Filter) Match(body []byte) bool {
	if f == (Filter{}) {
		return true
	}
	var ce v1.Event
	if json.Unmarshal(body, &ce) != nil || ce.SpecVersion == "" {
		return false
	}
	if f.Entity != "" && !strings.EqualFold(ce.RhombusEntity, f.Entity) {
		return false
	}
	if f.Device != "" && !strings.EqualFold(ce.Data.DeviceUUID, f.Device) {
		return false
	}
	if f.Trigger == "" {
		return true
	}
	for _, t := range ce.Data.PolicyAlertTriggers {
		if strings.EqualFold(t, f.Trigger) {
			return true
		}
	}
	return false
}
