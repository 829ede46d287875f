package rhombus

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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

// smallLimits exercise every limit with short inputs; the production ones are
// newFrameGuard's.
var smallLimits = guardLimits{frame: 1024, line: 64, headers: 4, headerBytes: 256}

func TestFrameGuard(t *testing.T) {
	withLen := encode(frame.New(frame.MESSAGE, "content-length", "5", "destination", "/x"))
	withLen = append(bytes.TrimSuffix(withLen, []byte{0}), []byte("ab\x00c\n\x00")...) // NUL inside a sized body
	noLen := []byte("MESSAGE\r\ndestination:/x\r\n\r\n{\"a\":1}\x00")
	stream := bytes.Join([][]byte{[]byte("\n\r\n"), withLen, []byte("\n"), noLen, withLen}, nil)
	for chunk := 1; chunk <= len(stream); chunk *= 3 {
		g := frameGuard{lim: guardLimits{frame: 64, line: 64, headers: 4, headerBytes: 64}}
		for i := 0; i < len(stream); i += chunk {
			if err := g.check(stream[i:min(i+chunk, len(stream))]); err != nil {
				t.Fatalf("chunk %d: valid stream rejected: %v", chunk, err)
			}
		}
		if g.state != guardIdle {
			t.Fatalf("chunk %d: ends in state %d", chunk, g.state)
		}
	}
}

// The content-length value is read in full, as go-stomp reads it, and refused unless it is
// a plain number of at most 20 digits within the frame limit (smallLimits: 1024 bytes).
// Each accepted frame is also read by go-stomp, which must find the same body.
func TestGuardContentLength(t *testing.T) {
	const refused = -1
	cases := []struct {
		name, headers string
		body          int // the body sent, and read by go-stomp; refused: the guard refuses
	}{
		{"plain", "content-length:5\n", 5},
		{"zero", "content-length:0\n", 0},
		{"a few leading zeros", "content-length:0005\n", 5},
		{"20 digits", "content-length:" + strings.Repeat("0", 19) + "5\n", 5},
		{"21 digits", "content-length:" + strings.Repeat("0", 20) + "5\n", refused},
		{"padded attack", "content-length:" + strings.Repeat("0", 60) + "4000000000\n", refused},
		{"over the limit", "content-length:1025\n", refused},
		{"overflow", "content-length:99999999999999999999\n", refused},
		{"beyond uint32", "content-length:4294967296\n", refused},
		{"negative", "content-length:-1\n", refused},
		{"plus sign", "content-length:+5\n", refused},
		{"leading space", "content-length: 5\n", refused},
		{"trailing space", "content-length:5 \n", refused},
		{"trailing CR", "content-length:5\r\r\n", refused}, // readLine strips one CR: "5\r" is no number
		{"hex", "content-length:0x5\n", refused},
		{"underscore", "content-length:1_0\n", refused},
		{"empty", "content-length:\n", refused},
		{"escaped colon", "content-length:5\\c\n", refused},
		{"CRLF", "content-length:5\r\n", 5},
		{"first wins (small)", "content-length:5\ncontent-length:99999999999\n", 5},
		{"first wins (huge)", "content-length:99999999999\ncontent-length:5\n", refused},
		{"first wins (bad)", "content-length:x\ncontent-length:5\n", refused},
		{"other name: unsized", "Content-Length:99999999999\n", 7},
		{"name with space: unsized", "content-length :99999999999\n", 7},
		{"escaped name: unsized", "content\\clength:99999999999\n", 7},
		{"fills the frame", "content-length:995\n", 995}, // 8 + 19 + 1 + 995 + NUL = 1024
		{"one over the frame", "content-length:996\n", refused},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := "MESSAGE\n" + c.headers + "\n" + strings.Repeat("b", max(c.body, 0)) + "\x00"
			g := frameGuard{lim: smallLimits}
			err := g.check([]byte(in))
			if c.body == refused {
				var fe *FrameTooLargeError
				if !errors.As(err, &fe) || !strings.HasPrefix(string(fe.Head), "MESSAGE\n") {
					t.Fatalf("want a FrameTooLargeError with the frame's head, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			f, rerr := frame.NewReader(strings.NewReader(in)).Read()
			if rerr != nil || len(f.Body) != c.body || g.state != guardIdle {
				t.Fatalf("go-stomp: %v, body %d (want %d); guard state %d", rerr, len(f.Body), c.body, g.state)
			}
		})
	}
}

// Every limit and every frame go-stomp cannot read is refused with its own error; the
// frame exactly at each limit passes.
func TestGuardRefusals(t *testing.T) {
	hdrs := func(n int) string { return strings.Repeat("a:b\n", n) }
	cases := []struct {
		name, in string
		want     error // nil: accepted
		reason   string
	}{
		{"line at the limit", "MESSAGE\nh:" + strings.Repeat("v", 61) + "\n\n\x00", nil, ""},
		{"line over the limit", "MESSAGE\nh:" + strings.Repeat("v", 62) + "\n", ErrFrameTooLarge, "header line over 64"},
		{"endless header line", "MESSAGE\nh:" + strings.Repeat("v", 4096), ErrFrameTooLarge, "header line over 64"},
		{"endless command line", strings.Repeat("M", 4096), ErrFrameTooLarge, "header line over 64"},
		{"endless CRs between frames", strings.Repeat("\r", 4096), ErrFrameTooLarge, "header line over 64"},
		{"headers at the limit", "MESSAGE\n" + hdrs(4) + "\n\x00", nil, ""},
		{"one header too many", "MESSAGE\n" + hdrs(5) + "\n\x00", ErrFrameTooLarge, "more than 4 headers"},
		{"a million headers", "MESSAGE\n" + hdrs(1e6), ErrFrameTooLarge, "more than 4 headers"},
		{"header bytes", "MESSAGE\n" + strings.Repeat("h:"+strings.Repeat("v", 60)+"\n", 5), ErrFrameTooLarge, "headers over 256"},
		{"unsized body at the limit", "MESSAGE\n\n" + strings.Repeat("x", 1024-10) + "\x00", nil, ""},
		{"unsized body one over", "MESSAGE\n\n" + strings.Repeat("x", 1024-9) + "\x00", ErrFrameTooLarge, "over 1024 bytes"},
		{"endless body", "MESSAGE\n\n" + strings.Repeat("x", 1<<20), ErrFrameTooLarge, "over 1024 bytes"},
		{"unknown command", "HELLO\n\n\x00", ErrFrameInvalid, "unknown command"},
		{"CR before the command", "\r\r\nMESSAGE\n\n\x00", ErrFrameInvalid, "unknown command"},
		{"lower-case command", "message\n\n\x00", ErrFrameInvalid, "unknown command"},
		{"no colon", "MESSAGE\nnocolon\n\n\x00", ErrFrameInvalid, "without a name"},
		{"empty name", "MESSAGE\n:v\n\n\x00", ErrFrameInvalid, "without a name"},
		{"no NUL after a sized body", "MESSAGE\ncontent-length:1\n\nab", ErrFrameInvalid, "no NUL"},
		{"heart-beats", "\n\r\n\n", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := frameGuard{lim: smallLimits}
			err := g.check([]byte(c.in))
			if c.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				assertStompReads(t, c.in)
				return
			}
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("got %v; want %v saying %q", err, c.want, c.reason)
			}
			if h := frameHead(err); len(h) == 0 || len(h) > MaxOversizeHead || !strings.HasPrefix(c.in, string(h)) {
				t.Fatalf("head %.40q is not the start of the frame", h)
			}
		})
	}
}

// assertStompReads checks that go-stomp reads in without an error.
func assertStompReads(t *testing.T, in string) {
	t.Helper()
	r := frame.NewReader(strings.NewReader(in))
	for {
		if _, err := r.Read(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("go-stomp refuses what the guard accepted: %v", err)
		}
	}
}

// frameHead is the head kept by a guard error.
func frameHead(err error) []byte {
	var big *FrameTooLargeError
	var bad *FrameInvalidError
	switch {
	case errors.As(err, &big):
		return big.Head
	case errors.As(err, &bad):
		return bad.Head
	}
	return nil
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
	g := newFrameGuard(32 << 10)
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
