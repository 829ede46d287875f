package slacknotify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

func TestNewValidates(t *testing.T) {
	js := natstest.Connect(t, natstest.Start(t).URL())
	bad := []Config{
		{WebhookURL: "http://x"}, // no JetStream
		{JetStream: js},          // no webhook
		{JetStream: js, WebhookURL: "ftp://x"},
		{JetStream: js, WebhookURL: "http://x", RetryBase: time.Minute, RetryMax: time.Second},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	if _, err := New(Config{JetStream: js, WebhookURL: "https://hooks.example/T/B/X"}); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestDecide(t *testing.T) {
	n := &Notifier{triggers: map[string]bool{"PERSON_DETECTED": true}}
	cases := []struct {
		entity, change string
		triggers       []string
		want           Decision
	}{
		{"POLICY_ALERT", "CREATE", []string{"PERSON_DETECTED"}, Post},
		{"policy_alert", "create", []string{"person_detected"}, Post},
		{"POLICY_ALERT", "CREATE", []string{"MOTION_DETECTED"}, Skip},
		{"POLICY_ALERT", "UPDATE", []string{"PERSON_DETECTED"}, Skip},
		{"CAMERA", "CREATE", []string{"PERSON_DETECTED"}, Skip},
		{"POLICY_ALERT", "CREATE", nil, Skip},
	}
	for _, c := range cases {
		ev := v1.Event{Data: v1.ChangeData{Entity: c.entity, Type: c.change, PolicyAlertTriggers: c.triggers}}
		if got := n.Decide(&ev); got != c.want {
			t.Errorf("%+v: %v, want %v", c, got, c.want)
		}
	}
}

func TestPostRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	p := &poster{url: srv.URL, client: srv.Client(), timeout: time.Second}
	err := p.post(context.Background(), "hi")
	var pe *postError
	if !errors.As(err, &pe) || pe.status != 429 || pe.retryAfter != 7*time.Second {
		t.Fatalf("post: %v", err)
	}
	n := &Notifier{cfg: Config{RetryBase: time.Second, RetryMax: 5 * time.Second}}
	if d := n.retryDelay(nil, err); d != 5*time.Second {
		t.Errorf("Retry-After 7s with a 5s cap: delay %v", d)
	}
}

func TestPostTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p := &poster{url: srv.URL, client: srv.Client(), timeout: 50 * time.Millisecond}
	if err := p.post(context.Background(), "hi"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging webhook: %v, want a deadline error", err)
	}
}
