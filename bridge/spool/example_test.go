package spool_test

import (
	"context"
	"fmt"
	"os"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/spool"
)

// A feeder moves spooled events into a bounded queue; the consumer acknowledges each one
// once delivered, so that a crash in between replays it.
func Example() {
	dir, err := os.MkdirTemp("", "spool-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	sp, err := spool.Open(spool.Config{Dir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sp.Close()

	// While the broker is down, live events spill to the spool.
	for _, id := range []string{"a", "b", "c"} {
		if err := sp.Append(event.Event{ID: id, Body: []byte(`{}`)}); err != nil {
			fmt.Println("not kept, record a gap:", err)
		}
	}

	type queued struct {
		seq uint64
		ev  event.Event
	}
	queue := make(chan queued, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the feeder
		for {
			seq, ev, err := sp.NextSeq(ctx)
			if err != nil {
				return
			}
			select {
			case queue <- queued{seq, ev}:
			case <-ctx.Done():
				return // not acknowledged: replayed after a restart
			}
		}
	}()
	for range 3 { // the delivery side
		q := <-queue
		fmt.Println("delivered", q.ev.ID)
		if err := sp.Ack(q.seq); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("left:", sp.Len())
	// Output:
	// delivered a
	// delivered b
	// delivered c
	// left: 0
}
