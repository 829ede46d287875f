package rhombus

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

func encode(f *frame.Frame) []byte {
	var b bytes.Buffer
	_ = frame.NewWriter(&b).Write(f)
	return b.Bytes()
}

func TestFrameGuard(t *testing.T) {
	withLen := encode(frame.New(frame.MESSAGE, "content-length", "5", "destination", "/x"))
	withLen = append(bytes.TrimSuffix(withLen, []byte{0}), []byte("ab\x00c\n\x00")...) // NUL inside a sized body
	noLen := []byte("MESSAGE\r\ndestination:/x\r\n\r\n{\"a\":1}\x00")
	stream := bytes.Join([][]byte{[]byte("\n\r\n"), withLen, []byte("\n"), noLen, withLen}, nil)
	for chunk := 1; chunk <= len(stream); chunk *= 3 {
		g := frameGuard{max: 64}
		for i := 0; i < len(stream); i += chunk {
			if err := g.check(stream[i:min(i+chunk, len(stream))]); err != nil {
				t.Fatalf("chunk %d: valid stream rejected: %v", chunk, err)
			}
		}
		if g.state != guardIdle {
			t.Fatalf("chunk %d: ends in state %d", chunk, g.state)
		}
	}
	for name, bad := range map[string]string{
		"huge content-length": "MESSAGE\ncontent-length:99999999999999999\n\n",
		"negative":            "MESSAGE\ncontent-length:-1\n\n",
		"unsized body":        "MESSAGE\n\n" + strings.Repeat("x", 100),
		"endless headers":     "MESSAGE\n" + strings.Repeat("h:v\n", 30),
	} {
		g := frameGuard{max: 64}
		if err := g.check([]byte(bad)); !errors.Is(err, ErrFrameTooLarge) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A message over the read limit ends the connection with its own cause; the feed comes
// back and carries on.
func TestOversizeMessageReconnects(t *testing.T) {
	s := startSim(t, sim.Config{})
	_, rec, _, _ := runFeed(t, s, func(c *FeedConfig) { c.ReadLimit = 64 << 10 })
	waitSimSubs(t, s, 1)
	rec.waitFor(t, 10*time.Second, "subscribed", func(r *recorder) bool { return len(r.subs) == 1 })
	s.Emit([]byte(fmt.Sprintf(`{"entity":"X","pad":"%s"}`, strings.Repeat("x", 100<<10))))
	rec.waitFor(t, 10*time.Second, "resubscribe", func(r *recorder) bool { return len(r.subs) == 2 })
	rec.mu.Lock()
	cause := rec.causes[0]
	rec.mu.Unlock()
	if CauseOf(cause) != CauseTooLarge {
		t.Fatalf("cause %v", cause)
	}
	waitSimSubs(t, s, 1)
	s.Emit([]byte(`{"entity":"Y"}`))
	rec.waitFor(t, 10*time.Second, "event after", func(r *recorder) bool { return len(r.bodies) == 1 })
}

// An oversize frame's error keeps the frame's first bytes (bounded), not the previous
// frame's, so they can be recorded on the invalid subject.
func TestOversizeFrameKeepsItsHead(t *testing.T) {
	g := frameGuard{max: 32 << 10}
	if err := g.check([]byte("\nMESSAGE\ncontent-length:2\n\nok\x00\n")); err != nil {
		t.Fatal(err)
	}
	big := "MESSAGE\nsubscription:1\n\n" + strings.Repeat("y", 40<<10)
	var fe *FrameTooLargeError
	if err := g.check([]byte(big)); !errors.As(err, &fe) || !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("want a *FrameTooLargeError, got %v", err)
	}
	if len(fe.Head) != MaxOversizeHead || string(fe.Head) != big[:MaxOversizeHead] {
		t.Fatalf("head is %d bytes starting %.30q; want the frame's first %d", len(fe.Head), fe.Head, MaxOversizeHead)
	}
}
