// Command feeder is the black-box benchmark's Rhombus: the simulator (STOMP over
// WebSocket and the REST endpoints the bridge calls) in its own process, driven by
// commands on stdin, one a line:
//
//	wait N       block until exactly N subscriptions are live (at most a minute)
//	burst N      emit N alerts as fast as the connection takes them
//	rate R D     emit R alerts per second for duration D
//
// It answers each command with "ok <emitted>" on stdout. Every alert is the simulator's
// flat policy alert with a fresh uuid; textDescription carries the send time as
// "sent:<unix nanoseconds>" for latency measurement.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "feeder:", err)
		os.Exit(1)
	}
}

func run() error {
	s, err := sim.New(sim.Config{APIKey: "bench-key", Cameras: 12, QueueSize: 1 << 18})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := s.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("addr %s %s %s\n", s.WSURL(), s.URL(), s.OrgUUID())
	in := bufio.NewScanner(os.Stdin)
	emit := emitter(s)
	for in.Scan() {
		sent, err := do(ctx, s, emit, strings.Fields(in.Text()))
		if err != nil {
			return err
		}
		fmt.Printf("ok %d\n", sent)
	}
	return in.Err()
}

// emitter returns a function that emits the next alert and reports whether a
// subscription took it.
func emitter(s *sim.Server) func() int {
	cams := s.Cameras()
	next := 0
	return func() int {
		next++
		c := cams[next%len(cams)]
		a := sim.Alert{UUID: fmt.Sprintf("bench-%012d", next), DeviceUUID: c.UUID, LocationUUID: c.LocationUUID,
			TimestampMs: time.Now().UnixMilli(), DurationSec: 5, Triggers: []string{"PERSON_DETECTED", "LOITERING"},
			TextDescription: "sent:" + strconv.FormatInt(time.Now().UnixNano(), 10)}
		return min(1, s.Emit(a.Payload()))
	}
}

// do runs one command and returns how many alerts it emitted.
func do(ctx context.Context, s *sim.Server, emit func() int, f []string) (int, error) {
	if len(f) < 2 {
		return 0, nil
	}
	n, _ := strconv.Atoi(f[1])
	switch {
	case f[0] == "wait":
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return 0, s.Wait(wctx, func() bool { return s.Stats().Subscriptions == n })
	case f[0] == "burst":
		sent := 0
		for range n {
			sent += emit()
		}
		return sent, nil
	case f[0] == "rate" && len(f) == 3:
		d, err := time.ParseDuration(f[2])
		return paced(n, d, emit), err
	}
	return 0, fmt.Errorf("unknown command %q", strings.Join(f, " "))
}

// paced calls emit rate times a second for d, on a schedule that catches up after a late
// tick rather than drifting.
func paced(rate int, d time.Duration, emit func() int) int {
	start, sent := time.Now(), 0
	total := int(float64(rate) * d.Seconds())
	for i := range total {
		due := start.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		sent += emit()
	}
	return sent
}
