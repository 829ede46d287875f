package rhombus

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/gorilla/websocket"
)

// Cause names why a connection ended or never came up; it is the label of
// rhombus_bridge_ws_disconnects_total.
type Cause string

// The causes a Subscriber tells apart.
const (
	CauseAbrupt    Cause = "abrupt_close"      // TCP closed or reset without a close frame
	CauseClose     Cause = "close_frame"       // the server sent a WebSocket close frame
	CauseStompErr  Cause = "stomp_error"       // the server sent a STOMP ERROR frame
	CauseHeartbeat Cause = "heartbeat_timeout" // nothing arrived within the liveness window
	CauseRefused   Cause = "handshake_refused" // the WebSocket handshake got an HTTP error status
	CauseDial      Cause = "dial_failed"       // no connection (DNS, TCP, TLS, timeout)
	CauseConnect   Cause = "connect_failed"    // the STOMP CONNECT did not succeed
	CauseTooLarge  Cause = "frame_too_large"   // a message or frame over the read limit
	CauseInvalid   Cause = "frame_invalid"     // a frame that is not STOMP (unknown command, bad header)
	CauseShutdown  Cause = "shutdown"          // we ended it (context done)
)

// knownCauses are every Cause, for the metric's labels.
var knownCauses = []Cause{CauseAbrupt, CauseClose, CauseStompErr, CauseHeartbeat, CauseRefused, CauseDial,
	CauseConnect, CauseTooLarge, CauseInvalid, CauseShutdown}

// DisconnectError is why one connection ended; Err is the underlying error.
type DisconnectError struct {
	Cause Cause
	Err   error
}

func (e *DisconnectError) Error() string {
	if e.Err == nil {
		return string(e.Cause)
	}
	return string(e.Cause) + ": " + e.Err.Error()
}

func (e *DisconnectError) Unwrap() error { return e.Err }

// CauseOf returns the Cause carried by err, CauseAbrupt when it carries none.
func CauseOf(err error) Cause {
	var de *DisconnectError
	if errors.As(err, &de) {
		return de.Cause
	}
	var he *HandshakeError
	if errors.As(err, &he) {
		return CauseRefused
	}
	return CauseAbrupt
}

// HandshakeError is an HTTP error status answered to the WebSocket handshake (a wrong
// API key gives 401). Body is the start of the response body.
type HandshakeError struct {
	Status int
	Body   string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket handshake refused: HTTP %d %q", e.Status, e.Body)
}

// StatusLabel is the status as a metric label.
func (e *HandshakeError) StatusLabel() string { return strconv.Itoa(e.Status) }

// ErrHeartbeatTimeout is wrapped when nothing arrived within the liveness window.
var ErrHeartbeatTimeout = errors.New("no data within the heart-beat window")

// classifyRead maps a WebSocket read error to a DisconnectError.
func classifyRead(err error, livenessOn bool) *DisconnectError {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.Is(err, ErrFrameTooLarge) || errors.Is(err, websocket.ErrReadLimit):
		return &DisconnectError{Cause: CauseTooLarge, Err: err}
	case errors.Is(err, ErrFrameInvalid):
		return &DisconnectError{Cause: CauseInvalid, Err: err}
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		// 1006 is gorilla's name for an EOF without a close frame: abrupt.
		return &DisconnectError{Cause: CauseClose, Err: err}
	case livenessOn && errors.As(err, &ne) && ne.Timeout():
		return &DisconnectError{Cause: CauseHeartbeat, Err: fmt.Errorf("%w: %v", ErrHeartbeatTimeout, err)}
	default:
		return &DisconnectError{Cause: CauseAbrupt, Err: err}
	}
}
