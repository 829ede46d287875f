package sim

import (
	"net"
	"time"
)

// faults are the switched-on failures; guarded by Server.mu.
type faults struct {
	refuseStatus int // HTTP status for refused handshakes
	refuseN      int // handshakes still to refuse; <0: until cleared
	rest429N     int
	retryAfter   time.Duration
	rest5xxN     int
	rest5xxCode  int
	connectErr   stompRefusal // ERROR frames answering CONNECT
	subscribeErr stompRefusal // ERROR frames answering SUBSCRIBE
}

// stats are the counters behind Stats; guarded by Server.mu.
type stats struct {
	handshakes   int
	refused      int
	unauthorized int
	connsTotal   int
	subscribes   int
	emitted      int64
	suppressed   int64
	dropped      int // connections dropped as slow consumers
	handshakeAt  []time.Time
	connectAt    []time.Time
}

// Stats is a snapshot of the simulator's counters.
type Stats struct {
	Handshakes       int   `json:"handshakes"`       // WebSocket handshake requests, refused or not
	Refused          int   `json:"refused"`          // handshakes refused by RefuseHandshakes
	Unauthorized     int   `json:"unauthorized"`     // handshakes answered 401 for bad credentials
	Connections      int   `json:"connections"`      // open WebSocket connections
	ConnectionsTotal int   `json:"connectionsTotal"` // WebSocket connections ever upgraded
	Subscriptions    int   `json:"subscriptions"`    // active subscriptions to the org topic
	Subscribes       int   `json:"subscribes"`       // SUBSCRIBE frames accepted, ever
	Emitted          int64 `json:"emitted"`          // payloads that reached at least one subscriber queue
	Suppressed       int64 `json:"suppressed"`       // payloads that reached none (no subscriber, silent)
	MessagesSent     int64 `json:"messagesSent"`     // MESSAGE frames written to sockets
	SlowDropped      int   `json:"slowDropped"`      // connections dropped because their queue was full
	Alerts           int   `json:"alerts"`           // alerts in the REST history
	RESTCalls        int   `json:"restCalls"`        // REST calls recorded
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Handshakes:       s.st.handshakes,
		Refused:          s.st.refused,
		Unauthorized:     s.st.unauthorized,
		Connections:      len(s.conns),
		ConnectionsTotal: s.st.connsTotal,
		Subscribes:       s.st.subscribes,
		Emitted:          s.st.emitted,
		Suppressed:       s.st.suppressed,
		MessagesSent:     s.sent.Load(),
		SlowDropped:      s.st.dropped,
		Alerts:           len(s.hist.sorted),
		RESTCalls:        len(s.calls),
	}
	for c := range s.conns {
		st.Subscriptions += c.subCount()
	}
	return st
}

// Emitted is the number of payloads that reached at least one subscriber.
func (s *Server) Emitted() int64 { return s.Stats().Emitted }

// DropConnections closes every open WebSocket's TCP connection abruptly: no close frame,
// no STOMP frame. It returns how many were dropped.
func (s *Server) DropConnections() int {
	conns := s.snapshotConns()
	for _, c := range conns {
		c.abort()
	}
	s.log.Info("fault: connections dropped", "count", len(conns))
	return len(conns)
}

// ResetConnections closes every open WebSocket's TCP connection with a reset (RST, linger
// 0) instead of a FIN. It returns how many were reset.
func (s *Server) ResetConnections() int {
	conns := s.snapshotConns()
	for _, c := range conns {
		if tc, ok := c.ws.UnderlyingConn().(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		c.abort()
	}
	s.log.Info("fault: connections reset", "count", len(conns))
	return len(conns)
}

// CloseFrame sends a WebSocket close frame (1001 going away) on every open connection and
// then closes it. It returns how many were closed.
func (s *Server) CloseFrame() int {
	conns := s.snapshotConns()
	for _, c := range conns {
		c.closeWithFrame()
	}
	s.log.Info("fault: close frames sent", "count", len(conns))
	return len(conns)
}

// SendError sends a STOMP ERROR frame with message msg on every open connection, after
// whatever is already queued, then closes it. It returns how many were sent.
func (s *Server) SendError(msg string) int {
	conns := s.snapshotConns()
	for _, c := range conns {
		c.sendError(msg, "")
	}
	s.log.Info("fault: ERROR frames sent", "count", len(conns), "message", msg)
	return len(conns)
}

// GoSilent(true) turns every open connection half-open: the TCP connection stays up but
// the server sends nothing on it any more, not even heart-beats or pongs, and its messages
// are lost (alerts stay in the REST history). Connections opened later are healthy.
// GoSilent(false) makes the connections still open speak again. It returns how many
// connections were switched.
func (s *Server) GoSilent(on bool) int {
	conns := s.snapshotConns()
	for _, c := range conns {
		c.silent.Store(on)
	}
	s.log.Info("fault: silence", "on", on, "count", len(conns))
	return len(conns)
}

// SetSilentPongs makes silent connections still answer WebSocket pings (on) or not (off,
// the default): a peer whose STOMP stream is dead while its socket still answers pings.
func (s *Server) SetSilentPongs(on bool) { s.silentPongs.Store(on) }

// SetRESTPaging changes getPolicyAlertsV2's server page cap (≤ 0: unchanged) and order.
func (s *Server) SetRESTPaging(pageCap int, newestFirst bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pageCap > 0 {
		s.cfg.RESTPageCap = pageCap
	}
	s.cfg.NewestFirst = newestFirst
}

// RefuseHandshakes answers the next n WebSocket handshakes with HTTP status (n < 0: all of
// them until cleared; n == 0 clears).
func (s *Server) RefuseHandshakes(status, n int) {
	if status < 400 || status > 599 {
		status = 503
	}
	s.mu.Lock()
	s.faults.refuseStatus, s.faults.refuseN = status, n
	s.mu.Unlock()
	s.log.Info("fault: refuse handshakes", "status", status, "n", n)
}

// REST429 answers the next n REST calls with 429 and Retry-After (whole seconds, at least 1;
// n < 0: until cleared).
func (s *Server) REST429(n int, retryAfter time.Duration) {
	s.mu.Lock()
	s.faults.rest429N, s.faults.retryAfter = n, retryAfter
	s.mu.Unlock()
	s.log.Info("fault: rest 429", "n", n, "retry_after", retryAfter)
}

// REST5xx answers the next n REST calls with 503 (n < 0: until cleared).
func (s *Server) REST5xx(n int) { s.REST5xxStatus(n, 503) }

// REST5xxStatus answers the next n REST calls with status (a 5xx; n < 0: until cleared).
func (s *Server) REST5xxStatus(n, status int) {
	if status < 500 || status > 599 {
		status = 503
	}
	s.mu.Lock()
	s.faults.rest5xxN, s.faults.rest5xxCode = n, status
	s.mu.Unlock()
	s.log.Info("fault: rest 5xx", "n", n, "status", status)
}

// ClearFaults turns off refused handshakes, refused CONNECTs and SUBSCRIBEs and REST
// faults, and un-silences connections.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = faults{}
	s.mu.Unlock()
	s.GoSilent(false)
}

// takeFault consumes one use of a counted fault; s.mu must be held.
func takeFault(n *int) bool {
	switch {
	case *n > 0:
		*n--
		return true
	case *n < 0:
		return true
	}
	return false
}

func (s *Server) snapshotConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connList()
}
