package rhombus

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-stomp/stomp/v3/frame"
)

// The frames' fixed ids: one subscription per connection.
const (
	subscriptionID    = "sub-0"
	subscribeReceipt  = "subscribe-0"
	disconnectReceipt = "disconnect-0"
)

// maxErrorBody bounds the part of an ERROR frame's body that is logged and kept.
const maxErrorBody = 512

// session is one live connection: the WebSocket and the STOMP frames on it.
type session struct {
	ws     *WSConn
	rd     *frameReader
	raw    *hookConn     // the socket, hooked for Handler.Flush (nil: flush after each message)
	send   time.Duration // negotiated heart-beats
	recv   time.Duration
	window time.Duration // liveness window
	subAt  time.Time     // when the SUBSCRIBE was sent
}

// StompError is a STOMP ERROR frame from the server.
type StompError struct {
	During  string // the frame it answered: "CONNECT", "SUBSCRIBE", or "" once subscribed
	Message string // its message header
	Body    string // its body: at most 512 bytes, control characters escaped
}

func (e *StompError) Error() string {
	during := ""
	if e.During != "" {
		during = " answering " + e.During
	}
	return fmt.Sprintf("STOMP ERROR%s: %q: %s", during, e.Message, e.Body)
}

func newStompError(f *frame.Frame, during string) *StompError {
	return &StompError{During: during, Message: f.Header.Get(frame.Message), Body: escapeBody(f.Body, maxErrorBody)}
}

// escapeBody is up to limit bytes of b as text, with control characters and invalid
// UTF-8 escaped (so a log line stays one line) and a note of what was cut.
func escapeBody(b []byte, limit int) string {
	cut := len(b) > limit
	if cut {
		b = b[:limit]
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			if len(b) < utf8.UTFMax && cut { // a rune split by the limit
				b = nil
				continue
			}
			fmt.Fprintf(&out, `\x%02x`, b[0])
		case unicode.IsControl(r):
			q := strconv.QuoteRune(r)
			out.WriteString(q[1 : len(q)-1])
		default:
			out.Write(b[:n])
		}
		b = b[n:]
	}
	if cut {
		out.WriteString("…(truncated)")
	}
	return out.String()
}

// connect dials, runs the STOMP CONNECT, starts liveness and sends the SUBSCRIBE with a
// receipt requested. The subscription is not accepted yet (see serve).
func (s *Subscriber) connect(ctx context.Context) (*session, error) {
	ws, hc, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	c := &session{ws: NewWSConn(ws, s.cfg.ReadLimit, s.cfg.ConnectTimeout), raw: hc}
	c.rd = newFrameReader(c.ws)
	stop := context.AfterFunc(ctx, func() { _ = c.ws.Abort() })
	defer stop()
	fail := func(err error) (*session, error) {
		_ = c.ws.Abort()
		if ctx.Err() != nil {
			return nil, &DisconnectError{Cause: CauseShutdown, Err: ctx.Err()}
		}
		return nil, err
	}
	if err := s.stompConnect(c); err != nil {
		return fail(err)
	}
	s.startLiveness(c)
	c.subAt = time.Now()
	sub := frame.New(frame.SUBSCRIBE, frame.Id, subscriptionID, frame.Destination, "/topic/change/"+s.cfg.Org,
		frame.Ack, "auto", frame.Receipt, subscribeReceipt)
	if err := c.write(sub); err != nil {
		return fail(&DisconnectError{Cause: CauseConnect, Err: fmt.Errorf("SUBSCRIBE: %w", err)})
	}
	return c, nil
}

// stompConnect sends CONNECT (STOMP 1.2 only, host, heart-beat offered both ways) and
// reads the answer within ConnectTimeout: CONNECTED, or an ERROR (*StompError).
func (s *Subscriber) stompConnect(c *session) error {
	hb := s.cfg.Heartbeat
	u, _ := url.Parse(s.cfg.WSURL)
	f := frame.New(frame.CONNECT, frame.AcceptVersion, "1.2", frame.Host, u.Hostname(),
		frame.HeartBeat, fmt.Sprintf("%d,%d", hb.Milliseconds(), hb.Milliseconds()))
	_ = c.ws.SetReadDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	if err := c.write(f); err != nil {
		return &DisconnectError{Cause: CauseConnect, Err: fmt.Errorf("CONNECT: %w", err)}
	}
	var got *frame.Frame
	for got == nil { // skip heart-beats
		var err error
		if got, err = c.rd.Read(); err != nil {
			return &DisconnectError{Cause: CauseConnect, Err: fmt.Errorf("waiting for CONNECTED: %w", err)}
		}
	}
	switch got.Command {
	case frame.CONNECTED:
	case frame.ERROR:
		return &DisconnectError{Cause: CauseStompErr, Err: newStompError(got, frame.CONNECT)}
	default:
		return &DisconnectError{Cause: CauseConnect, Err: fmt.Errorf("CONNECT answered with %s", got.Command)}
	}
	var sx, sy time.Duration
	if v, ok := got.Header.Contains(frame.HeartBeat); ok {
		sx, sy, _ = frame.ParseHeartBeat(v)
	}
	c.send, c.recv = Negotiate(hb, hb, sx, sy)
	return nil
}

// write sends f as one WebSocket message.
func (c *session) write(f *frame.Frame) error {
	var b bytes.Buffer
	if err := frame.NewWriter(&b).Write(f); err != nil {
		return err
	}
	_, err := c.ws.Write(b.Bytes())
	return err
}
