package rhombus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// heapBound is what the bridge's heap (HeapInuse, this whole test process) may reach while
// a peer attacks it; the base deployment's memory limit is 512 MiB.
const heapBound = 64 << 20

// attackLimit bounds what one attack streams; the guard must end it long before.
const attackLimit = 256 << 20

// attack is one malicious frame: prefix, then fill n times (n < 0: forever), then suffix.
type attack struct {
	name, reason         string // reason: what the refusal must say
	prefix, fill, suffix string
	n                    int
}

func (a attack) reader() io.Reader {
	var fill io.Reader = &repeatReader{pat: a.fill}
	if a.n >= 0 {
		fill = io.LimitReader(fill, int64(a.n*len(a.fill)))
	}
	return io.MultiReader(strings.NewReader(a.prefix), fill, strings.NewReader(a.suffix))
}

type repeatReader struct {
	pat string
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pat[r.off]
		r.off = (r.off + 1) % len(r.pat)
	}
	return len(p), nil
}

// hostileAttacks are issue 11's malicious frames against a frame limit of max bytes.
func hostileAttacks(max int) []attack {
	const msg = "MESSAGE\nsubscription:0\ndestination:/topic/change/ORG\nmessage-id:1\n"
	over := fmt.Sprintf("over %d bytes", max)
	sized := func() (string, int) { // content-length n making a frame of max+1 bytes
		for digits := 1; ; digits++ {
			n := max - len(msg+"content-length:\n\n") - digits
			if len(fmt.Sprint(n)) == digits {
				return fmt.Sprintf("%scontent-length:%d\n\n", msg, n), n
			}
		}
	}
	sizedPrefix, sizedN := sized()
	return []attack{
		{"padded content-length", `content-length "0000`, msg + "content-length:" + strings.Repeat("0", 60) + "4000000000\n\n", "x", "", -1},
		{"a million headers", "more than 100 headers", msg, "a:\n", "\n{}\x00", 1_000_000},
		{"endless header line", "header line over", msg + "x-pad:", "v", "", -1},
		{"endless body without NUL", over, msg + "\n", "x", "", -1},
		{"unsized body one byte over", over, msg + "\n", "x", "\x00", max - len(msg) - 1},
		{"sized body one byte over", fmt.Sprintf("frame of %d bytes", max+1), sizedPrefix, "x", "\x00", sizedN},
	}
}

// A peer that sends each malicious frame after CONNECTED and SUBSCRIBE cannot grow the
// heap past heapBound: the frame guard ends the connection with frame_too_large, keeps
// the frame's head for the invalid subject, the feed resubscribes and every valid event
// sent afterwards arrives. The frame limit is the production default (DefaultReadLimit).
func TestHostilePeer(t *testing.T) {
	p := startStompPeer(t)
	rec := runPeerFeed(t, p)
	c := p.waitSub(t, 30*time.Second)
	sendEvents(t, rec, c, "before")
	for _, a := range hostileAttacks(DefaultReadLimit) {
		t.Run(a.name, func(t *testing.T) { c = attackOnce(t, p, rec, c, a) })
	}
}

// attackOnce runs a on c and returns the connection the feed subscribed on afterwards.
func attackOnce(t *testing.T, p *stompPeer, rec *recorder, c *peerConn, a attack) *peerConn {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	_, _, downs := rec.counts()
	stop := make(chan struct{})
	peakc := sampleHeap(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sent, werr := c.stream(ctx, a.reader(), attackLimit)
	next := p.waitSub(t, 30*time.Second)
	close(stop)
	peak := <-peakc
	t.Logf("%s: heap in use %.1f MiB before, peak %.1f MiB; %.1f MiB streamed before the close",
		a.name, mib(base), mib(peak), mib(uint64(sent)))
	if peak > heapBound {
		t.Errorf("heap in use peaked at %.1f MiB, bound %d MiB", mib(peak), heapBound>>20)
	}
	if a.n < 0 && werr == nil {
		t.Errorf("the connection was still open after %d MiB", sent>>20)
	}
	rec.waitFor(t, 10*time.Second, "disconnect", func(r *recorder) bool { return len(r.causes) > downs })
	rec.mu.Lock()
	cause := rec.causes[downs]
	rec.mu.Unlock()
	checkRefusal(t, a, cause)
	sendEvents(t, rec, next, a.name)
	return next
}

// checkRefusal checks the cause: frame_too_large, saying why, with the frame's head. It
// fails without stopping, so that the next attack runs on the new subscription.
func checkRefusal(t *testing.T, a attack, cause error) {
	t.Helper()
	var fe *FrameTooLargeError
	if CauseOf(cause) != CauseTooLarge || !errors.As(cause, &fe) || !strings.Contains(fe.Reason, a.reason) {
		t.Errorf("cause %v; want frame_too_large saying %q", cause, a.reason)
		return
	}
	want := make([]byte, len(fe.Head))
	_, _ = io.ReadFull(a.reader(), want)
	if len(fe.Head) < min(len(a.prefix), 64) || len(fe.Head) > MaxOversizeHead || !bytes.Equal(fe.Head, want) {
		t.Errorf("head of %d bytes %.60q; want the frame's first bytes %.60q", len(fe.Head), fe.Head, a.prefix)
	}
}

// sendEvents sends ten events on c and waits until all of them arrived, in order.
func sendEvents(t *testing.T, rec *recorder, c *peerConn, tag string) {
	t.Helper()
	_, before, _ := rec.counts()
	var want []string
	for i := 0; i < 10; i++ {
		b := fmt.Sprintf(`{"entity":"X","after":%q,"n":%d}`, tag, i)
		if err := c.message(b); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		want = append(want, b)
	}
	rec.waitFor(t, 20*time.Second, "events after "+tag, func(r *recorder) bool { return len(r.bodies) >= before+10 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, b := range rec.bodies[before:] {
		if string(b) != want[i] {
			t.Fatalf("event %d: %q, want %q", i, b, want[i])
		}
	}
}

// sampleHeap samples HeapInuse until stop is closed, then sends the peak.
func sampleHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// runPeerFeed runs a Subscriber against p until the test ends. Settings are production
// defaults (frame limit, liveness on 10 s pings as the peer offers no heart-beats) but for
// a short reconnect backoff.
func runPeerFeed(t *testing.T, p *stompPeer) *recorder {
	sub, err := NewSubscriber(FeedConfig{WSURL: p.url, APIKey: testKey, Org: "ORG",
		BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, rec) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return within 10s of cancel")
		}
	})
	return rec
}

// A frame go-stomp cannot read ends the connection with a FrameInvalidError that says why
// and keeps the frame's head; the feed resubscribes and later events arrive.
func TestInvalidFrameEndsConnection(t *testing.T) {
	p := startStompPeer(t)
	rec := runPeerFeed(t, p)
	c := p.waitSub(t, 30*time.Second)
	for _, bad := range []string{"HELLO\n\n\x00", "MESSAGE\nsubscription:0\nno colon\n\n\x00"} {
		_, _, downs := rec.counts()
		if err := c.write([]byte(bad)); err != nil {
			t.Fatal(err)
		}
		c = p.waitSub(t, 30*time.Second)
		rec.waitFor(t, 10*time.Second, "disconnect", func(r *recorder) bool { return len(r.causes) > downs })
		rec.mu.Lock()
		cause := rec.causes[downs]
		rec.mu.Unlock()
		var fe *FrameInvalidError
		if !errors.As(cause, &fe) || string(fe.Head) != bad[:len(fe.Head)] || len(fe.Head) < len("HELLO\n") {
			t.Fatalf("cause %v; want a FrameInvalidError with the frame's head", cause)
		}
		if CauseOf(cause) != CauseInvalid {
			t.Fatalf("cause label %q, want %q", CauseOf(cause), CauseInvalid)
		}
		sendEvents(t, rec, c, bad)
	}
}
