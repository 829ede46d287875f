package natsjs_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

func TestPublishHeadersAndDuplicate(t *testing.T) {
	srv, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:-1", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := natsjs.New(ctx, natsjs.Config{URL: srv.ClientURL(), Stream: "T", SubjectPrefix: "rhombus"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	ev, err := event.ParseChange("ORG1", []byte(`{"entity":"POLICY_ALERT","entityUuid":"A1","type":"CREATE","deviceUuid":"CAM.1","timestampMs":1711843200000}`), event.ViaWebSocket)
	if err != nil {
		t.Fatal(err)
	}
	ev.Fence = 7
	for i := 0; i < 2; i++ {
		if err := s.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	js, _ := jetstream.New(s.Conn())
	st, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 {
		t.Fatalf("stored %d messages, want 1", info.State.Msgs)
	}
	m, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Nats-Msg-Id": ev.ID, "ce_id": ev.ID, "ce_type": ev.CEType(),
		"Content-Type": "application/cloudevents+json", "Rhombus-Lease-Rev": "7"}
	for k, v := range want {
		if got := nats.Header(m.Header).Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if m.Subject != "rhombus.v1.ORG1.policy_alert.create.CAM_1" || string(m.Data) != string(ev.Body) {
		t.Errorf("subject %s body %s", m.Subject, m.Data)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: l.Addr().String(), StoreDir: t.TempDir()})
	if !errors.Is(err, natsjs.ErrListen) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("want ErrListen wrapping EADDRINUSE, got %v", err)
	}
	free, err := natsjs.FreeListen("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: free, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if got := srv.Addr().String(); got != free {
		t.Fatalf("listening on %s, want %s", got, free)
	}
}

func TestOversizeFailsFastAndConfig(t *testing.T) {
	srv, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:-1", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := natsjs.New(ctx, natsjs.Config{Replicas: 9}); err == nil {
		t.Fatal("a config without URL and with 9 replicas was accepted")
	}
	s, err := natsjs.New(ctx, natsjs.Config{URL: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	ev, _ := event.ParseChange("ORG1", []byte(`{"entity":"DEVICE_CONFIG","entityUuid":"D","type":"UPDATE"}`), event.ViaWebSocket)
	ev.Body = make([]byte, 2<<20) // over the server's 1 MiB max payload
	start := time.Now()
	if err := s.Publish(ctx, ev); !errors.Is(err, nats.ErrMaxPayload) {
		t.Fatalf("want ErrMaxPayload, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("an oversize publish was retried instead of failing")
	}
}
