package manyorgs_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// feederEnv, set in its environment to a number of orgs, makes this test binary the load
// feeder instead of running tests (see TestMain): the multi-org simulator in a process of
// its own, so that neither its WebSocket writers nor the test's collector share a
// process with what they measure. It prints "addr WS_URL API_URL", then answers each
// command on stdin, one a line, with "ok N":
//
//	wait      block until every org has exactly one subscription (at most 5 minutes)
//	rate R D  create R policy alerts per second in all, for D, one org after another,
//	          evenly spaced (org i of n at i/R past each round), each in the org's REST
//	          history; textDescription carries the send time as "sent:<unix ns>"
const feederEnv = "MANYORGS_FEEDER_ORGS"

// feederMain is the feeder process's main.
func feederMain(orgs string) int {
	n, err := strconv.Atoi(orgs)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "feeder: %s=%q: want a number of orgs\n", feederEnv, orgs)
		return 2
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := sim.StartMulti(sim.MultiConfig{PartnerKey: partnerKey, Org: sim.Config{Heartbeat: time.Second}, Logger: quiet},
		"127.0.0.1:0", n, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feeder:", err)
		return 1
	}
	defer m.Close()
	fmt.Printf("addr %s %s\n", m.WSURL(), m.URL())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		sent, err := feederCommand(m, strings.Fields(in.Text()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "feeder:", err)
			return 1
		}
		fmt.Printf("ok %d\n", sent)
	}
	return 0
}

// feederCommand runs one command and returns how many alerts it created.
func feederCommand(m *sim.Multi, f []string) (int, error) {
	switch {
	case len(f) == 1 && f[0] == "wait":
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, o := range m.Orgs() {
			s := m.Org(o)
			if err := s.Wait(ctx, func() bool { return s.Stats().Subscriptions == 1 }); err != nil {
				return 0, fmt.Errorf("org %s not subscribed: %w", o, err)
			}
		}
		return 0, nil
	case len(f) == 3 && f[0] == "rate":
		rate, err1 := strconv.Atoi(f[1])
		d, err2 := time.ParseDuration(f[2])
		if err1 != nil || err2 != nil || rate <= 0 {
			return 0, fmt.Errorf("bad command %q", strings.Join(f, " "))
		}
		return spread(m, rate, d), nil
	}
	return 0, fmt.Errorf("unknown command %q", strings.Join(f, " "))
}

// spread creates rate alerts a second for d over m's orgs in turn, on a schedule that
// catches up after a late wake-up rather than drifting; it returns how many went live.
func spread(m *sim.Multi, rate int, d time.Duration) int {
	orgs := m.Orgs()
	servers := make([]*sim.Server, len(orgs))
	for i, o := range orgs {
		servers[i] = m.Org(o)
	}
	start, live := time.Now(), 0
	for i := range int(float64(rate) * d.Seconds()) {
		due := start.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		a := servers[i%len(servers)].CreateAlert(sim.Alert{TextDescription: "sent:" + strconv.FormatInt(time.Now().UnixNano(), 10)})
		live += min(1, a.Live)
	}
	return live
}
