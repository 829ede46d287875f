package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestTailHumanView: the default view has one line per event with time, camera name,
// triggers, duration, description and the alert uuid, in that order; other entities say
// what changed. It reads NATS_URL / NATS_STREAM / NATS_SUBJECT_PREFIX.
func TestTailHumanView(t *testing.T) {
	s := newTailStream(t, "TAILVIEW", "tv")
	s.publish(t, fixture(t, "front"), fixture(t, "back"), fixture(t, "config"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tl := start(ctx, "tail", "--since", "1h")
	waitOutput(t, &tl.out, 20*time.Second, func(o string) bool { return strings.Count(o, "\n") >= 3 })
	stopTail(t, cancel, tl)
	out := tl.out.String()
	when := time.UnixMilli(tailTS).Local().Format("15:04:05.000")
	inOrder(t, lineWith(out, "alert-front-1"), when, "Front door", "PERSON_DETECTED,LOITERING", "5.2s",
		"Person near entrance", "alert-front-1")
	inOrder(t, lineWith(out, "alert-back-2"), when, "Back yard", "MOTION_DETECTED", "8.0s", "Motion in yard", "alert-back-2")
	inOrder(t, lineWith(out, "DEVICE_CONFIG"), when, "CAM-FRONT", "DEVICE_CONFIG UPDATE")
	if strings.Contains(out, "{") {
		t.Errorf("the human view printed JSON:\n%s", out)
	}
}

// inOrder fails unless line holds every column, left to right.
func inOrder(t *testing.T, line string, cols ...string) {
	t.Helper()
	rest := line
	for _, c := range cols {
		i := strings.Index(rest, c)
		if i < 0 {
			t.Errorf("column %q missing or out of order in %q", c, line)
			return
		}
		rest = rest[i+len(c):]
	}
}

// TestTailFilters: --entity, --device and --trigger print the matching events only. Each
// case stores the events that must not show before the ones that must, so once those are
// printed the others have been passed over (the consumer is ordered).
func TestTailFilters(t *testing.T) {
	for i, tc := range []struct {
		flag, value string
		order       []string // publish order: the excluded first
		want, not   []string
	}{
		{"--entity", "policy_alert", []string{"config", "front", "back"}, []string{"alert-front-1", "alert-back-2"}, []string{"DEVICE_CONFIG"}},
		{"--device", "CAM-BACK", []string{"front", "config", "back"}, []string{"alert-back-2"}, []string{"alert-front-1", "DEVICE_CONFIG"}},
		{"--trigger", "loitering", []string{"back", "config", "front"}, []string{"alert-front-1"}, []string{"alert-back-2", "DEVICE_CONFIG"}},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			s := newTailStream(t, fmt.Sprintf("TAILFILTER%d", i), fmt.Sprintf("tf%d", i))
			for _, name := range tc.order {
				s.publish(t, fixture(t, name))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tl := start(ctx, "tail", "--since", "1h", tc.flag, tc.value)
			waitOutput(t, &tl.out, 20*time.Second, func(o string) bool { return containsAll(o, tc.want) })
			stopTail(t, cancel, tl)
			for _, n := range tc.not {
				if strings.Contains(tl.out.String(), n) {
					t.Errorf("tail %s %s printed %s:\n%s", tc.flag, tc.value, n, tl.out.String())
				}
			}
		})
	}
}

// TestTailSince: --since replays what was stored within that window and nothing older;
// without it, tail shows only what arrives after it started.
func TestTailSince(t *testing.T) {
	s := newTailStream(t, "TAILSINCE", "ts")
	s.publish(t, alert(t, "alert-old", "CAM-FRONT", "Front door", "old", 1, "MOTION_DETECTED"))
	time.Sleep(3 * time.Second)
	s.publish(t, alert(t, "alert-recent", "CAM-FRONT", "Front door", "recent", 1, "MOTION_DETECTED"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tl := start(ctx, "tail", "--since", "1500ms")
	waitOutput(t, &tl.out, 20*time.Second, func(o string) bool { return strings.Contains(o, "alert-recent") })
	stopTail(t, cancel, tl)
	if strings.Contains(tl.out.String(), "alert-old") {
		t.Fatalf("tail --since 1500ms replayed an event stored 3s before:\n%s", tl.out.String())
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	live := start(ctx, "tail")
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !strings.Contains(live.out.String(), "alert-live-"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("tail without --since never showed a new event; stderr:\n%s", live.errOut.String())
		}
		s.publish(t, alert(t, fmt.Sprintf("alert-live-%d", i), "CAM-BACK", "Back yard", "live", 1, "MOTION_DETECTED"))
		time.Sleep(200 * time.Millisecond)
	}
	stopTail(t, cancel, live)
	if out := live.out.String(); strings.Contains(out, "alert-old") || strings.Contains(out, "alert-recent") {
		t.Fatalf("tail without --since replayed history:\n%s", out)
	}
}
