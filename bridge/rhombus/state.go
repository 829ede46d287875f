package rhombus

import (
	"errors"
	"time"
)

// subscribed records, counts and logs a subscription the server accepted.
func (s *Subscriber) subscribed(info SubscribeInfo) {
	again := info.PrevCause != nil
	s.mu.Lock()
	s.st.Subscribed = true
	s.st.SubscribedAt = info.ConnectedAt
	if again {
		s.st.Reconnects++
	}
	s.mu.Unlock()
	s.m.subscribed.Set(1)
	if again {
		s.m.reconnects.Inc()
	}
	s.log.Info("subscribed", "topic", "/topic/change/"+s.cfg.Org, "attempt", info.Attempt,
		"heartbeat", info.Heartbeat.String(), "liveness", info.Liveness.String())
}

func (s *Subscriber) setSubscribed(on bool) {
	s.mu.Lock()
	s.st.Subscribed = on
	s.mu.Unlock()
	if on {
		s.m.subscribed.Set(1)
	} else {
		s.m.subscribed.Set(0)
	}
}

// ended records, counts and logs (once) why a connection ended or failed, and when the
// next attempt comes (retryIn from now).
func (s *Subscriber) ended(err error, lastAlive time.Time, retryIn time.Duration) {
	cause := CauseOf(err)
	s.mu.Lock()
	wasUp := s.st.Subscribed
	s.st.Subscribed = false
	s.st.LastCause, s.st.LastError, s.st.LastDisconnect = string(cause), err.Error(), time.Now()
	s.mu.Unlock()
	s.m.subscribed.Set(0)
	s.m.disconnects.WithLabelValues(string(cause)).Inc()
	retry := retryIn.Round(time.Millisecond).String()
	var he *HandshakeError
	if errors.As(err, &he) {
		s.m.handshake.WithLabelValues(he.StatusLabel()).Inc()
		s.log.Error("rhombus refused the websocket handshake; retrying with backoff",
			"cause", string(cause), "status", he.Status, "body", he.Body, "retry_in", retry)
		return
	}
	var se *StompError
	if errors.As(err, &se) {
		attrs := []any{"cause", string(cause), "message", se.Message, "body", se.Body, "retry_in", retry}
		if se.During != "" {
			s.log.Error("rhombus answered "+se.During+" with a STOMP ERROR frame; retrying with backoff", attrs...)
		} else {
			s.log.Warn("rhombus sent a STOMP ERROR frame; subscription lost; resubscribing", attrs...)
		}
		return
	}
	attrs := []any{"cause", string(cause), "error", err.Error(), "retry_in", retry}
	if !lastAlive.IsZero() {
		attrs = append(attrs, "silent_for", time.Since(lastAlive).Round(time.Millisecond).String())
	}
	if wasUp {
		s.log.Warn("subscription lost; resubscribing", attrs...)
	} else {
		s.log.Warn("connection attempt failed; retrying with backoff", attrs...)
	}
}
