package rhombus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// FeedConfig configures the live change feed (Subscriber).
type FeedConfig struct {
	WSURL      string // e.g. wss://ws.rhombussystems.com:8443/websocket
	APIKey     string
	AuthScheme string // default "api-token"
	PartnerOrg string // x-auth-org, partner tokens only
	Org        string // org uuid; required

	Heartbeat        time.Duration // STOMP heart-beat offered both ways (0: none)
	HandshakeTimeout time.Duration // WebSocket handshake (default 10 s)
	ConnectTimeout   time.Duration // STOMP CONNECT → CONNECTED (default 10 s)
	ReadLimit        int64         // largest WebSocket message (default DefaultReadLimit)
	LivenessGrace    time.Duration // added to 2 × the server's heart-beat (default 500 ms)
	PingInterval     time.Duration // WebSocket pings (default Heartbeat, else 10 s)

	BackoffBase  time.Duration // reconnect backoff (default 100 ms)
	BackoffMax   time.Duration // its cap (default 30 s)
	HealthyAfter time.Duration // a subscription this old resets the backoff (default 5 s)

	Dialer     *websocket.Dialer // default: proxy from environment, HandshakeTimeout
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics not registered
}

func (c *FeedConfig) validate() error {
	var errs []error
	if _, err := url.Parse(c.WSURL); err != nil || !strings.HasPrefix(c.WSURL, "ws") {
		errs = append(errs, fmt.Errorf("rhombus: WSURL %q is not a ws:// or wss:// URL", c.WSURL))
	}
	if c.APIKey == "" {
		errs = append(errs, errors.New("rhombus: APIKey is required"))
	}
	if c.Org == "" {
		errs = append(errs, errors.New("rhombus: Org is required"))
	}
	if c.Heartbeat < 0 {
		errs = append(errs, errors.New("rhombus: Heartbeat must not be negative"))
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.AuthScheme == "" {
		c.AuthScheme = "api-token"
	}
	def(&c.HandshakeTimeout, 10*time.Second)
	def(&c.ConnectTimeout, 10*time.Second)
	def(&c.LivenessGrace, 500*time.Millisecond)
	def(&c.PingInterval, c.Heartbeat)
	def(&c.PingInterval, 10*time.Second)
	def(&c.BackoffBase, 100*time.Millisecond)
	def(&c.BackoffMax, 30*time.Second)
	def(&c.HealthyAfter, 5*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Dialer == nil {
		c.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: c.HandshakeTimeout}
	}
	return errors.Join(errs...)
}

// Negotiate returns the STOMP 1.2 heart-beat intervals from the client's offer (cx,cy)
// and the server's CONNECTED header (sx,sy): send is how often the client must send, recv
// how often the server will; 0 means none (either side's 0 turns a direction off).
func Negotiate(cx, cy, sx, sy time.Duration) (send, recv time.Duration) {
	if cx > 0 && sy > 0 {
		send = max(cx, sy)
	}
	if sx > 0 && cy > 0 {
		recv = max(sx, cy)
	}
	return send, recv
}

// session is one live connection: WebSocket, STOMP and the subscription.
type session struct {
	ws       *WSConn
	st       *stomp.Conn
	sub      *stomp.Subscription
	send     time.Duration // negotiated heart-beats
	recv     time.Duration
	window   time.Duration // liveness window
	stompErr atomic.Bool   // the server sent an ERROR frame
}

// dial opens the WebSocket; a refused handshake is a *HandshakeError.
func (s *Subscriber) dial(ctx context.Context) (*websocket.Conn, error) {
	u, err := url.Parse(s.cfg.WSURL)
	if err != nil {
		return nil, &DisconnectError{Cause: CauseDial, Err: err}
	}
	q := u.Query()
	q.Set("x-auth-scheme", s.cfg.AuthScheme)
	u.RawQuery = q.Encode()
	h := http.Header{}
	h.Set("x-auth-apikey", s.cfg.APIKey)
	h.Set("x-auth-scheme", s.cfg.AuthScheme)
	if s.cfg.PartnerOrg != "" {
		h.Set("x-auth-org", s.cfg.PartnerOrg)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	ws, resp, err := s.cfg.Dialer.DialContext(ctx, u.String(), h)
	if err == nil {
		return ws, nil
	}
	if resp != nil && resp.StatusCode >= 300 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		_ = resp.Body.Close()
		return nil, &HandshakeError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	return nil, &DisconnectError{Cause: CauseDial, Err: err}
}

// connect dials, runs the STOMP CONNECT, starts liveness and subscribes.
func (s *Subscriber) connect(ctx context.Context) (*session, error) {
	ws, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	c := &session{ws: NewWSConn(ws, s.cfg.ReadLimit, s.cfg.ConnectTimeout)}
	stop := context.AfterFunc(ctx, func() { _ = c.ws.Abort() })
	defer stop()
	if err := s.stompConnect(ctx, c); err != nil {
		_ = c.ws.Abort()
		if ctx.Err() != nil {
			return nil, &DisconnectError{Cause: CauseShutdown, Err: ctx.Err()}
		}
		return nil, err
	}
	s.startLiveness(c)
	sub, err := c.st.Subscribe("/topic/change/"+s.cfg.Org, stomp.AckAuto)
	if err != nil {
		_ = c.ws.Abort()
		return nil, &DisconnectError{Cause: CauseConnect, Err: fmt.Errorf("subscribe: %w", err)}
	}
	c.sub = sub
	return c, nil
}

func (s *Subscriber) stompConnect(ctx context.Context, c *session) error {
	var sx, sy time.Duration
	hb := s.cfg.Heartbeat
	u, _ := url.Parse(s.cfg.WSURL)
	cctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	st, err := stomp.ConnectWithContext(cctx, c.ws,
		stomp.ConnOpt.Host(u.Hostname()),
		stomp.ConnOpt.AcceptVersion(stomp.V12),
		stomp.ConnOpt.HeartBeat(hb, hb),
		// go-stomp's own read timer ignores a 0 in the negotiation; push it out of the
		// way (WSConn enforces the negotiated window) and let it send no earlier than
		// the server asks (WSConn sends the client's heart-beats).
		stomp.ConnOpt.HeartBeatError(24*time.Hour),
		stomp.ConnOpt.DisconnectReceiptTimeout(2*time.Second),
		stomp.ConnOpt.UnsubscribeReceiptTimeout(2*time.Second),
		stomp.ConnOpt.ReadChannelCapacity(1), // frames read ahead of the subscription: each up to ReadLimit
		stomp.ConnOpt.ResponseHeaders(func(h *frame.Header) {
			if v, ok := h.Contains(frame.HeartBeat); ok {
				sx, sy, _ = frame.ParseHeartBeat(v)
			}
		}),
		stomp.ConnOpt.Logger(stompLogger{log: s.log, stompErr: &c.stompErr}),
	)
	if err != nil {
		var se stomp.Error
		var sp *stomp.Error
		if errors.As(err, &se) && se.Frame != nil || errors.As(err, &sp) && sp.Frame != nil {
			return &DisconnectError{Cause: CauseStompErr, Err: fmt.Errorf("CONNECT answered with ERROR: %w", err)}
		}
		return &DisconnectError{Cause: CauseConnect, Err: err}
	}
	c.st = st
	c.send, c.recv = Negotiate(hb, hb, sx, sy)
	return nil
}

// startLiveness arms the read deadline and the client's heart-beats from the negotiated
// intervals. Without server heart-beats, WebSocket pongs keep the connection alive.
func (s *Subscriber) startLiveness(c *session) {
	ping := s.cfg.PingInterval
	if c.recv > 0 {
		c.window = 2*c.recv + s.cfg.LivenessGrace
	} else {
		c.window = 2*ping + s.cfg.LivenessGrace
	}
	c.ws.SetLiveness(c.window, c.recv == 0)
	c.ws.KeepAlive(c.send, ping)
}

// stompLogger routes go-stomp's logging to slog and notices a server ERROR frame (which
// go-stomp reports only through its logger before closing the connection).
type stompLogger struct {
	log      *slog.Logger
	stompErr *atomic.Bool
}

func (l stompLogger) Debugf(f string, v ...any) { l.log.Debug("stomp: " + fmt.Sprintf(f, v...)) }
func (l stompLogger) Infof(f string, v ...any)  { l.log.Debug("stomp: " + fmt.Sprintf(f, v...)) }
func (l stompLogger) Warningf(f string, v ...any) {
	l.log.Debug("stomp: " + fmt.Sprintf(f, v...))
}
func (l stompLogger) Errorf(f string, v ...any) { l.Error(fmt.Sprintf(f, v...)) }
func (l stompLogger) Debug(m string)            { l.log.Debug("stomp: " + m) }
func (l stompLogger) Info(m string)             { l.log.Debug("stomp: " + m) }
func (l stompLogger) Warning(m string)          { l.log.Debug("stomp: " + m) }
func (l stompLogger) Error(m string) {
	if strings.Contains(m, "received ERROR") {
		l.stompErr.Store(true)
	}
	l.log.Debug("stomp: " + m)
}
