//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs nats-server with JetStream (file storage) on addr and connects to it.
func (h *harness) startNATS(addr string) (*nats.Conn, jetstream.JetStream, error) {
	host, port, _ := cutHostPort(addr)
	p, err := start("nats-server", h.bin("nats-server"), nil, h.dir, false,
		"-a", host, "-p", port, "-js", "-sd", filepath.Join(h.dir, "jetstream"))
	if err != nil {
		return nil, nil, err
	}
	h.add(p)
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect("nats://" + addr)
		if err == nil {
			js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
			return nc, js, err
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("nats-server not ready: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createStream makes a stream configured as the bridge configures its own (file storage,
// 10 min duplicate window, one replica).
func createStream(ctx context.Context, js jetstream.JetStream, name, subject string) error {
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
		Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute, Replicas: 1})
	return err
}

// rawBaseline publishes n messages of size bytes with PublishMsgAsync and a Nats-Msg-Id
// into a stream of the same server and returns messages per second up to the last PubAck.
func rawBaseline(ctx context.Context, js jetstream.JetStream, n, size int) (float64, error) {
	if err := createStream(ctx, js, "RAW", "raw.>"); err != nil {
		return 0, err
	}
	body := bytes.Repeat([]byte("x"), size)
	t0 := time.Now()
	for i := range n {
		m := &nats.Msg{Subject: "raw.bench", Data: body, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, "raw-"+strconv.Itoa(i))
		if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(time.Minute)); err != nil {
			return 0, fmt.Errorf("raw publish: %w", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	el := time.Since(t0)
	if got, err := stored(ctx, js, "RAW"); err != nil || got != uint64(n) {
		return 0, fmt.Errorf("raw baseline stored %d of %d: %v", got, n, err)
	}
	return float64(n) / el.Seconds(), nil
}

// stored is the number of messages in a stream (0 when it does not exist yet).
func stored(ctx context.Context, js jetstream.JetStream, stream string) (uint64, error) {
	s, err := js.Stream(ctx, stream)
	if err == jetstream.ErrStreamNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}

// waitStored polls until stream holds want messages, failing after d.
func waitStored(ctx context.Context, js jetstream.JetStream, stream string, want uint64, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		got, err := stored(ctx, js, stream)
		if err == nil && got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s holds %d messages after %s, want %d (%v)", stream, got, d, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// latencies follows new messages of a stream and records now − the feeder's send time
// ("sent:<unix ns>" in the body) for each.
type latencies struct {
	cc   jetstream.ConsumeContext
	got  chan time.Duration
	vals []time.Duration
}

func followLatency(ctx context.Context, js jetstream.JetStream, stream string) (*latencies, error) {
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return nil, err
	}
	l := &latencies{got: make(chan time.Duration, 1<<16)}
	l.cc, err = c.Consume(func(m jetstream.Msg) {
		now := time.Now()
		b := m.Data()
		i := bytes.Index(b, []byte("sent:"))
		if i < 0 {
			return
		}
		j := i + 5
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if ns, err := strconv.ParseInt(string(b[i+5:j]), 10, 64); err == nil {
			l.got <- now.Sub(time.Unix(0, ns))
		}
	})
	return l, err
}

// collect waits for n latencies (at most d) and returns p50 and p99.
func (l *latencies) collect(n int, d time.Duration) (p50, p99 time.Duration, err error) {
	defer l.cc.Stop()
	timeout := time.After(d)
	for len(l.vals) < n {
		select {
		case v := <-l.got:
			l.vals = append(l.vals, v)
		case <-timeout:
			return 0, 0, fmt.Errorf("latency: %d of %d messages seen", len(l.vals), n)
		}
	}
	slices.Sort(l.vals)
	return l.vals[len(l.vals)/2], l.vals[len(l.vals)*99/100], nil
}
