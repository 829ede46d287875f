package lease

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/saslauthenticate"
	"github.com/segmentio/kafka-go/protocol/saslhandshake"
	"github.com/segmentio/kafka-go/sasl"
)

// authenticate runs the SASL exchange of the configured mechanism (none: nothing to do) on
// a fresh connection to the broker host:port, as kafka-go's transport does on its own
// connections: SaslHandshake v1, then SaslAuthenticate requests until the mechanism is
// done. The heartbeat connection needs it because it bypasses the transport.
func (k *Kafka) authenticate(ctx context.Context, c net.Conn, host string, port int) error {
	m := k.cfg.SASL
	if m == nil {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	k.corr++
	msg, err := protocol.RoundTrip(c, 1, k.corr, kafkaClientID, &saslhandshake.Request{Mechanism: m.Name()})
	if err != nil {
		return fmt.Errorf("sasl handshake: %w", err)
	}
	if code := msg.(*saslhandshake.Response).ErrorCode; code != 0 {
		return fmt.Errorf("sasl handshake (%s): %w", m.Name(), kafka.Error(code))
	}
	sess, state, err := m.Start(sasl.WithMetadata(ctx, &sasl.Metadata{Host: host, Port: port}))
	if err != nil {
		return fmt.Errorf("sasl %s: %w", m.Name(), err)
	}
	for done := false; !done; {
		challenge, err := k.saslStep(c, state)
		if err != nil {
			return fmt.Errorf("sasl %s: %w", m.Name(), err)
		}
		if done, state, err = sess.Next(ctx, challenge); err != nil {
			return fmt.Errorf("sasl %s: %w", m.Name(), err)
		}
	}
	return nil
}

// saslStep sends one SaslAuthenticate v0 request and returns the broker's challenge.
func (k *Kafka) saslStep(c net.Conn, state []byte) ([]byte, error) {
	k.corr++
	msg, err := protocol.RoundTrip(c, 0, k.corr, kafkaClientID, &saslauthenticate.Request{AuthBytes: state})
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w (connection closed by the broker)", kafka.SASLAuthenticationFailed)
	}
	if err != nil {
		return nil, err
	}
	res := msg.(*saslauthenticate.Response)
	if res.ErrorCode != 0 {
		return nil, fmt.Errorf("%w: %s", kafka.Error(res.ErrorCode), res.ErrorMessage)
	}
	return res.AuthBytes, nil
}
