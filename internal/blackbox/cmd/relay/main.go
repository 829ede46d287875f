// Command relay is the black-box benchmark's reference: the least a STOMP-to-JetStream
// relay can do. One go-stomp subscription over a gorilla/websocket connection; each
// MESSAGE body is published as it came with PublishMsgAsync and a Nats-Msg-Id (the STOMP
// message-id; a full async window waits, as the bridge does), no parsing. It runs until
// stdin closes.
//
//	relay WS_URL ORG NATS_URL SUBJECT
package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 4 {
		return errors.New("usage: relay WS_URL ORG NATS_URL SUBJECT")
	}
	nc, err := nats.Connect(args[2])
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	sub, ws, err := subscribe(args[0], args[1])
	if err != nil {
		return err
	}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); _ = ws.Close() }()
	fmt.Println("subscribed")
	for m := range sub.C {
		if m.Err != nil {
			return m.Err
		}
		msg := &nats.Msg{Subject: args[3], Data: m.Body, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, m.Header.Get(frame.MessageId))
		if _, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(time.Minute)); err != nil {
			return err
		}
	}
	<-js.PublishAsyncComplete()
	return nil
}

// subscribe opens the WebSocket, runs the STOMP CONNECT and subscribes to org's changes.
func subscribe(wsURL, org string) (*stomp.Subscription, *websocket.Conn, error) {
	h := http.Header{"x-auth-apikey": {"bench-key"}, "x-auth-scheme": {"api-token"}}
	ws, _, err := websocket.DefaultDialer.Dial(wsURL+"?x-auth-scheme=api-token", h)
	if err != nil {
		return nil, nil, err
	}
	st, err := stomp.Connect(&wsConn{ws: ws}, stomp.ConnOpt.HeartBeat(0, 0))
	if err != nil {
		return nil, nil, err
	}
	sub, err := st.Subscribe("/topic/change/"+org, stomp.AckAuto)
	return sub, ws, err
}

// wsConn streams WebSocket messages as one byte stream for go-stomp and sends each write
// as one text message.
type wsConn struct {
	ws *websocket.Conn
	r  io.Reader
}

func (c *wsConn) Read(p []byte) (int, error) {
	for {
		if c.r == nil {
			_, r, err := c.ws.NextReader()
			if err != nil {
				return 0, err
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if errors.Is(err, io.EOF) {
			c.r, err = nil, nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (c *wsConn) Write(p []byte) (int, error) {
	return len(p), c.ws.WriteMessage(websocket.TextMessage, p)
}

func (c *wsConn) Close() error { return c.ws.Close() }
