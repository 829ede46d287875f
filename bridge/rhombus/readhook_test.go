package rhombus

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// Over wss:// (Rhombus's own scheme) the hook sits under TLS: every message is passed
// on, and flushed before the subscriber reads the socket again. A Dialer that dials TLS
// itself gets no hook, and every message is flushed as it comes.
func TestFlushOverTLS(t *testing.T) {
	for _, ownTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("own_tls_dial=%v", ownTLS), func(t *testing.T) {
			s, err := sim.New(sim.Config{APIKey: testKey, Logger: quietLogger(), Framing: sim.FramePacked})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewTLSServer(s.Handler())
			t.Cleanup(func() { ts.Close(); _ = s.Close() })
			d := tlsDialer(ts, ownTLS)
			_, rec, _, stop := runFeed(t, s, func(c *FeedConfig) {
				c.WSURL, c.Dialer = "wss://"+strings.TrimPrefix(ts.URL, "https://")+"/websocket", d
			})
			waitSimSubs(t, s, 1)
			const n = 200
			for i := range n {
				s.Emit(fmt.Appendf(nil, `{"entity":"DEVICE_CONFIG","entityUuid":"d%d"}`, i))
			}
			rec.waitFor(t, 10*time.Second, "every message flushed", func(r *recorder) bool { return r.flushed == n })
			stop()
			rec.mu.Lock()
			defer rec.mu.Unlock()
			t.Logf("%d flushes for %d messages", rec.flushes, n)
			if ownTLS && rec.flushes < n {
				t.Fatalf("%d flushes for %d messages without the hook; want one per message", rec.flushes, n)
			}
		})
	}
}

// tlsDialer trusts ts; with ownTLS it dials TLS itself (NetDialTLSContext).
func tlsDialer(ts *httptest.Server, ownTLS bool) *websocket.Dialer {
	conf := ts.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	d := &websocket.Dialer{TLSClientConfig: conf, HandshakeTimeout: 5 * time.Second}
	if ownTLS {
		d.NetDialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&tls.Dialer{Config: conf}).DialContext(ctx, network, addr)
		}
	}
	return d
}
