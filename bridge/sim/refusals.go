package sim

import "time"

// stompRefusal answers the next n CONNECT (or SUBSCRIBE) frames with a STOMP ERROR frame
// carrying message and body, as RabbitMQ's Web-STOMP does for a denied virtual host or
// an invalid destination; guarded by Server.mu.
type stompRefusal struct {
	n       int // <0: until cleared
	message string
	body    string
}

// RefuseConnect answers the next n STOMP CONNECT frames with an ERROR frame (message
// header msg, body body) and closes the connection (n < 0: until cleared; 0 clears).
func (s *Server) RefuseConnect(n int, msg, body string) {
	s.mu.Lock()
	s.faults.connectErr = stompRefusal{n: n, message: msg, body: body}
	s.mu.Unlock()
	s.log.Info("fault: refuse CONNECT", "n", n, "message", msg)
}

// RefuseSubscribe answers the next n SUBSCRIBE frames (to the org's topic) with an ERROR
// frame (message header msg, body body) and closes the connection (n < 0: until
// cleared; 0 clears).
func (s *Server) RefuseSubscribe(n int, msg, body string) {
	s.mu.Lock()
	s.faults.subscribeErr = stompRefusal{n: n, message: msg, body: body}
	s.mu.Unlock()
	s.log.Info("fault: refuse SUBSCRIBE", "n", n, "message", msg)
}

// takeRefusal consumes one use of the refusal pick selects, if it is on.
func (s *Server) takeRefusal(pick func(*faults) *stompRefusal) (msg, body string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := pick(&s.faults)
	if !takeFault(&r.n) {
		return "", "", false
	}
	return r.message, r.body, true
}

// IgnoreClientSilence(true) stops dropping clients that stay silent past twice their
// negotiated heart-beat (from their next read on), like a server whose heart-beat
// tolerance is longer than the test's pause (RabbitMQ's default is 60 s): a frozen
// client's subscription then stays open until the client itself ends it.
func (s *Server) IgnoreClientSilence(on bool) {
	s.tolerant.Store(on)
	s.log.Info("fault: ignore client silence", "on", on)
}

// IgnoreDisconnect(true) leaves DISCONNECT frames unanswered: no RECEIPT, the
// connection stays open until the client closes it, like a server that no longer
// answers for the session (a client thawed after a long pause meets one). A client that
// waits for the receipt waits for its own timeout.
func (s *Server) IgnoreDisconnect(on bool) {
	s.deaf.Store(on)
	s.log.Info("fault: ignore DISCONNECT", "on", on)
}

// HandshakeTimes returns when each WebSocket handshake request arrived (refused or not;
// the newest 100,000), oldest first.
func (s *Server) HandshakeTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.st.handshakeAt...)
}

// ConnectTimes returns when each STOMP CONNECT frame arrived (the newest 100,000),
// oldest first.
func (s *Server) ConnectTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.st.connectAt...)
}

func (s *Server) recordConnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.connectAt = appendBounded(s.st.connectAt, time.Now())
	s.notifyLocked()
}

// appendBounded appends t, keeping the newest maxSpans entries.
func appendBounded(ts []time.Time, t time.Time) []time.Time {
	ts = append(ts, t)
	if n := len(ts); n > maxSpans {
		ts = append(ts[:0:0], ts[n-maxSpans:]...)
	}
	return ts
}

// adminRefusalRoutes are the STOMP refusal switches and the silence tolerance.
func (s *Server) adminRefusalRoutes(post func(string, func([]byte) (any, error))) {
	refusal := func(set func(n int, msg, body string)) func([]byte) (any, error) {
		return func(b []byte) (any, error) {
			in := struct {
				N       int    `json:"n"`
				Message string `json:"message"`
				Body    string `json:"body"`
			}{N: -1, Message: "refused"}
			err := decodeOptional(b, &in)
			if err == nil {
				set(in.N, in.Message, in.Body)
			}
			return in, err
		}
	}
	post("/_sim/faults/refuse-connect", refusal(s.RefuseConnect))
	post("/_sim/faults/refuse-subscribe", refusal(s.RefuseSubscribe))
	post("/_sim/faults/ignore-disconnect", func(b []byte) (any, error) {
		in := struct {
			On bool `json:"on"`
		}{On: true}
		err := decodeOptional(b, &in)
		if err == nil {
			s.IgnoreDisconnect(in.On)
		}
		return in, err
	})
	post("/_sim/faults/tolerate-silence", func(b []byte) (any, error) {
		in := struct {
			On bool `json:"on"`
		}{On: true}
		err := decodeOptional(b, &in)
		if err == nil {
			s.IgnoreClientSilence(in.On)
		}
		return in, err
	})
}
