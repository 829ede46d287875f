package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// The admin API drives the simulator from another process. Every endpoint answers JSON;
// request bodies are JSON (all fields optional unless said).
//
//	GET  /_sim/stats                   Stats
//	GET  /_sim/alerts                  []Alert, creation order
//	GET  /_sim/calls                   []Call
//	GET  /_sim/subscribes              []time.Time of accepted SUBSCRIBEs
//	GET  /_sim/handshakes              []time.Time of WebSocket handshake requests
//	GET  /_sim/connects                []time.Time of STOMP CONNECT frames
//	GET  /_sim/subscriptions           {"subscriptions":[]Subscription,"longestOverlapMs"}
//	POST /_sim/alerts                  Alert (zero fields filled) → the created Alert
//	POST /_sim/emit                    raw payload → {"reached": n}
//	POST /_sim/generator               GenConfig → starts in the background
//	POST /_sim/generator/stop          stops every background generator
//	POST /_sim/faults/drop             abrupt TCP close of every connection
//	POST /_sim/faults/reset            TCP reset (RST) of every connection
//	POST /_sim/faults/close            WebSocket close frame on every connection
//	POST /_sim/faults/error            {"message"} STOMP ERROR then close
//	POST /_sim/faults/silent           {"on","pongs"} half-open connections (pongs: still answer pings)
//	POST /_sim/faults/refuse           {"status","n"} refuse handshakes
//	POST /_sim/faults/rest429          {"n","retryAfterMs"}
//	POST /_sim/faults/rest5xx          {"n","status"}
//	POST /_sim/faults/refuse-connect   {"n","message","body"} STOMP ERROR answering CONNECT
//	POST /_sim/faults/refuse-subscribe {"n","message","body"} STOMP ERROR answering SUBSCRIBE
//	POST /_sim/faults/tolerate-silence {"on"} keep clients that stop sending heart-beats
//	POST /_sim/faults/ignore-disconnect {"on"} leave DISCONNECT unanswered
//	POST /_sim/faults/clear            all faults off
//	POST /_sim/paging                  {"pageCap","newestFirst"} getPolicyAlertsV2 paging
//	POST /_sim/framing                 {"mode":"packed,split,eol"}
//	POST /_sim/webhooks/delivery       {"on"} deliver created alerts to the registered webhook
//	POST /_sim/webhooks/send           {"url","alertUuid","secret","kind":"sha1"|"sha256"}
func (s *Server) adminRoutes() {
	get := func(path string, f func() any) {
		s.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, f()) })
	}
	get("/_sim/stats", func() any { return s.Stats() })
	get("/_sim/alerts", func() any { return s.Alerts() })
	get("/_sim/calls", func() any { return s.Calls() })
	get("/_sim/subscribes", func() any { return s.SubscribeTimes() })
	get("/_sim/handshakes", func() any { return s.HandshakeTimes() })
	get("/_sim/connects", func() any { return s.ConnectTimes() })
	get("/_sim/subscriptions", func() any {
		return map[string]any{"subscriptions": s.Subscriptions(), "longestOverlapMs": s.LongestOverlap().Milliseconds()}
	})
	post := func(path string, f func(body []byte) (any, error)) {
		s.mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err == nil {
				var v any
				if v, err = f(body); err == nil {
					writeJSON(w, 200, v)
					return
				}
			}
			writeJSON(w, 400, map[string]string{"error": err.Error()})
		})
	}
	post("/_sim/alerts", s.adminCreateAlert)
	post("/_sim/emit", func(b []byte) (any, error) { return map[string]int{"reached": s.Emit(b)}, nil })
	post("/_sim/generator", s.adminStartGenerator)
	post("/_sim/generator/stop", func([]byte) (any, error) { return map[string]int{"stopped": s.StopGenerators()}, nil })
	s.adminFaultRoutes(post)
	s.adminSwitchRoutes(post)
	s.adminRefusalRoutes(post)
	s.adminModeRoutes(post)
	post("/_sim/webhooks/delivery", func(b []byte) (any, error) {
		var in struct {
			On bool `json:"on"`
		}
		err := decodeOptional(b, &in)
		s.SetWebhookDelivery(in.On)
		return in, err
	})
	post("/_sim/webhooks/send", s.adminSendWebhook)
}

func (s *Server) adminFaultRoutes(post func(string, func([]byte) (any, error))) {
	count := func(n int) (any, error) { return map[string]int{"connections": n}, nil }
	post("/_sim/faults/drop", func([]byte) (any, error) { return count(s.DropConnections()) })
	post("/_sim/faults/reset", func([]byte) (any, error) { return count(s.ResetConnections()) })
	post("/_sim/faults/close", func([]byte) (any, error) { return count(s.CloseFrame()) })
	post("/_sim/faults/error", func(b []byte) (any, error) {
		in := struct{ Message string }{Message: "simulated server error"}
		if err := decodeOptional(b, &in); err != nil {
			return nil, err
		}
		return count(s.SendError(in.Message))
	})
	post("/_sim/faults/silent", func(b []byte) (any, error) {
		in := struct {
			On    bool `json:"on"`
			Pongs bool `json:"pongs"`
		}{On: true}
		if err := decodeOptional(b, &in); err != nil {
			return nil, err
		}
		s.SetSilentPongs(in.Pongs)
		return count(s.GoSilent(in.On))
	})
}

// adminSwitchRoutes are the switches that are not about open connections.
func (s *Server) adminSwitchRoutes(post func(string, func([]byte) (any, error))) {
	post("/_sim/faults/refuse", func(b []byte) (any, error) {
		in := struct {
			Status int `json:"status"`
			N      int `json:"n"`
		}{Status: 503, N: -1}
		err := decodeOptional(b, &in)
		if err == nil {
			s.RefuseHandshakes(in.Status, in.N)
		}
		return in, err
	})
	post("/_sim/faults/rest429", func(b []byte) (any, error) {
		in := struct {
			N            int `json:"n"`
			RetryAfterMs int `json:"retryAfterMs"`
		}{N: 1, RetryAfterMs: 1000}
		err := decodeOptional(b, &in)
		if err == nil {
			s.REST429(in.N, time.Duration(in.RetryAfterMs)*time.Millisecond)
		}
		return in, err
	})
	post("/_sim/faults/rest5xx", func(b []byte) (any, error) {
		in := struct {
			N      int `json:"n"`
			Status int `json:"status"`
		}{N: 1, Status: 503}
		err := decodeOptional(b, &in)
		if err == nil {
			s.REST5xxStatus(in.N, in.Status)
		}
		return in, err
	})
	post("/_sim/faults/clear", func([]byte) (any, error) { s.ClearFaults(); return map[string]bool{"cleared": true}, nil })
}

// adminModeRoutes change how the simulator pages and frames.
func (s *Server) adminModeRoutes(post func(string, func([]byte) (any, error))) {
	post("/_sim/paging", func(b []byte) (any, error) {
		var in struct {
			PageCap     int  `json:"pageCap"`
			NewestFirst bool `json:"newestFirst"`
		}
		err := decodeOptional(b, &in)
		if err == nil {
			s.SetRESTPaging(in.PageCap, in.NewestFirst)
		}
		return in, err
	})
	post("/_sim/framing", func(b []byte) (any, error) {
		var in struct{ Mode string }
		if err := decodeOptional(b, &in); err != nil {
			return nil, err
		}
		f, err := ParseFraming(in.Mode)
		if err == nil {
			s.SetFraming(f)
		}
		return map[string]string{"mode": f.String()}, err
	})
}

func (s *Server) adminCreateAlert(b []byte) (any, error) {
	var a Alert
	if err := decodeOptional(b, &a); err != nil {
		return nil, err
	}
	return s.CreateAlert(a), nil
}

func (s *Server) adminStartGenerator(b []byte) (any, error) {
	var cfg GenConfig
	if err := decodeOptional(b, &cfg); err != nil {
		return nil, err
	}
	if err := s.StartGenerator(cfg); err != nil {
		return nil, err
	}
	return map[string]any{"started": true, "config": cfg}, nil
}

// StartGenerator runs RunGenerator in the background until it ends, StopGenerators or Close.
func (s *Server) StartGenerator(cfg GenConfig) error {
	ctx, cancel := context.WithCancel(s.ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return errors.New("sim: server closed")
	}
	s.genStops = append(s.genStops, cancel)
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer cancel()
		res, err := s.RunGenerator(ctx, cfg)
		s.log.Info("generator ended", "events", res.Events, "alerts", res.Alerts, "emitted", res.Emitted, "err", err)
	}()
	return nil
}

// StopGenerators stops every background generator; it returns how many were started.
func (s *Server) StopGenerators() int {
	s.mu.Lock()
	stops := s.genStops
	s.genStops = nil
	s.mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	return len(stops)
}

func (s *Server) adminSendWebhook(b []byte) (any, error) {
	var in struct{ URL, AlertUUID, Secret, Kind string }
	if err := decodeOptional(b, &in); err != nil {
		return nil, err
	}
	a, ok := s.Alert(in.AlertUUID)
	if !ok {
		return nil, errors.New("unknown alertUuid")
	}
	if in.URL == "" {
		w := s.Webhook()
		in.URL, in.Secret = w.URL, firstNonEmpty(in.Secret, w.Secret)
	}
	sig := Signature{Kind: SigSHA1, Secret: in.Secret}
	if in.Kind == "sha256" {
		sig.Kind = SigSHA256
	}
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	return SendWebhook(ctx, in.URL, a.WebhookBody(), sig)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// decodeOptional decodes a JSON body into v; an empty body leaves v as it is.
func decodeOptional(b []byte, v any) error {
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
