package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverCert issues a certificate for 127.0.0.1 signed by ca.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsCluster is a 3-broker kfake cluster (topic seeded) serving only TLS, with a
// certificate for 127.0.0.1 issued by ca.
func tlsCluster(t *testing.T, ca *testCA) *cluster {
	t.Helper()
	return newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.serverCert(t)}, MinVersion: tls.VersionTLS12}))
}

// KAFKA_TLS with KAFKA_CA_FILE naming the CA that issued the brokers' certificate:
// publishing works and the record is stored (read back over TLS).
func TestTLSWithCAFile(t *testing.T) {
	ca := newTestCA(t, "bridge test CA")
	c := tlsCluster(t, ca)
	cfg := func(cfg *kafka.Config) { cfg.TLS, cfg.CAFile = true, ca.file(t) }
	s := newSink(t, c, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	evs := sinktest.Events(t, 12, 4)
	for _, ev := range evs {
		if err := s.Publish(ctx, ev); err != nil {
			t.Fatalf("publish over TLS: %v", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping over TLS: %v", err)
	}
	// Read back over a separate TLS client: each record stored once.
	if got := storedOverTLS(ctx, t, c, cfg); got != int64(len(evs)) {
		t.Fatalf("%d records on the TLS brokers, want %d", got, len(evs))
	}
}

// storedOverTLS counts the records of the topic through a TLS client configured like
// the sink.
func storedOverTLS(ctx context.Context, t *testing.T, c *cluster, mod func(*kafka.Config)) int64 {
	t.Helper()
	cfg := kafka.Config{Brokers: c.ListenAddrs(), Topic: topic}
	mod(&cfg)
	tr, err := cfg.Transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(c.ListenAddrs()...), Transport: tr, Timeout: 5 * time.Second}
	var n int64
	seen := make(map[string]bool)
	for p := range 6 {
		recs, err := readPartition(ctx, client, p)
		if err != nil {
			t.Fatalf("read back over TLS: %v", err)
		}
		for _, r := range recs {
			if seen[r.ID] {
				t.Errorf("id %s stored twice", r.ID)
			}
			seen[r.ID] = true
		}
		n += int64(len(recs))
	}
	return n
}

// The brokers' certificate was issued by another CA than the one in KAFKA_CA_FILE (or
// there is no CA file and the system roots do not know it): publishing fails within
// its context with an error that names the certificate problem, and Ping says so too.
func TestTLSWrongCAFailsClearly(t *testing.T) {
	c := tlsCluster(t, newTestCA(t, "the brokers' CA"))
	other := newTestCA(t, "some other CA")
	for name, mod := range map[string]func(*kafka.Config){
		"other CA file": func(cfg *kafka.Config) { cfg.TLS, cfg.CAFile = true, other.file(t) },
		"system roots":  func(cfg *kafka.Config) { cfg.TLS = true },
	} {
		t.Run(name, func(t *testing.T) {
			s := newSink(t, c, mod)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			start := time.Now()
			err := s.Publish(ctx, sinktest.Events(t, 1, 1)[0])
			if err == nil {
				t.Fatal("publish succeeded against a broker whose certificate the CA does not sign")
			}
			if el := time.Since(start); el > 4*time.Second {
				t.Errorf("publish took %v with a 2s context", el)
			}
			t.Logf("publish: %v", err)
			if !tlsProblem(err) {
				t.Errorf("publish error does not name the TLS problem: %v", err)
			}
			pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer pcancel()
			if err := s.Ping(pctx); err == nil || !tlsProblem(err) {
				t.Errorf("ping: want an error naming the TLS problem, got %v", err)
			}
		})
	}
}

func tlsProblem(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "x509") || strings.Contains(msg, "certificate")
}
