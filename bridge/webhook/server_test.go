package webhook_test

import (
	"bufio"
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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// serve runs srv on a loopback listener and returns its base URL and Run's result.
func serve(t *testing.T, ctx context.Context, srv *webhook.Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	return ln.Addr().String(), done
}

// After ctx ends: a request in progress finishes with 200, new requests get 503 with
// Retry-After, and Serve returns nil.
func TestServerDrain(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.AckTimeout = 20 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := serve(t, ctx, &webhook.Server{Handler: e.h, DrainTimeout: 30 * time.Second, Logger: quiet()})
	url := "http://" + addr + webhook.DefaultPath
	e.nats.Stop() // holds the next webhook in progress
	held := make(chan int, 1)
	body := alertBody("ALERT-DRAIN")
	go func() {
		resp, _ := post(t, url, body, signed1(body))
		held <- resp.StatusCode
	}()
	waitFor(t, func() bool { return e.h.InFlight() == 1 })
	cancel()
	var resp *http.Response
	waitFor(t, func() bool { // unsigned: 401 until the drain starts, then 503
		resp, _ = post(t, url, []byte("{}"), nil)
		return resp.StatusCode == 503
	})
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v with a request in progress", err)
	default:
	}
	e.nats.Restart()
	if code := <-held; code != 200 {
		t.Fatalf("request in progress during the drain: %d", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the drain")
	}
	if n := len(messages(t, e.nats.URL())); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

// pki is a CA with a server certificate for 127.0.0.1 and client certificates, as files.
type pki struct {
	dir        string
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey
	caFile     string
	certFile   string
	keyFile    string
	serverPool *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.caKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, _ = x509.ParseCertificate(der)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.serverPool = x509.NewCertPool()
	p.serverPool.AddCert(p.ca)
	cert := p.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.certFile = p.write(t, "server.pem", "CERTIFICATE", cert.Certificate[0])
	kder, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	p.keyFile = p.write(t, "server.key", "PRIVATE KEY", kder)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue signs a certificate with the CA for cn.
func (p *pki) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (p *pki) client(certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.serverPool, Certificates: certs}}}
}

func TestTLSClientCertificates(t *testing.T) {
	e := newEnv(t, nil)
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, _ := serve(t, ctx, &webhook.Server{Handler: e.h, TLSCert: p.certFile, TLSKey: p.keyFile,
		ClientCA: p.caFile, Logger: quiet()}) // ClientCN default: webhook-client.rhombus.com
	url := "https://" + addr + webhook.DefaultPath
	rhombus := p.issue(t, webhook.DefaultClientCN, x509.ExtKeyUsageClientAuth)
	other := p.issue(t, "someone-else.example.com", x509.ExtKeyUsageClientAuth)
	body := alertBody("ALERT-TLS")
	send := func(c *http.Client) (int, error) {
		req, _ := http.NewRequest("POST", url, bytesReader(body))
		req.Header.Set(webhook.HeaderSHA1, sign1(secret1, body))
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := send(p.client(rhombus)); err != nil || code != 200 {
		t.Fatalf("Rhombus client certificate: %d %v", code, err)
	}
	if code, err := send(p.client(other)); err == nil {
		t.Fatalf("client certificate with another CN: %d", code)
	}
	if code, err := send(p.client()); err == nil {
		t.Fatalf("no client certificate: %d", code)
	}
	self := newPKI(t) // a certificate with the right CN from another CA
	if code, err := send(p.client(self.issue(t, webhook.DefaultClientCN, x509.ExtKeyUsageClientAuth))); err == nil {
		t.Fatalf("client certificate from an unknown CA: %d", code)
	}
	if n := len(messages(t, e.nats.URL())); n != 1 {
		t.Fatalf("%d messages", n)
	}
}

func TestTLSWithoutClientCA(t *testing.T) {
	e := newEnv(t, nil)
	p := newPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, _ := serve(t, ctx, &webhook.Server{Handler: e.h, TLSCert: p.certFile, TLSKey: p.keyFile, Logger: quiet()})
	body := alertBody("ALERT-TLS2")
	req, _ := http.NewRequest("POST", "https://"+addr+webhook.DefaultPath, bytesReader(body))
	req.Header.Set(webhook.HeaderSHA1, sign1(secret1, body))
	resp, err := p.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	// A bad key pair or CA file fails Serve at once, clearly.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	err = (&webhook.Server{Handler: e.h, TLSCert: p.caFile, TLSKey: p.keyFile}).Serve(ctx, ln)
	if err == nil {
		t.Fatal("mismatched key pair accepted")
	}
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	err = (&webhook.Server{Handler: e.h, ClientCA: p.caFile}).Serve(ctx, ln)
	if err == nil {
		t.Fatal("client CA without TLS accepted")
	}
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t, nil)
	org := func() string { return "O" }
	bad := []webhook.Config{
		{OrgUUID: org},
		{Secrets: []string{" "}, OrgUUID: org},
		{Secrets: []string{"s"}},
		{Secrets: []string{"s"}, OrgUUID: org, Path: "x"},
		{Secrets: []string{"s"}, OrgUUID: org, Concurrency: -1},
		{Secrets: []string{"s"}, OrgUUID: org, MaxConns: -1},
		{Secrets: []string{"s"}, OrgUUID: org, MaxBytes: 64 << 10, BodyBudget: 100 << 10},
		// Above half the broker's maximum payload (1 MiB by default; 8 MiB here).
		{Secrets: []string{"s"}, OrgUUID: org, MaxBytes: 524289},
		{Secrets: []string{"s"}, OrgUUID: org, MaxBytes: 4<<20 + 1, MaxEventBytes: 8 << 20},
	}
	for i, c := range bad {
		if _, err := webhook.New(c, e.sink); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	for _, c := range []webhook.Config{
		{Secrets: []string{"s"}, OrgUUID: org, MaxBytes: 524288},
		{Secrets: []string{"s"}, OrgUUID: org, MaxBytes: 4 << 20, MaxEventBytes: 8 << 20},
	} {
		if _, err := webhook.New(c, e.sink); err != nil {
			t.Errorf("MaxBytes %d of MaxEventBytes %d refused: %v", c.MaxBytes, c.MaxEventBytes, err)
		}
	}
	_, err := webhook.New(webhook.Config{Secrets: []string{"s"}, OrgUUID: org, MaxBytes: 1 << 20}, e.sink)
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_MAX_BYTES") {
		t.Errorf("MaxBytes 1 MiB: %v", err)
	}
	if _, err := webhook.New(webhook.Config{Secrets: []string{"s"}, OrgUUID: org}, nil); err == nil {
		t.Error("nil publisher accepted")
	}
}

// A sender that stops mid-body is cut off after ReadTimeout with 408, and the slot it
// held is free again.
func TestSlowSender(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.ReadTimeout = 300 * time.Millisecond; c.Concurrency = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, _ := serve(t, ctx, &webhook.Server{Handler: e.h, Logger: quiet()})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A well-formed signature header: the body is read (and the sender found slow) before
	// the signature can be checked.
	_, _ = conn.Write([]byte("POST " + webhook.DefaultPath + " HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n" +
		webhook.HeaderSHA1 + ": " + sign1(secret1, nil) + "\r\n\r\n{\"alert"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow sender: %d", resp.StatusCode)
	}
	waitFor(t, func() bool { return e.h.InFlight() == 0 })
	body := alertBody("ALERT-AFTER-SLOW")
	if resp, msg := post(t, "http://"+addr+webhook.DefaultPath, body, signed1(body)); resp.StatusCode != 200 {
		t.Fatalf("after the slow sender: %d %s", resp.StatusCode, msg)
	}
}
