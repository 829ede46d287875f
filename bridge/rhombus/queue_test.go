package rhombus

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
)

// stalled is a Handler whose Message blocks until release is closed: a drain slower than
// the socket. It counts messages and keeps none.
type stalled struct {
	*recorder
	release chan struct{}
	got     atomic.Int64
}

func (s *stalled) Message([]byte, time.Time) {
	<-s.release
	s.got.Add(1)
}

// Behind a stalled handler go-stomp holds a bounded number of frames: its read channel is
// cut to one (its subscription keeps 16, which go-stomp does not let us change), about 21
// frames in all instead of 40. The peer sends frames of the frame limit until its writes
// stop progressing; the heap must stay within 30 frames. The limit is 1 MiB here, not
// production's 4 MiB, to keep the test light: the bound scales with it.
func TestStalledHandlerQueueBounded(t *testing.T) {
	const limit = 1 << 20
	p := startStompPeer(t)
	sub, err := NewSubscriber(FeedConfig{WSURL: p.url, APIKey: testKey, Org: "ORG", ReadLimit: limit, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h := &stalled{recorder: newRecorder(), release: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sub.Run(ctx, h); close(done) }()
	c := p.waitSub(t, 30*time.Second)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	stop := make(chan struct{})
	peakc := sampleHeap(stop)
	quit, progress, sent := make(chan struct{}), make(chan int, 128), make(chan int, 1)
	go flood(c, limit, quit, progress, sent)
	waitQuiet(progress, 2*time.Second) // the client has stopped reading: every buffer is full
	close(stop)
	peak := <-peakc
	close(quit)
	close(h.release)
	n := <-sent
	cancel()
	<-done
	t.Logf("%d frames of %d KiB sent to a stalled handler; heap in use %.1f MiB before, peak %.1f MiB",
		n, limit>>10, mib(ms.HeapInuse), mib(peak))
	if grew := peak - min(peak, ms.HeapInuse); grew > 30*limit {
		t.Fatalf("the heap grew by %.1f MiB behind a stalled handler; bound %d MiB", mib(grew), 30*limit>>20)
	}
}

// flood writes MESSAGE frames of about limit bytes to c until quit, reporting each on
// progress, then the count on sent.
func flood(c *peerConn, limit int, quit <-chan struct{}, progress, sent chan<- int) {
	f := frame.New(frame.MESSAGE, frame.Subscription, c.subID, frame.Destination, "/topic/change/ORG",
		frame.ContentLength, fmt.Sprint(limit-100))
	f.Body = []byte(strings.Repeat("x", limit-100))
	one := encode(f)
	n := 0
	defer func() { sent <- n }()
	for ; n < 100; n++ {
		select {
		case <-quit:
			return
		default:
		}
		if c.write(one) != nil {
			return
		}
		progress <- n
	}
}

// waitQuiet returns once nothing arrived on progress for quiet.
func waitQuiet(progress <-chan int, quiet time.Duration) {
	idle := time.NewTimer(quiet)
	defer idle.Stop()
	for {
		select {
		case <-progress:
			idle.Reset(quiet)
		case <-idle.C:
			return
		}
	}
}
