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
	"time"

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

	// Reconnect policy: after a subscription the server accepted, reconnect at once, at
	// most ReconnectBudget times a minute (beyond it, wait with jitter). Failures to
	// connect or subscribe back off with full jitter from BackoffBase to BackoffMax; a
	// refusal (handshake answered with an HTTP error, STOMP ERROR before the subscription
	// was accepted) backs off from RefusedBackoff (never sooner), doubling to BackoffMax.
	BackoffBase     time.Duration // default 100 ms
	BackoffMax      time.Duration // default 30 s
	RefusedBackoff  time.Duration // default 1 s
	ReconnectBudget int           // default 20 a minute

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
	def(&c.RefusedBackoff, time.Second)
	if c.ReconnectBudget <= 0 {
		c.ReconnectBudget = 20
	}
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

// dial opens the WebSocket, and returns the socket under it when it may hook its reads
// (see hookedDialer); a refused handshake is a *HandshakeError.
func (s *Subscriber) dial(ctx context.Context) (*websocket.Conn, *hookConn, error) {
	u, err := url.Parse(s.cfg.WSURL)
	if err != nil {
		return nil, nil, &DisconnectError{Cause: CauseDial, Err: err}
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
	var hc *hookConn
	ws, resp, err := hookedDialer(s.cfg.Dialer, &hc).DialContext(ctx, u.String(), h)
	if err == nil {
		return ws, hc, nil
	}
	if resp != nil && resp.StatusCode >= 300 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		_ = resp.Body.Close()
		return nil, nil, &HandshakeError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	return nil, nil, &DisconnectError{Cause: CauseDial, Err: err}
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
