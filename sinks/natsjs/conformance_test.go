package natsjs_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// embedded is a restartable embedded server on a fixed port and store dir.
type embedded struct {
	mu     sync.Mutex
	listen string
	dir    string
	srv    *server.Server
}

func startEmbedded(t testing.TB) *embedded {
	t.Helper()
	listen, err := natsjs.FreeListen("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e := &embedded{listen: listen, dir: t.TempDir()}
	e.start(t)
	t.Cleanup(e.stop)
	return e
}

func (e *embedded) start(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var err error
	for range 50 { // the port may linger briefly after a shutdown
		if e.srv, err = natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: e.listen, StoreDir: e.dir}); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(err)
}

func (e *embedded) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
		e.srv = nil
	}
}

func (e *embedded) url() string { return "nats://" + e.listen }

// readStream returns every message of the stream in sequence order.
func readStream(ctx context.Context, url, stream string) ([]sinktest.Record, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	recs := make([]sinktest.Record, 0, info.State.Msgs)
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return nil, err
		}
		h := make(map[string]string, len(m.Header))
		for k := range m.Header {
			h[k] = m.Header.Get(k)
		}
		key := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		recs = append(recs, sinktest.Record{ID: h["Nats-Msg-Id"], Key: key, Where: m.Subject, Body: m.Data, Headers: h})
	}
	return recs, nil
}

func newHarness(t *testing.T) sinktest.Harness {
	e := startEmbedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := natsjs.New(ctx, natsjs.Config{URL: e.url(), Stream: "CONF", SubjectPrefix: "rhombus",
		AckTimeout: 500 * time.Millisecond, MaxInFlight: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return sinktest.Harness{
		Sink:  s,
		Read:  func(ctx context.Context) ([]sinktest.Record, error) { return readStream(ctx, e.url(), "CONF") },
		Stop:  func(t *testing.T) { e.stop() },
		Start: func(t *testing.T) { e.start(t) },
		IsInvalid: func(r sinktest.Record) bool {
			return r.Where == "rhombus.v1."+sinktest.Org+".invalid"
		},
	}
}

func TestConformance(t *testing.T) { sinktest.Run(t, newHarness) }
