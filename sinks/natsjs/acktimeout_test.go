package natsjs_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// holdProxy is a TCP proxy in front of a real server that can hold back everything the
// server sends to the client (PubAcks included) while letting the client's messages
// through: the server stores a publish, and its ack does not arrive.
type holdProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
	closed bool
	conns  []net.Conn
}

func startHoldProxy(t *testing.T, target string) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *holdProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *holdProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }() // client → server: always through
		go p.serverToClient(s, c)
	}
}

func (p *holdProxy) serverToClient(s, c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.held && !p.closed {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hold stops forwarding server → client bytes (they queue up); release lets them flow.
func (p *holdProxy) hold() { p.set(true) }

func (p *holdProxy) release() { p.set(false) }

func (p *holdProxy) set(held bool) {
	p.mu.Lock()
	p.held = held
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *holdProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	conns := p.conns
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
}

// ackTimeoutSetup starts a server, a proxy in front of it, a sink connected through the
// proxy, and a core subscriber connected directly that sees every copy the server gets.
func ackTimeoutSetup(t *testing.T, ackTimeout time.Duration) (srv *natstest.Server, px *holdProxy, s *natsjs.Sink, reg *prometheus.Registry, copies chan *nats.Msg) {
	t.Helper()
	srv = natstest.Start(t)
	px = startHoldProxy(t, strings.TrimPrefix(srv.URL(), "nats://"))
	reg = prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := natsjs.New(ctx, natsjs.Config{URL: px.url(), Stream: "ACK", AckTimeout: ackTimeout, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	copies = make(chan *nats.Msg, 64)
	if _, err := nc.ChanSubscribe("rhombus.v1.>", copies); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return srv, px, s, reg, copies
}

func nextCopy(t *testing.T, copies chan *nats.Msg, what string) *nats.Msg {
	t.Helper()
	select {
	case m := <-copies:
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("the server never received %s", what)
		return nil
	}
}

// streamMsgs returns how many messages the stream holds, asking the server directly.
func streamMsgs(t *testing.T, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// waitStreamMsgs waits until the stream holds want messages.
func waitStreamMsgs(t *testing.T, js jetstream.JetStream, stream string, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := streamMsgs(t, js, stream)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s holds %d messages, want %d", stream, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The server stores the message but its PubAck does not reach the sink within the ack
// timeout: the attempt fails, the caller's retry (the pipeline's, with the same event)
// sends it again with the same Nats-Msg-Id, the stream keeps one copy, and the retry
// succeeds only once an ack (the duplicate's) actually arrives.
func TestAckTimeoutRetriedWithSameMsgID(t *testing.T) {
	srv, px, s, reg, copies := ackTimeoutSetup(t, 400*time.Millisecond)
	js := jsClient(t, srv.URL())
	ev := sinktest.Events(t, 1, 1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	px.hold()
	done := make(chan error, 1)
	var failed int
	go func() {
		var err error
		failed, err = sinktest.Retry(ctx, s.Publish, ev)
		done <- err
	}()

	first := nextCopy(t, copies, "the first attempt")
	if got := first.Header.Get(jetstream.MsgIDHeader); got != ev.ID {
		t.Fatalf("first attempt Nats-Msg-Id %q, want %q", got, ev.ID)
	}
	waitStreamMsgs(t, js, "ACK", 1) // stored; its ack is held in the proxy
	second := nextCopy(t, copies, "a retry after the ack timeout")
	if got := second.Header.Get(jetstream.MsgIDHeader); got != ev.ID {
		t.Fatalf("retry Nats-Msg-Id %q, want the same id %q", got, ev.ID)
	}
	if second.Subject != first.Subject || string(second.Data) != string(first.Data) {
		t.Fatalf("retry differs: %s %q vs %s %q", second.Subject, second.Data, first.Subject, first.Data)
	}
	select {
	case err := <-done:
		t.Fatalf("Publish returned (%v) though no ack had reached the sink", err)
	default:
	}

	px.release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Publish after the acks were let through: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Publish did not return after the acks were let through")
	}
	if n := streamMsgs(t, js, "ACK"); n != 1 {
		t.Fatalf("stream holds %d copies, want exactly 1", n)
	}
	if failed < 1 {
		t.Errorf("%d failed attempts, want ≥ 1 (the one whose ack was held)", failed)
	}
	if d := counter(t, reg, "rhombus_bridge_sink_duplicates_total"); d < 1 {
		t.Errorf("duplicates counter %v, want ≥ 1 (the ack that counted was the retry's duplicate ack)", d)
	}
}

// No ack ever arrives though the server stored the message: Publish must not report
// success; its one attempt fails with the ack timeout, well before the caller's context
// ends, and so does a retry (the same id, still one copy in the stream).
func TestNoAckNoSuccess(t *testing.T) {
	srv, px, s, _, copies := ackTimeoutSetup(t, 200*time.Millisecond)
	js := jsClient(t, srv.URL())
	ev := sinktest.Events(t, 1, 1)[0]
	px.hold()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for attempt := range 2 {
		start := time.Now()
		err := s.Publish(ctx, ev)
		if err == nil {
			t.Fatalf("attempt %d returned nil though no ack reached the sink", attempt)
		}
		if !errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errors.Is(err, sinks.ErrRejected) {
			t.Errorf("attempt %d: want a transient error wrapping the ack timeout, got %v", attempt, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("attempt %d took %v with a 200ms ack timeout", attempt, el)
		}
	}
	if len(copies) < 2 {
		t.Errorf("the server got %d copies, want one per attempt", len(copies))
	}
	for len(copies) > 0 {
		if m := <-copies; m.Header.Get(jetstream.MsgIDHeader) != ev.ID {
			t.Errorf("a copy with Nats-Msg-Id %q, want %q", m.Header.Get(jetstream.MsgIDHeader), ev.ID)
		}
	}
	if n := streamMsgs(t, js, "ACK"); n != 1 {
		t.Errorf("stream holds %d copies, want exactly 1", n)
	}
	px.release()
}

// counter returns the value of the counter called name in reg (0 when absent).
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
