package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKafkaMissingTopicNamesTheFix: KAFKA_CREATE_TOPIC at its default (false) and no
// topic on the brokers (kfake at its defaults: no auto-creation). One ERROR, and /readyz,
// name KAFKA_TOPIC and KAFKA_CREATE_TOPIC, however often /readyz is asked and publishes
// are retried.
func TestKafkaMissingTopicNamesTheFix(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	s := startSim(t, sim.Config{OrgUUID: "ORG-NOTOPIC"})
	cfg := testConfig(t, s, "")
	cfg.Bridge.Sinks, cfg.Kafka.Brokers, cfg.Kafka.CreateTopic = []string{"kafka"}, kc.ListenAddrs(), false
	cfg.Bridge.PublishTimeout = time.Second
	logs := &lockedBuffer{}
	a := bridgetest.Start(t, cfg, app.Options{Version: "test", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	const want = `topic "rhombus.events.v1" does not exist: create it or set KAFKA_CREATE_TOPIC=true (KAFKA_TOPIC)`
	for range 3 {
		resp, err := http.Get("http://" + a.Info.OpsAddr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), want) {
			t.Fatalf("/readyz %d %q; want 503 naming the fix", resp.StatusCode, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.CreateAlert(sim.Alert{}) // a publish that fails for want of the topic, and is retried
	waitFor(t, "a failed publish", 45*time.Second, func() bool { return strings.Contains(logs.String(), "publish failed") })
	var errs []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], strings.ReplaceAll(want, `"`, `\"`)) {
		t.Fatalf("want one ERROR naming the fix, got %d:\n%s", len(errs), strings.Join(errs, "\n"))
	}
}
