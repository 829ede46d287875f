package pipetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// Main runs a package's tests and fails them if goroutines leak (the embedded server's
// own background goroutines aside).
func Main(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*Server).startGoRoutine.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushLoop"),
		goleak.IgnoreTopFunction("time.Sleep"))
}

// Sink publishes synchronously to a real JetStream stream, with the event id as the
// message id; the pipeline's own behaviour (lanes, retries, dedup, watermark) is what the
// tests exercise.
type Sink struct{ JS jetstream.JetStream }

// Publish stores ev on its subject and returns once JetStream acknowledged it.
func (s Sink) Publish(ctx context.Context, ev event.Event) error {
	msg := nats.NewMsg(ev.Subject("rhombus"))
	msg.Data = ev.Body
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	_, err := s.JS.PublishMsg(ctx, msg)
	return err
}

// Broker is an embedded JetStream server with the stream RHOMBUS (rhombus.v1.>, a
// ten-minute duplicate window, file storage), owned by one test.
type Broker struct {
	Srv *natstest.Server // Stop and Restart model an outage
	NC  *nats.Conn       // reconnects for ever
	JS  jetstream.JetStream
}

// StartBroker starts a Broker that stops when the test ends.
func StartBroker(t *testing.T) *Broker {
	t.Helper()
	srv := natstest.Start(t)
	js := natstest.Connect(t, srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RHOMBUS", Subjects: []string{"rhombus.v1.>"},
		Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	return &Broker{Srv: srv, NC: js.Conn(), JS: js}
}

// Sink is a synchronous sink on the broker's stream.
func (b *Broker) Sink() Sink { return Sink{b.JS} }

// Msg is one stored message: subject, id and body.
type Msg struct {
	Subject, ID string
	Body        []byte
}

// Stored reads every message of the stream, in stream order.
func (b *Broker) Stored(t *testing.T) []Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := b.JS.Stream(ctx, "RHOMBUS")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := info.Info(ctx)
	out := []Msg{}
	for seq := st.State.FirstSeq; st.State.Msgs > 0 && seq <= st.State.LastSeq; seq++ {
		m, err := info.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Msg{Subject: m.Subject, ID: m.Header.Get(jetstream.MsgIDHeader), Body: m.Data})
	}
	return out
}

// WaitFor fails the test unless cond holds within d (what names it).
func WaitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Alert builds a live policy alert event of org ORG for device dev with sequence n.
func Alert(t testing.TB, dev string, n int, ts int64) event.Event {
	raw := fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":"alert-%s-%d","type":"CREATE","deviceUuid":"%s","timestampMs":%d}`, dev, n, dev, ts)
	ev, err := event.ParseChange("ORG", []byte(raw), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// QuietLog is a logger that writes nothing.
func QuietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Run runs p until stop is called; stop fails the test if Run errs or does not return.
func Run(t *testing.T, p *pipeline.Pipeline) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return")
		}
	}
}
