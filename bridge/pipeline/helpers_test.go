package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// jsSink publishes synchronously to a real JetStream stream; the pipeline's own behaviour
// (lanes, retries, dedup, watermark) is what these tests exercise.
type jsSink struct {
	js jetstream.JetStream
}

func (s jsSink) Publish(ctx context.Context, ev event.Event) error {
	msg := nats.NewMsg(ev.Subject("rhombus"))
	msg.Data = ev.Body
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	_, err := s.js.PublishMsg(ctx, msg)
	return err
}

type broker struct {
	srv *natstest.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func startBroker(t *testing.T) *broker {
	t.Helper()
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RHOMBUS", Subjects: []string{"rhombus.v1.>"},
		Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	return &broker{srv: srv, nc: nc, js: js}
}

// stored reads every message of the stream: subject and id, in stream order.
func (b *broker) stored(t *testing.T) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := b.js.Stream(ctx, "RHOMBUS")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := info.Info(ctx)
	out := []stored{}
	for seq := st.State.FirstSeq; st.State.Msgs > 0 && seq <= st.State.LastSeq; seq++ {
		m, err := info.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored{subject: m.Subject, id: m.Header.Get(jetstream.MsgIDHeader), body: m.Data})
	}
	return out
}

type stored struct {
	subject, id string
	body        []byte
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alert builds a live policy alert event for device dev with sequence n.
func alert(t testing.TB, dev string, n int, ts int64) event.Event {
	raw := fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":"alert-%s-%d","type":"CREATE","deviceUuid":"%s","timestampMs":%d}`, dev, n, dev, ts)
	ev, err := event.ParseChange("ORG", []byte(raw), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// overflowLog collects the events handed to OnOverflow.
type overflowLog struct {
	mu  sync.Mutex
	evs []event.Event
}

func (o *overflowLog) add(ev event.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.evs = append(o.evs, ev)
}

func (o *overflowLog) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.evs)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// tsOf returns the event's timestamp, zero-padded so that strings compare as numbers.
func tsOf(t *testing.T, body []byte) string {
	t.Helper()
	var ce struct {
		Data struct {
			TimestampMs int64 `json:"timestampMs"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ce); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%020d", ce.Data.TimestampMs)
}

// forEachSinkKind runs test against a fresh broker once with a synchronous sink (jsSink:
// the lanes wait for each acknowledgement) and once with the natsjs sink (asynchronous:
// the lanes pipeline their events).
func forEachSinkKind(t *testing.T, test func(t *testing.T, b *broker, sink sinks.Publisher)) {
	t.Run("sync", func(t *testing.T) {
		b := startBroker(t)
		test(t, b, jsSink{b.js})
	})
	t.Run("pipelined", func(t *testing.T) {
		b := startBroker(t)
		// AckTimeout as the bridge sets it from BRIDGE_PUBLISH_TIMEOUT; short here, as the
		// tests' PublishTimeout.
		s, err := natsjs.New(context.Background(), natsjs.Config{Conn: b.nc, Stream: "RHOMBUS",
			AckTimeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		test(t, b, s)
	})
}
