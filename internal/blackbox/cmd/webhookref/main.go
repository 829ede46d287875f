// Command webhookref is the black-box benchmark's reference webhook receiver: the least a
// receiver that answers 200 only for a stored event can do. For each POST it reads the
// body (at most 512 KiB, the bridge's WEBHOOK_MAX_BYTES), compares
// x-rhombus-signature-sha1 in constant time with the hex HMAC-SHA1 of the raw body (the
// org-webhook signature the bridge verifies), checks json.Valid, publishes the body with
// one synchronous JetStream PublishMsg and a Nats-Msg-Id (the body's sha256), and answers
// 200 after the PubAck. No mapping, no limits beyond the body's, no batching. It prints
// "addr URL" once listening and runs until stdin closes.
//
//	webhookref NATS_URL SUBJECT SECRET
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Rhombus signs org webhooks with HMAC-SHA1
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const maxBody = 512 << 10

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "webhookref:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 3 {
		return errors.New("usage: webhookref NATS_URL SUBJECT SECRET")
	}
	nc, err := nats.Connect(args[0])
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: receiver{js: js, subject: args[1], secret: []byte(args[2])},
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 20 * time.Second,
		IdleTimeout: time.Minute}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); _ = srv.Close() }()
	fmt.Printf("addr http://%s/webhooks/rhombus\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type receiver struct {
	js      jetstream.JetStream
	subject string
	secret  []byte
}

func (rc receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "only POST", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	sig, err := hex.DecodeString(r.Header.Get("X-Rhombus-Signature-Sha1"))
	m := hmac.New(sha1.New, rc.secret)
	m.Write(body)
	if err != nil || !hmac.Equal(m.Sum(nil), sig) {
		http.Error(w, "bad or missing signature", http.StatusUnauthorized)
		return
	}
	if !json.Valid(body) {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	id := sha256.Sum256(body)
	msg := &nats.Msg{Subject: rc.subject, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, hex.EncodeToString(id[:]))
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if _, err := rc.js.PublishMsg(ctx, msg); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}
