package slacknotify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// TestNotifierRedeliversUntilPosted: the webhook fails its first requests; every
// high-priority alert is still posted exactly once, the failed ones after redelivery; other
// alerts, updates, duplicates and garbage are never posted, and the consumer ends with
// nothing pending.
func TestNotifierRedeliversUntilPosted(t *testing.T) {
	srv := natstest.Start(t)
	sink := publisher(t, srv.URL())
	js := natstest.Connect(t, srv.URL())
	hook := newSlack(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	evs := []struct {
		uuid, change string
		triggers     []string
	}{
		{"A1", "CREATE", []string{"PERSON_DETECTED"}},
		{"A2", "CREATE", []string{"MOTION_DETECTED", "VEHICLE_DETECTED"}},
		{"A3", "CREATE", []string{"MOTION_DETECTED"}}, // not high priority
		{"A1", "UPDATE", []string{"PERSON_DETECTED"}}, // not a creation
		{"A4", "CREATE", []string{"face_detected"}},   // case-insensitive
		{"A1", "CREATE", []string{"PERSON_DETECTED"}}, // same id: JetStream drops it
	}
	for _, e := range evs {
		if err := sink.Publish(ctx, alert(t, e.uuid, e.change, e.triggers...)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, "rhombus.v1.ORG1.policy_alert.create.CAM1", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	start(t, js, hook.srv.URL)
	info := waitDrained(t, js)

	requests, posted := hook.snapshot()
	for uuid, want := range map[string]int{"A1": 1, "A2": 1, "A3": 0, "A4": 1} {
		if got := countPosts(posted, uuid); got != want {
			t.Errorf("alert %s posted %d times, want %d (posts %q)", uuid, got, want, posted)
		}
	}
	if requests != len(posted)+3 {
		t.Errorf("%d requests for %d posts: want exactly the 3 failures retried", requests, len(posted))
	}
	if info.NumRedelivered != 0 || info.Delivered.Consumer <= info.Delivered.Stream {
		t.Errorf("consumer %+v: want redeliveries done and acked", info)
	}
	all := strings.Join(posted, "\n")
	for _, want := range []string{"PERSON_DETECTED", "Front Door", "(12.5s)", "Person near the door"} {
		if !strings.Contains(all, want) {
			t.Errorf("posts lack %q: %q", want, posted)
		}
	}
}

// TestNotifierDurableAcrossRestart: alerts that could not be posted while the webhook was
// down are neither lost nor duplicated when the notifier restarts on the same durable.
func TestNotifierDurableAcrossRestart(t *testing.T) {
	srv := natstest.Start(t)
	sink := publisher(t, srv.URL())
	js := natstest.Connect(t, srv.URL())
	hook := newSlack(t, 0)
	hook.setDown(true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range []string{"B1", "B2"} {
		if err := sink.Publish(ctx, alert(t, id, "CREATE", "PERSON_DETECTED")); err != nil {
			t.Fatal(err)
		}
	}
	stop := start(t, js, hook.srv.URL)
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := hook.snapshot(); n < 4; n, _ = hook.snapshot() { // both tried and retried
		if time.Now().After(deadline) {
			t.Fatalf("only %d attempts while down", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if _, posted := hook.snapshot(); len(posted) != 0 {
		t.Fatalf("posted while down: %q", posted)
	}

	hook.setDown(false)
	start(t, js, hook.srv.URL)
	waitDrained(t, js)
	_, posted := hook.snapshot()
	if countPosts(posted, "B1") != 1 || countPosts(posted, "B2") != 1 || len(posted) != 2 {
		t.Errorf("after restart: posts %q, want B1 and B2 once each", posted)
	}
}
