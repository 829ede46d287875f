package nogaps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// enrichMix streams many bare nested alerts (no timestampMs: the enricher must ask
// getPolicyAlertDetails), every alert with a camera (the enricher asks for camera names).
var enrichMix = sim.Mix{Flat: 40, Nested: 15, NestedBare: 30, DeviceConfig: 10, Unknown: 5}

// inFlightGrace is how long after a 429 left the server a call may still arrive without
// counting as early: a call the client let go just before it read the 429 (another
// goroutine passed the Retry-After gate, then the answer arrived) is in flight, not
// early. Any call arriving later than this, and before the Retry-After elapsed, was made
// knowing of the 429.
const inFlightGrace = 150 * time.Millisecond

// heldBound is the longest an event taken live from the socket may take to reach the
// stream: the enricher's bounded wait (2 s, bridge/app/rhombus.go) plus slack for a
// loaded, race-instrumented run.
const heldBound = 2*time.Second + 1500*time.Millisecond

// TestEnrichUnder429StormsNoGaps is TestEveryFaultNoGaps's REST round in the default
// configuration, enrichment on: the enricher (getMinimalCameraStateList for device names,
// getPolicyAlertDetails for bare alerts) competes with backfill (getPolicyAlertsV2) while
// the simulator answers 429 + Retry-After, repeatedly, and drops the socket, with 300
// events/s streaming, 30 % of them bare nested alerts (no timestampMs). Rounds:
//
//   - startup: 429s to every call from before the first event, for at least 3 s and until
//     the first camera-name fetch and a details call met one;
//   - drop: the same plus an abrupt close, until backfill met a 429 (it retries under them
//     while the enricher keeps asking);
//   - flap: three 429s plus an abrupt close right after recovering;
//   - enrich only: three 429s, no drop (the details calls take them).
//
// Then, each its own subtest:
//
//   - exactly_once: every policy alert created is in the stream exactly once;
//   - retry_after: no REST call, of any endpoint, arrived before the Retry-After of a 429
//     answered earlier elapsed (arrival times from a recording proxy in front of the
//     simulator, cross-checked with the simulator's own record), and 429s reached every
//     one of the three endpoints (a run now and then finds calls that were queued in the
//     client's rate limiter when the 429 came: TestRetryAfterHoldsCallsQueuedInRateLimiter
//     shows that bug deterministically);
//   - published_not_held: bare alerts REST could not complete in time were published
//     without their details, others completed, and no alert taken live reached the stream
//     later than the enricher's bounded wait (plus slack) after the simulator sent it;
//   - device_names: alerts taken live after the camera names were fetched carry
//     data.deviceName, and completed bare alerts keep the payload received in data.raw.
func TestEnrichUnder429StormsNoGaps(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	s := startSim(t, "ORG-ENRICH-429")
	rec := startRESTRecorder(t, s.URL())
	cfg := baseConfig(t, s, ns.URL(), "enrich-429")
	cfg.Rhombus.Enrich = true
	cfg.Rhombus.APIURL = rec.url
	b := startBridge(t, cfg)
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	waitFor(t, "startup settled", 20*time.Second, func() bool { return b.status(t).settled(-1) })
	begin := time.Now()

	// startup: the first events find no camera names and 429s everywhere.
	s.REST429(-1, retryAfter)
	stopGen := generateMix(t, s, 300, enrichMix)
	storm(t, s, "startup", "/api/camera/getMinimalCameraStateList", "/api/event/getPolicyAlertDetails")

	// drop: backfill and enricher under a 429 storm.
	gaps, subs := b.status(t).Gaps, subscribes(s)
	s.REST429(-1, retryAfter)
	s.DropConnections()
	storm(t, s, "drop", "/api/event/getPolicyAlertsV2")
	waitFor(t, "drop: resubscribed", 30*time.Second, func() bool { return subscribes(s) > subs })
	waitFor(t, "drop: gap closed", 30*time.Second, func() bool { return b.status(t).settled(gaps) })

	// flap: counted 429s and another drop, right after recovering (the reconnect backs off).
	faultRound(t, s, b, faultKind{"flap_429", func(s *sim.Server) { s.REST429(3, retryAfter); s.DropConnections() }})

	// enrich only: the details calls meet the 429s.
	n := len(calls429(s.Calls()))
	s.REST429(3, retryAfter)
	if !eventually(10*time.Second, func() bool { return len(calls429(s.Calls())) >= n+3 }) {
		t.Logf("enrich only: %d of 3 429s taken within 10s", len(calls429(s.Calls()))-n)
	}
	time.Sleep(retryAfter + 200*time.Millisecond)
	stopGen()
	t.Logf("faults injected over %v", time.Since(begin).Round(time.Millisecond))

	alerts := s.Alerts()
	want := alertIDs(alerts)
	c := newCollector(t, ns.URL())
	if !eventually(30*time.Second, func() bool { return c.has(want) }) {
		t.Errorf("not every alert reached the stream within 30s")
	}
	waitFor(t, "no open gap", 30*time.Second, func() bool { return b.status(t).settled(0) })
	c.mustSync(t)
	calls := rec.snapshot()
	simCalls := s.Calls()
	copies := readAlertCopies(t, ns.URL())

	t.Run("exactly_once", func(t *testing.T) {
		r := c.check(want)
		t.Logf("stream: %d messages; alerts: %s; gap records by cause: %v", len(c.msgs), r, c.gapCauses())
		if !r.ok() {
			c.explainMissing(t, s)
			t.Errorf("alerts not exactly once: %s", r)
		}
		if v := gapsBeforeSubscription(c.gaps, s.Subscriptions()); len(v) > 0 {
			t.Errorf("backfill windows that end before the feed was live again: %v", v)
		}
		if len(c.gaps) < 2 {
			t.Errorf("%d gap records for 2 socket drops", len(c.gaps))
		}
	})

	t.Run("retry_after", func(t *testing.T) {
		gone := checkRecorderMatchesSim(t, calls, simCalls)
		by := map[string]int{}
		for _, c := range calls {
			if c.Status == http.StatusTooManyRequests {
				by[c.Path]++
			}
		}
		t.Logf("%d REST calls (%d abandoned by the client before their answer); 429s by endpoint: %v",
			len(calls), gone, by)
		for _, p := range []string{"/api/event/getPolicyAlertsV2", "/api/event/getPolicyAlertDetails",
			"/api/camera/getMinimalCameraStateList"} {
			if by[p] == 0 {
				t.Errorf("no 429 reached %s: the storms did not make it compete", p)
			}
		}
		early, inFlight := earlyCalls(calls, retryAfter, inFlightGrace)
		t.Logf("calls already on their way when a 429 left (tolerated, arrived ≤ %v after it): %d; "+
			"the simulator's end-of-handler stamps alone would flag %d", inFlightGrace, inFlight,
			len(retryAfterViolations(simCalls)))
		// A call the client gives up (its deadline) just as the 429 is on the wire never
		// reads it, so no Retry-After is in force; the client's own count of the 429s it
		// read (rhombus_bridge_rest_requests_total, counted before it holds) bounds how
		// many 429s followed by calls can be such unread ones, per endpoint.
		seen := b.rest429Seen(t)
		unread, followed := map[string]int{}, map[string]int{}
		for p, n := range by {
			unread[p] = n - seen[p]
		}
		for _, e := range early {
			followed[e.c429.Path]++
		}
		for p, n := range followed {
			if n > unread[p] {
				t.Errorf("%d 429s of %s were followed by calls before their Retry-After elapsed, but the client read "+
					"all but %d of that endpoint's %d 429s", n, p, unread[p], by[p])
				logCallsAround(t, calls, firstEarly(early, p).c429)
			} else {
				t.Logf("%d 429s of %s followed by calls within their Retry-After, none more than the client did not "+
					"read (%d of %d): given up before the answer", n, p, unread[p], by[p])
			}
		}
	})

	t.Run("published_not_held", func(t *testing.T) { checkPublishedNotHeld(t, alerts, copies) })

	t.Run("device_names", func(t *testing.T) {
		var named time.Time
		for _, c := range calls {
			if c.Path == "/api/camera/getMinimalCameraStateList" && c.Status == http.StatusOK {
				named = c.Answered.Add(100 * time.Millisecond)
				break
			}
		}
		if named.IsZero() {
			t.Fatal("the camera names were never fetched")
		}
		checkDeviceNames(t, alerts, copies, named)
	})
}

// storm keeps the simulator answering 429 (switched on by the caller) for at least 3 s
// and until each of paths got a 429 since the storm began (at most 15 s), then stops it.
func storm(t testing.TB, s *sim.Server, name string, paths ...string) {
	t.Helper()
	from := len(s.Calls())
	hit := func() bool {
		calls := s.Calls()
		for _, p := range paths {
			found := false
			for _, c := range calls[min(from, len(calls)):] {
				found = found || c.Path == p && c.Status == http.StatusTooManyRequests
			}
			if !found {
				return false
			}
		}
		return true
	}
	start := time.Now()
	ok := eventually(15*time.Second, hit)
	if d := 3*time.Second - time.Since(start); d > 0 {
		time.Sleep(d)
	}
	s.REST429(0, retryAfter)
	if !ok {
		t.Logf("%s storm: not every one of %v got a 429 within 15s", name, paths)
	}
	t.Logf("%s storm: %v", name, time.Since(start).Round(time.Millisecond))
}

// generateMix is generate with a mix of events.
func generateMix(t testing.TB, s *sim.Server, rate float64, mix sim.Mix) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.RunGenerator(ctx, sim.GenConfig{Rate: rate, Mix: mix}); err != nil {
			t.Errorf("generator: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// proxiedCall is one REST call seen by the recorder: when its request arrived and when
// its answer started to leave. Status is clientGone when the client gave the call up
// before the answer (it never saw it).
type proxiedCall struct {
	Path              string
	Arrived, Answered time.Time
	Status            int
}

const clientGone = -1

// restRecorder is a reverse proxy in front of the simulator's REST API that records when
// every request arrived and its answer left. The simulator stamps a call when its handler
// ends, so a call that was on its way when another got its 429 can be stamped after that
// 429; the arrival tells it from a call made after the 429 was known.
type restRecorder struct {
	url   string
	mu    sync.Mutex
	calls []proxiedCall
}

func startRESTRecorder(t testing.TB, target string) *restRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() != nil {
			w.(*stampWriter).c.Status = clientGone
			return
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	r := &restRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &stampWriter{ResponseWriter: w, c: proxiedCall{Path: req.URL.Path, Arrived: time.Now()}}
		rp.ServeHTTP(sw, req)
		r.mu.Lock()
		r.calls = append(r.calls, sw.c)
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// snapshot returns the calls ordered by arrival.
func (r *restRecorder) snapshot() []proxiedCall {
	r.mu.Lock()
	out := append([]proxiedCall(nil), r.calls...)
	r.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Arrived.Before(out[j].Arrived) })
	return out
}

// stampWriter notes the status and the moment the answer starts to leave.
type stampWriter struct {
	http.ResponseWriter
	c proxiedCall
}

func (w *stampWriter) WriteHeader(code int) {
	if w.c.Status == 0 {
		w.c.Status, w.c.Answered = code, time.Now()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *stampWriter) Write(b []byte) (int, error) {
	if w.c.Status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// earlyFollow is a 429 and the calls that arrived after it left (plus grace) and before
// its Retry-After elapsed from then.
type earlyFollow struct {
	c429  proxiedCall
	calls []string
}

// earlyCalls returns the 429s followed by early calls. Calls arriving within grace of a
// 429 were on their way already: counted as in flight.
func earlyCalls(calls []proxiedCall, ra, grace time.Duration) (early []earlyFollow, inFlight int) {
	for _, c429 := range calls {
		if c429.Status != http.StatusTooManyRequests {
			continue
		}
		var e []string
		for _, c := range calls {
			since := c.Arrived.Sub(c429.Answered)
			switch {
			case since < 0 || since >= ra:
			case since < grace:
				inFlight++
			default:
				e = append(e, fmt.Sprintf("%s after %v", c.Path, since.Round(time.Millisecond)))
			}
		}
		if len(e) > 0 {
			early = append(early, earlyFollow{c429: c429, calls: e})
		}
	}
	return early, inFlight
}

func firstEarly(early []earlyFollow, path string) earlyFollow {
	for _, e := range early {
		if e.c429.Path == path {
			return e
		}
	}
	return earlyFollow{}
}

// logCallsAround logs the calls that arrived from 1 s before c429 was answered until its
// Retry-After elapsed.
func logCallsAround(t testing.TB, calls []proxiedCall, c429 proxiedCall) {
	t.Helper()
	t.Logf("calls around the 429 of %s answered at %s:", c429.Path, c429.Answered.Format("15:04:05.000"))
	for _, c := range calls {
		if d := c.Arrived.Sub(c429.Answered); d > -time.Second && d < retryAfter {
			t.Logf("  %+6dms %-40s %d", d.Milliseconds(), c.Path, c.Status)
		}
	}
}

// rest429Seen is the client's count of the 429 answers it read, by path.
func (b *bridge) rest429Seen(t testing.TB) map[string]int {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + b.info.OpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	re := regexp.MustCompile(`(?m)^rhombus_bridge_rest_requests_total\{([^}]*)\} ([0-9.e+]+)$`)
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		if !strings.Contains(m[1], `code="429"`) {
			continue
		}
		pm := regexp.MustCompile(`path="([^"]*)"`).FindStringSubmatch(m[1])
		v, _ := strconv.ParseFloat(m[2], 64)
		if pm != nil {
			out[pm[1]] += int(v)
		}
	}
	return out
}

// TestEarlyCallsCanFail: the checker above finds a call made after a 429 was answered
// and before its Retry-After elapsed, and tolerates one that arrived with the 429.
func TestEarlyCallsCanFail(t *testing.T) {
	t0 := time.Now()
	calls := []proxiedCall{
		{Path: "/a", Arrived: t0, Answered: t0.Add(time.Millisecond), Status: 429},
		{Path: "/b", Arrived: t0.Add(2 * time.Millisecond), Status: 200},          // in flight
		{Path: "/c", Arrived: t0.Add(time.Second), Status: 200},                   // early
		{Path: "/a", Arrived: t0.Add(retryAfter + time.Millisecond), Status: 200}, // on time
	}
	early, inFlight := earlyCalls(calls, retryAfter, inFlightGrace)
	if len(early) != 1 || len(early[0].calls) != 1 || inFlight != 1 {
		t.Fatalf("early %v, in flight %d; want the call to /c early and one in flight", early, inFlight)
	}
}

// checkRecorderMatchesSim: the recorder saw exactly the calls the simulator recorded (no
// call bypassed it) with the same answers, but for the calls the client gave up before
// their answer (counted and returned).
func checkRecorderMatchesSim(t testing.TB, got []proxiedCall, simCalls []sim.Call) (gone int) {
	t.Helper()
	want, have, goneBy := map[string]int{}, map[string]int{}, map[string]int{}
	for _, c := range simCalls {
		want[fmt.Sprintf("%s %d", c.Path, c.Status)]++
		goneBy[c.Path]++
	}
	for _, c := range got {
		goneBy[c.Path]--
		if c.Status == clientGone {
			gone++
			continue
		}
		have[fmt.Sprintf("%s %d", c.Path, c.Status)]++
	}
	for k, n := range have {
		if n > want[k] {
			t.Errorf("recorder saw %d × %s, the simulator recorded %d", n, k, want[k])
		}
	}
	for path, n := range goneBy {
		if n != 0 {
			t.Errorf("%s: the simulator recorded %d calls more than the recorder saw", path, n)
		}
	}
	if len(got) != len(simCalls) {
		t.Errorf("recorder saw %d calls, the simulator recorded %d", len(got), len(simCalls))
	}
	return gone
}

// alertCopy is what the stream holds of one alert's creation: its first copy.
type alertCopy struct {
	Via         string
	Stored      time.Time
	TimestampMs int64
	DeviceName  string
	Raw         string
	Copies      int
}

// readAlertCopies reads the whole stream and returns the policy-alert creations by id.
func readAlertCopies(t testing.TB, natsURL string) map[string]*alertCopy {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "RHOMBUS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*alertCopy{}
	for seq := uint64(0); seq < info.State.LastSeq; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			seq = md.Sequence.Stream
			var ce struct {
				ID     string `json:"id"`
				Via    string `json:"rhombusvia"`
				Entity string `json:"rhombusentity"`
				Data   struct {
					TimestampMs int64           `json:"timestampMs"`
					DeviceName  string          `json:"deviceName"`
					Raw         json.RawMessage `json:"raw"`
				} `json:"data"`
			}
			if err := json.Unmarshal(m.Data(), &ce); err != nil {
				t.Fatalf("seq %d: %v", seq, err)
			}
			if ce.Entity != event.EntityPolicyAlert {
				continue
			}
			if c := out[ce.ID]; c != nil {
				c.Copies++
				continue
			}
			out[ce.ID] = &alertCopy{Via: ce.Via, Stored: md.Timestamp, TimestampMs: ce.Data.TimestampMs,
				DeviceName: ce.Data.DeviceName, Raw: string(ce.Data.Raw), Copies: 1}
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
	}
	return out
}

// checkPublishedNotHeld: bare alerts taken live were completed when REST answered in time
// and published without their details when it did not (both happened); no alert taken
// live, of any shape, reached the stream later than heldBound after the simulator sent it.
func checkPublishedNotHeld(t testing.TB, alerts []sim.Alert, copies map[string]*alertCopy) {
	t.Helper()
	var bareDone, bareBare int
	var lat []time.Duration
	var held []string
	for _, a := range alerts {
		c := copies[event.AlertID(a.UUID)]
		if c == nil || c.Via != string(event.ViaWebSocket) {
			continue // missing: reported by exactly_once; backfilled: never live
		}
		if a.Shape == sim.ShapeNestedBare {
			if c.TimestampMs == 0 {
				bareBare++
			} else {
				bareDone++
			}
		}
		d := c.Stored.Sub(a.Created)
		lat = append(lat, d)
		if d > heldBound {
			shape, _ := a.Shape.MarshalText()
			held = append(held, fmt.Sprintf("%s %v (created %s)", shape, d.Round(time.Millisecond),
				a.Created.Format("15:04:05.000")))
		}
	}
	if len(lat) == 0 {
		t.Fatal("no alert came live")
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))].Round(time.Millisecond) }
	t.Logf("%d live alerts: sent→stored p50 %v p99 %v max %v; live bare alerts completed %d, published bare %d",
		len(lat), q(0.5), q(0.99), q(1), bareDone, bareBare)
	if bareDone == 0 {
		t.Errorf("no bare alert was completed: getPolicyAlertDetails never answered in time")
	}
	if bareBare == 0 {
		t.Errorf("every bare alert was completed: the 429s never kept the enricher from it")
	}
	if len(held) > 0 {
		t.Errorf("%d of %d live alerts reached the stream more than %v after they were sent (held behind enrichment), e.g. %v",
			len(held), len(lat), heldBound, held[:min(5, len(held))])
		timeline(t, alerts, copies)
	}
}

// checkDeviceNames: every alert taken live after named (the camera names were fetched by
// then) carries data.deviceName, and every completed bare alert keeps the payload it
// arrived with in data.raw.
func checkDeviceNames(t testing.TB, alerts []sim.Alert, copies map[string]*alertCopy, named time.Time) {
	t.Helper()
	var live, unnamed, completed, rawLost int
	for _, a := range alerts {
		c := copies[event.AlertID(a.UUID)]
		if c == nil || c.Via != string(event.ViaWebSocket) {
			continue
		}
		if a.Shape == sim.ShapeNestedBare && c.TimestampMs != 0 {
			completed++
			if c.Raw == "" || c.Raw == "{}" || c.Raw == "null" {
				rawLost++
			}
		}
		if a.Created.Before(named) {
			continue
		}
		live++
		if c.DeviceName == "" {
			unnamed++
		}
	}
	t.Logf("%d live alerts after the names were fetched, %d without data.deviceName; %d completed bare alerts, %d with data.raw lost",
		live, unnamed, completed, rawLost)
	if live == 0 {
		t.Fatal("no live alert after the names were fetched")
	}
	if unnamed > 0 {
		t.Errorf("%d of %d live alerts lack data.deviceName although the names were cached", unnamed, live)
	}
	if rawLost > 0 {
		t.Errorf("%d of %d completed bare alerts lost the payload received (data.raw)", rawLost, completed)
	}
}

// timeline logs, per second of creation, the alerts taken live, their median and worst
// sent→stored time and how many carry a device name.
func timeline(t testing.TB, alerts []sim.Alert, copies map[string]*alertCopy) {
	t.Helper()
	type sec struct {
		live, named int
		lat         []time.Duration
	}
	var keys []int64
	secs := map[int64]*sec{}
	for _, a := range alerts {
		c := copies[event.AlertID(a.UUID)]
		if c == nil || c.Via != string(event.ViaWebSocket) {
			continue
		}
		k := a.Created.Unix()
		s := secs[k]
		if s == nil {
			s = &sec{}
			secs[k] = s
			keys = append(keys, k)
		}
		s.live++
		if c.DeviceName != "" {
			s.named++
		}
		s.lat = append(s.lat, c.Stored.Sub(a.Created))
	}
	for _, k := range keys {
		s := secs[k]
		sort.Slice(s.lat, func(i, j int) bool { return s.lat[i] < s.lat[j] })
		t.Logf("created %s: %3d live, sent→stored p50 %6v max %6v, %3d named", time.Unix(k, 0).Format("15:04:05"),
			s.live, s.lat[len(s.lat)/2].Round(time.Millisecond), s.lat[len(s.lat)-1].Round(time.Millisecond), s.named)
	}
}
