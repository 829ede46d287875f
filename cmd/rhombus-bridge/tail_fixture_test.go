package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

const tailOrg = "ORG-tail"

// tailTS is the alerts' timestampMs; the human view shows it in local time.
var tailTS = time.Date(2026, 3, 1, 9, 30, 15, 250_000_000, time.UTC).UnixMilli()

// alert builds a POLICY_ALERT CREATE as Rhombus sends it, with the camera name the bridge
// adds from getMinimalCameraStateList.
func alert(t *testing.T, uuid, device, name, desc string, dur float64, triggers ...string) event.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":%q,"type":"CREATE","deviceUuid":%q,"timestampMs":%d,`+
		`"durationSec":%g,"policyAlertTriggers":["%s"],"textDescription":%q}`,
		uuid, device, tailTS, dur, strings.Join(triggers, `","`), desc)
	ev, err := event.ParseChange(tailOrg, []byte(raw), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	return ev.WithDeviceName(name)
}

// configChange builds a DEVICE_CONFIG UPDATE for device.
func configChange(t *testing.T, device string) event.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"entity":"DEVICE_CONFIG","entityUuid":%q,"type":"UPDATE","deviceUuid":%q,"timestampMs":%d}`,
		device, device, tailTS)
	ev, err := event.ParseChange(tailOrg, []byte(raw), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// fixture returns one of the three events the tail tests use: "front" (a person and
// loitering alert on CAM-FRONT), "back" (a motion alert on CAM-BACK), "config" (a
// DEVICE_CONFIG update of CAM-FRONT).
func fixture(t *testing.T, name string) event.Event {
	t.Helper()
	switch name {
	case "front":
		return alert(t, "alert-front-1", "CAM-FRONT", "Front door", "Person near entrance", 5.2, "PERSON_DETECTED", "LOITERING")
	case "back":
		return alert(t, "alert-back-2", "CAM-BACK", "Back yard", "Motion in yard", 8, "MOTION_DETECTED")
	case "config":
		return configChange(t, "CAM-FRONT")
	}
	t.Fatalf("no fixture %q", name)
	return event.Event{}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// tailStream is an embedded JetStream server with the bridge's NATS sink on it, and the
// environment `tail` reads (NATS_URL, NATS_STREAM, NATS_SUBJECT_PREFIX) pointing at it.
type tailStream struct {
	url  string
	sink *natsjs.Sink
}

func newTailStream(t *testing.T, stream, prefix string) *tailStream {
	t.Helper()
	srv, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink, err := natsjs.New(ctx, natsjs.Config{URL: srv.ClientURL(), Stream: stream, SubjectPrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	t.Setenv("NATS_URL", srv.ClientURL())
	t.Setenv("NATS_STREAM", stream)
	t.Setenv("NATS_SUBJECT_PREFIX", prefix)
	return &tailStream{url: srv.ClientURL(), sink: sink}
}

func (s *tailStream) publish(t *testing.T, evs ...event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ev := range evs {
		if err := s.sink.Publish(ctx, ev); err != nil {
			t.Fatalf("publish %s: %v", ev.ID, err)
		}
	}
}

// lineWith returns the output line containing marker ("" when none does).
func lineWith(out, marker string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, marker) {
			return l
		}
	}
	return ""
}

// stopTail ends a tail started with ctx and checks it exited 0.
func stopTail(t *testing.T, cancel context.CancelFunc, s *started) {
	t.Helper()
	cancel()
	if c := s.exit(t, 15*time.Second); c != 0 {
		t.Fatalf("tail exited %d; stderr:\n%s", c, s.errOut.String())
	}
}
