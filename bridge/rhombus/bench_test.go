package rhombus

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/gorilla/websocket"
)

// BenchmarkParse measures the parse path: WebSocket messages → WSConn → go-stomp's frame
// reader → MESSAGE bodies, with frames packed 16 to a message or split across messages.
func BenchmarkParse(b *testing.B) {
	body := `{"entity":"POLICY_ALERT","entityUuid":"a1","type":"CREATE","deviceUuid":"d1","timestampMs":1700000000000,` +
		`"policyAlertTriggers":["MOTION_DETECTED"],"durationSec":5,"textDescription":"Motion on Front Door"}`
	var f bytes.Buffer
	_ = frame.NewWriter(&f).Write(frame.New(frame.MESSAGE, "destination", "/topic/change/ORG",
		"subscription", "1", "message-id", "m1", "content-length", fmt.Sprint(len(body))))
	one := append(bytes.TrimSuffix(f.Bytes(), []byte{0}), []byte(body+"\x00")...)
	for _, layout := range []string{"packed16", "split3"} {
		b.Run(layout, func(b *testing.B) {
			n := b.N
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
				if err != nil {
					return
				}
				defer ws.Close()
				writeLayout(ws, layout, one, n)
				_, _, _ = ws.ReadMessage() // until the client closes
			}))
			defer srv.Close()
			ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(srv.URL, "http", "ws", 1), nil)
			if err != nil {
				b.Fatal(err)
			}
			c := NewWSConn(ws, 0, 0)
			defer c.Abort()
			rd := frame.NewReader(c)
			b.SetBytes(int64(len(one)))
			b.ResetTimer()
			for i := 0; i < n; i++ {
				fr, err := rd.Read()
				if err != nil || fr == nil || len(fr.Body) != len(body) {
					b.Fatalf("frame %d: %v", i, err)
				}
			}
		})
	}
}

func writeLayout(ws *websocket.Conn, layout string, one []byte, n int) {
	switch layout {
	case "packed16":
		for sent := 0; sent < n; sent += 16 {
			_ = ws.WriteMessage(websocket.TextMessage, bytes.Repeat(one, min(16, n-sent)))
		}
	default:
		k := len(one) / 3
		for i := 0; i < n; i++ {
			_ = ws.WriteMessage(websocket.TextMessage, one[:k])
			_ = ws.WriteMessage(websocket.TextMessage, one[k:2*k])
			_ = ws.WriteMessage(websocket.TextMessage, one[2*k:])
		}
	}
}
