package feed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/feed"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

func build(t *testing.T, raw string) event.Event {
	t.Helper()
	ev, err := event.ParseChange("ORG", []byte(raw), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

const person = `{"entity":"POLICY_ALERT","entityUuid":"a1","type":"CREATE","deviceUuid":"cam1","timestampMs":1711843200000,"durationSec":5.2,"policyAlertTriggers":["PERSON_DETECTED"],"textDescription":"Person at door"}`

func TestLine(t *testing.T) {
	ev := build(t, person).WithDeviceName("Front door")
	line := feed.Line("rhombus.v1.ORG.policy_alert.create.cam1", ev.Body, nil)
	for _, want := range []string{"Front door", "PERSON_DETECTED", "5.2s", "Person at door", "[websocket]", "a1", "rhombus.v1.ORG.policy_alert.create.cam1"} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q: %s", want, line)
		}
	}
	named := feed.Line("s", build(t, person).Body, func(string) string { return "Lobby" })
	if !strings.Contains(named, "Lobby") {
		t.Errorf("names not used: %s", named)
	}
	if l := feed.Line("rhombus.v1.ORG.invalid", []byte("garbage"), nil); !strings.Contains(l, "invalid input (7 bytes)") {
		t.Errorf("invalid line: %s", l)
	}
}

func TestFilter(t *testing.T) {
	body := build(t, person).Body
	cases := []struct {
		f    feed.Filter
		want bool
	}{
		{feed.Filter{}, true},
		{feed.Filter{Entity: "policy_alert"}, true},
		{feed.Filter{Entity: "DEVICE_CONFIG"}, false},
		{feed.Filter{Device: "CAM1"}, true},
		{feed.Filter{Trigger: "person_detected"}, true},
		{feed.Filter{Trigger: "MOTION_DETECTED"}, false},
	}
	for _, c := range cases {
		if got := c.f.Match(body); got != c.want {
			t.Errorf("%+v: %v", c.f, got)
		}
	}
	if s := (feed.Filter{Entity: "POLICY_ALERT"}).Subject("rhombus"); s != "rhombus.v1.*.policy_alert.*.*" {
		t.Errorf("subject %s", s)
	}
	if s := (feed.Filter{}).Subject("rhombus"); s != "rhombus.v1.*.>" {
		t.Errorf("subject %s", s)
	}
}

// TestFollowReplaysHistory reads back from a real JetStream stream with --since semantics.
func TestFollowReplaysHistory(t *testing.T) {
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RHOMBUS", Subjects: []string{"rhombus.v1.>"}}); err != nil {
		t.Fatal(err)
	}
	ev := build(t, person)
	if _, err := js.Publish(ctx, ev.Subject("rhombus"), ev.Body); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = feed.Follow(ctx, js, feed.Options{Stream: "RHOMBUS", Subject: "rhombus.v1.>", Since: time.Minute},
		func(subject string, body []byte) error {
			got = append(got, subject)
			cancel()
			return nil
		})
	if err != nil || len(got) != 1 || got[0] != ev.Subject("rhombus") {
		t.Fatalf("follow: %v %v", err, got)
	}
}
