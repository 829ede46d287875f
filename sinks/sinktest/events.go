package sinktest

import (
	"fmt"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Org is the org uuid of the events Events builds.
const Org = "ORG-sinktest"

// Payload returns the i-th payload of a realistic mix over the given number of devices:
// flat and nested policy alerts, DEVICE_CONFIG updates and an unknown entity type.
func Payload(i, devices int) []byte {
	dev := fmt.Sprintf("CAM-%03d", i%max(devices, 1))
	ts := 1711843200000 + int64(i)*1000
	switch i % 4 {
	case 0:
		return fmt.Appendf(nil, `{"entity":"POLICY_ALERT","entityUuid":"pa-%d","type":"CREATE","deviceUuid":%q,`+
			`"timestampMs":%d,"durationSec":5.2,"policyAlertTriggers":["PERSON_DETECTED"],"textDescription":"Person %d"}`,
			i, dev, ts, i)
	case 1:
		return fmt.Appendf(nil, `{"entity":"POLICY_ALERT","entityUuid":"","type":"CREATE","update":{"uuid":"pn-%d",`+
			`"deviceUuid":%q,"timestampMs":%d,"durationSec":8,"policyAlertTriggers":["MOTION_DETECTED"],"textDescription":"Motion"}}`,
			i, dev, ts)
	case 2:
		return fmt.Appendf(nil, `{"entity":"DEVICE_CONFIG","entityUuid":%q,"type":"UPDATE","deviceUuid":%q,"timestampMs":%d}`,
			dev, dev, ts)
	default:
		return fmt.Appendf(nil, `{"entity":"DOOR_STATE","entityUuid":"door-%d","type":"UPDATE","deviceUuid":%q,"timestampMs":%d}`,
			i, dev, ts)
	}
}

// Events builds n events with Payload and event.ParseChange; the i-th from Payload(i).
func Events(tb testing.TB, n, devices int) []event.Event {
	tb.Helper()
	evs := make([]event.Event, n)
	for i := range evs {
		ev, err := event.ParseChange(Org, Payload(i, devices), event.ViaWebSocket)
		if err != nil {
			tb.Fatalf("sinktest: payload %d does not parse: %v", i, err)
		}
		evs[i] = ev
	}
	return evs
}

// InvalidEvent is an event for input that could not be parsed.
func InvalidEvent(raw string) event.Event {
	return event.Invalid(Org, []byte(raw), fmt.Errorf("%w: test", event.ErrInvalid), event.ViaWebSocket)
}
