package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

func quiet() *slog.Logger { return bridgetest.Logger() }

func startSim(t testing.TB, cfg sim.Config) *sim.Server { return bridgetest.StartSim(t, cfg) }

// testConfig is bridgetest.Config with a 5 s shutdown bound.
func testConfig(t testing.TB, s *sim.Server, natsURL string) config.Config {
	cfg := bridgetest.Config(t, s, natsURL)
	cfg.Bridge.ShutdownTimeout = 5 * time.Second
	return cfg
}

// running is an App under test.
type running struct {
	info app.Info
	stop func() error
}

func startApp(t testing.TB, cfg config.Config) *running {
	t.Helper()
	a := bridgetest.Start(t, cfg, app.Options{Version: "test"})
	return &running{info: a.Info, stop: a.Stop}
}

func (r *running) status(t testing.TB) ops.Status {
	t.Helper()
	resp, err := http.Get("http://" + r.info.OpsAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st ops.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *running) readyz(t testing.TB) int {
	t.Helper()
	resp, err := http.Get("http://" + r.info.OpsAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stream reads the stream back over a separate connection.
type stream struct {
	js jetstream.JetStream
}

func openStream(t testing.TB, url string) *stream {
	t.Helper()
	js := natstest.Connect(t, url)
	return &stream{js: js}
}

type msg struct {
	Subject, ID string
	Data        []byte
}

func (s *stream) all(t testing.TB) []msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, "RHOMBUS")
	if err != nil {
		return nil
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []msg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		out = append(out, msg{Subject: m.Subject, ID: m.Header.Get(jetstream.MsgIDHeader), Data: m.Data})
	}
	return out
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	bridgetest.WaitFor(t, what, d, cond)
}
