package rhombus

import (
	"context"
	"net"

	"github.com/gorilla/websocket"
)

// readBufferSize is the WebSocket read buffer when the Dialer sets none: a burst the
// kernel holds is read a dozen frames at a time, and Handler.Flush batches as many.
const readBufferSize = 16 << 10

// hookConn is the socket under the WebSocket. Before each read from it (the subscriber
// has passed on every frame it holds and may now wait), it calls before: the handler
// flushes the messages it batched. It is read by the subscriber's goroutine only, as
// gorilla/websocket reads on the caller's goroutine.
type hookConn struct {
	net.Conn
	before func() // nil until the subscription is served
}

func (c *hookConn) Read(p []byte) (int, error) {
	if c.before != nil {
		c.before()
	}
	return c.Conn.Read(p)
}

// hookedDialer returns a copy of d whose plain sockets are hookConns; it stores the last
// one it dialled in *hc. A Dialer that dials TLS itself (NetDialTLSContext on wss) gets
// no hook: *hc stays nil and the subscriber flushes after every message.
func hookedDialer(d *websocket.Dialer, hc **hookConn) *websocket.Dialer {
	hooked := *d
	if hooked.ReadBufferSize == 0 {
		hooked.ReadBufferSize = readBufferSize
	}
	base := d.NetDialContext
	if base == nil && d.NetDial != nil {
		base = func(_ context.Context, network, addr string) (net.Conn, error) { return d.NetDial(network, addr) }
	}
	if base == nil {
		base = (&net.Dialer{}).DialContext
	}
	hooked.NetDial = nil
	hooked.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		*hc = &hookConn{Conn: conn}
		return *hc, nil
	}
	return &hooked
}
