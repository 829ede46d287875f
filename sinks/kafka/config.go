package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the Kafka sink. Zero values take the defaults in brackets.
type Config struct {
	Brokers []string // host:port of one or more brokers (required)
	Topic   string   // [rhombus.events.v1]

	TLS           bool   // connect with TLS
	CAFile        string // PEM CA bundle for TLS; empty: system roots
	SASLMechanism string // "", "plain", "scram-sha-256" or "scram-sha-512"
	Username      string
	Password      string

	CreateTopic bool // create the topic at start if missing
	Partitions  int  // [6] partitions when creating
	Replication int  // [3] replication factor when creating

	BatchTimeout time.Duration // [2ms] how long a batch waits for more records
	BatchSize    int           // [1000] records per batch at most
	BatchBytes   int64         // [1 MiB] bytes per batch (and per record) at most
	WriteTimeout time.Duration // [10s] one produce request
	DialTimeout  time.Duration // [5s]
	MetadataTTL  time.Duration // [2s] how stale the partition leaders may be

	MaxInFlight    int           // [1024] write attempts under way at once
	DedupMaxIDs    int           // [100000] ids remembered
	DedupMaxAge    time.Duration // [10m] how long an id is remembered
	VerifyMaxBytes int64         // [16 MiB] bytes read back to check an ambiguous write
	// Preload bounds: records read and time spent reading the ids already on the topic.
	PreloadMaxRecords int           // [DedupMaxIDs]
	PreloadTimeout    time.Duration // [5s]

	// SendGuard, when set, is asked before every write on the writer's connections; an
	// error breaks the connection (what was not written is not stored; the attempt counts
	// as ambiguous) and Publish returns that error without retrying.
	SendGuard func() error

	Name       string // [kafka] sink name in logs and metrics
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics not registered
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Topic == "" {
		c.Topic = "rhombus.events.v1"
	}
	defInt(&c.Partitions, 6)
	defInt(&c.Replication, 3)
	defInt(&c.BatchSize, 1000)
	defInt(&c.MaxInFlight, 1024)
	defInt(&c.DedupMaxIDs, 100000)
	def(&c.BatchTimeout, 2*time.Millisecond)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.DialTimeout, 5*time.Second)
	def(&c.MetadataTTL, 2*time.Second)
	def(&c.DedupMaxAge, 10*time.Minute)
	defInt(&c.PreloadMaxRecords, c.DedupMaxIDs)
	def(&c.PreloadTimeout, 5*time.Second)
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.VerifyMaxBytes == 0 {
		c.VerifyMaxBytes = 16 << 20
	}
	if c.Name == "" {
		c.Name = "kafka"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers are required (KAFKA_BROKERS)"))
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			errs = append(errs, fmt.Errorf("broker %q: %w", b, err))
		}
	}
	switch strings.ToLower(c.SASLMechanism) {
	case "", "plain", "scram-sha-256", "scram-sha-512":
	default:
		errs = append(errs, fmt.Errorf("SASLMechanism %q: want plain, scram-sha-256 or scram-sha-512", c.SASLMechanism))
	}
	if c.SASLMechanism != "" && c.Username == "" {
		errs = append(errs, errors.New("a username is required with SASL (KAFKA_USERNAME)"))
	}
	if c.BatchSize < 0 || c.BatchBytes < 0 || c.MaxInFlight < 0 || c.DedupMaxIDs < 0 || c.PreloadMaxRecords < 0 || c.Partitions < 0 || c.Replication < 0 {
		errs = append(errs, errors.New("sizes and counts must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kafka: invalid config: %w", err)
	}
	return nil
}

// transport builds the kafka-go transport with TLS and SASL as configured.
func (c *Config) transport() (*kafkago.Transport, error) {
	t := &kafkago.Transport{
		DialTimeout:    c.DialTimeout,
		IdleTimeout:    time.Minute,
		MetadataTTL:    c.MetadataTTL,
		MetadataTopics: []string{c.Topic},
		ClientID:       "rhombus-bridge",
	}
	tc, m, err := c.Security()
	if err != nil {
		return nil, err
	}
	t.TLS = tc
	t.SASL = m
	return t, nil
}

// Transport returns a kafka-go transport with c's TLS, SASL and timeouts (defaults applied),
// for the bridge's other Kafka clients (the state topic). Its metadata requests cover
// c.Topic only, so set Topic to the topic the client uses.
func (c *Config) Transport() (*kafkago.Transport, error) {
	cc := *c
	cc.defaults()
	return cc.transport()
}

// Dialer returns a kafka-go dialer with c's TLS, SASL and dial timeout (defaults applied),
// for clients that dial brokers themselves (readers: the tail command).
func (c *Config) Dialer() (*kafkago.Dialer, error) {
	cc := *c
	cc.defaults()
	tc, m, err := cc.Security()
	if err != nil {
		return nil, err
	}
	return &kafkago.Dialer{Timeout: cc.DialTimeout, DualStack: true, ClientID: "rhombus-bridge",
		TLS: tc, SASLMechanism: m}, nil
}

// Security returns the TLS configuration (nil without KAFKA_TLS) and SASL mechanism (nil
// without one) of c, for the bridge's other Kafka clients (the Kafka lease, which dials
// the group coordinator itself).
func (c *Config) Security() (*tls.Config, sasl.Mechanism, error) {
	var tc *tls.Config
	if c.TLS {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, nil, fmt.Errorf("kafka: CA file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("kafka: CA file %s: no PEM certificates", c.CAFile)
			}
		}
	}
	m, err := c.mechanism()
	return tc, m, err
}

func (c *Config) mechanism() (sasl.Mechanism, error) {
	var algo scram.Algorithm
	switch strings.ToLower(c.SASLMechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: c.Username, Password: c.Password}, nil
	case "scram-sha-256":
		algo = scram.SHA256
	default:
		algo = scram.SHA512
	}
	m, err := scram.Mechanism(algo, c.Username, c.Password)
	if err != nil {
		return nil, fmt.Errorf("kafka: SASL %s: %w", c.SASLMechanism, err)
	}
	return m, nil
}
