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
	cams := s.Cameras()
	next := 0
	payload := func() []byte {
		next++
		a := sim.Alert{UUID: fmt.Sprintf("bench-%012d", next), DeviceUUID: cams[next%len(cams)].UUID,
			LocationUUID: cams[next%len(cams)].LocationUUID, TimestampMs: time.Now().UnixMilli(),
			DurationSec: 5, Triggers: []string{"PERSON_DETECTED", "LOITERING"},
			TextDescription: "sent:" + strconv.FormatInt(time.Now().UnixNano(), 10)}
		return a.Payload()
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		sent := 0
		switch f[0] {
		case "wait":
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			err = s.Wait(wctx, func() bool { return s.Stats().Subscriptions == n })
			cancel()
		case "burst":
			for range n {
				sent += min(1, s.Emit(payload()))
			}
		case "rate":
			d, _ := time.ParseDuration(f[2])
			sent = paced(n, d, func() int { return min(1, s.Emit(payload())) })
		}
		if err != nil {
			return err
		}
		fmt.Printf("ok %d\n", sent)
	}
	return in.Err()
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
