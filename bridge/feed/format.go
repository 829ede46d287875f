package feed

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// Names resolves a device uuid to its name ("" when unknown).
type Names func(deviceUUID string) string

// Line formats one stored message (its NATS subject and body) as one line:
//
//	15:04:05.000  Front door   PERSON_DETECTED,LOITERING  5.2s  Person near entrance  [websocket]  uuid  subject
//
// Bodies that are not CloudEvents (the invalid subject) are shown as such, never dropped.
func Line(subject string, body []byte, names Names) string {
	var ce v1.Event
	if err := json.Unmarshal(body, &ce); err != nil || ce.SpecVersion == "" {
		return fmt.Sprintf("%s  %-16s  invalid input (%d bytes)  %s", time.Now().Format("15:04:05.000"), "-", len(body), subject)
	}
	d := ce.Data
	when := time.UnixMilli(d.TimestampMs).Local().Format("15:04:05.000")
	name := d.DeviceName
	if name == "" && names != nil {
		name = names(d.DeviceUUID)
	}
	if name == "" {
		name = short(d.DeviceUUID)
	}
	what := strings.Join(d.PolicyAlertTriggers, ",")
	if what == "" {
		what = ce.RhombusEntity + " " + ce.RhombusChange
	}
	dur := ""
	if d.DurationSec != nil {
		dur = fmt.Sprintf("%.1fs", *d.DurationSec)
	}
	return fmt.Sprintf("%s  %-16s  %-32s  %6s  %-32s  [%s]  %s  %s", when, clip(name, 16), clip(what, 32), dur,
		clip(d.TextDescription, 32), ce.RhombusVia, d.EntityUUID, subject)
}

func short(s string) string {
	if s == "" {
		return "-"
	}
	return clip(s, 12)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
