package rhombus

import (
	"errors"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// A Retry-After in force that outlasts the caller's deadline fails the call at once (it
// does not sleep until the deadline), and a call marked WithoutQueueing (enrichment)
// never waits for a hold at all; once the hold is over both go through.
func TestHeldCallsFailFastPastTheirDeadline(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newTestClient(t, s.URL(), nil)
	s.REST429(1, 2*time.Second)
	if _, err := c.OrgUUID(ctxT(t, 500*time.Millisecond)); err == nil { // meets the 429: hold 2 s
		t.Fatal("the 429 was not reported")
	}
	for name, call := range map[string]func() (deadline time.Duration, err error){
		"deadline shorter than the hold": func() (time.Duration, error) {
			_, err := c.OrgUUID(ctxT(t, time.Second))
			return time.Second, err
		},
		"without queueing": func() (time.Duration, error) {
			_, err := c.OrgUUID(WithoutQueueing(ctxT(t, 10*time.Second)))
			return 10 * time.Second, err
		},
	} {
		start := time.Now()
		_, err := call()
		if took := time.Since(start); !errors.Is(err, ErrPastDeadline) || took > 200*time.Millisecond {
			t.Fatalf("%s: %v after %s; want ErrPastDeadline at once", name, err, took)
		}
	}
	calls := len(s.CallsTo("/api/org/getOrgV2"))
	if _, err := c.OrgUUID(ctxT(t, 10*time.Second)); err != nil { // a caller that can wait does
		t.Fatal(err)
	}
	if n := len(s.CallsTo("/api/org/getOrgV2")); n != calls+1 {
		t.Fatalf("%d calls reached the server during the hold", n-calls-1)
	}
}
