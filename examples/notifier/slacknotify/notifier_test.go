package slacknotify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// slack is an httptest incoming webhook that fails while failing() says so.
type slack struct {
	mu       sync.Mutex
	failFor  int  // fail this many requests first
	down     bool // fail every request while set
	requests int
	posted   []string // texts answered 200
	srv      *httptest.Server
}

func newSlack(t *testing.T, failFirst int) *slack {
	s := &slack{failFor: failFirst}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slack) serve(w http.ResponseWriter, r *http.Request) {
	var body struct{ Text string }
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || body.Text == "" || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.down || s.requests <= s.failFor {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	s.posted = append(s.posted, body.Text)
	_, _ = io.WriteString(w, "ok")
}

func (s *slack) snapshot() (requests int, posted []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, append([]string(nil), s.posted...)
}

func (s *slack) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// publisher publishes events as the bridge does: the real JetStream sink.
func publisher(t *testing.T, url string) *natsjs.Sink {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink, err := natsjs.New(ctx, natsjs.Config{URL: url, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	return sink
}

func alert(t *testing.T, uuid, change string, triggers ...string) event.Event {
	t.Helper()
	dur := 12.5
	raw, _ := json.Marshal(map[string]any{"uuid": uuid, "policyAlertTriggers": triggers})
	ev, err := event.Build("ORG1", event.ViaWebSocket, v1.ChangeData{
		Entity: "POLICY_ALERT", EntityUUID: uuid, Type: change, DeviceUUID: "CAM1", DeviceName: "Front Door",
		TimestampMs: 1_780_000_000_000, PolicyAlertTriggers: triggers, DurationSec: &dur,
		TextDescription: "Person near the door", Raw: raw,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// start runs a notifier until the returned stop is called (or the test ends).
func start(t *testing.T, js jetstream.JetStream, webhook string) (stop func()) {
	t.Helper()
	n, err := New(Config{JetStream: js, WebhookURL: webhook, DeliverAll: true,
		RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, AckWait: 5 * time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitDrained polls until the durable consumer has nothing pending or unacknowledged.
func waitDrained(t *testing.T, js jetstream.JetStream) *jetstream.ConsumerInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var info *jetstream.ConsumerInfo
		var last uint64
		st, err := js.Stream(ctx, "RHOMBUS")
		if err == nil {
			last = st.CachedInfo().State.LastSeq
			var c jetstream.Consumer
			if c, err = js.Consumer(ctx, "RHOMBUS", "slack-notifier"); err == nil {
				info, err = c.Info(ctx)
			}
		}
		cancel()
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Stream >= last {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer not drained: %+v %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countPosts(posted []string, uuid string) int {
	n := 0
	for _, p := range posted {
		if strings.Contains(p, "alert "+uuid) {
			n++
		}
	}
	return n
}
