package sim

import (
	"testing"
)

// BenchmarkEmitToSubscriber measures Emit → MESSAGE read by a plain WebSocket client with
// go-stomp's frame reader, in the default and the most fragmented framing.
func BenchmarkEmitToSubscriber(b *testing.B) {
	for _, mode := range []Framing{0, FramePacked | FrameSplit | FrameLeadingEOL} {
		b.Run(mode.String(), func(b *testing.B) {
			s := start(b, Config{QueueSize: 1 << 16, Framing: mode})
			c := subscribed(b, s)
			payload := s.CreateAlert(Alert{HistoryOnly: true}).Payload()
			b.SetBytes(int64(len(payload)))
			done := make(chan error, 1)
			b.ResetTimer()
			go func() {
				for range b.N {
					if _, err := c.next(); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			for range b.N {
				s.Emit(payload)
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
