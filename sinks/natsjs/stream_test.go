package natsjs_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// jsClient connects a plain JetStream client (not the sink's) to url.
func jsClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	return natstest.Connect(t, url)
}

// streamConfig reads the stream's configuration back from the server.
func streamConfig(ctx context.Context, t *testing.T, js jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.Config
}

func newStreamSink(ctx context.Context, t *testing.T, cfg natsjs.Config) *natsjs.Sink {
	t.Helper()
	s, err := natsjs.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// A missing stream is created on {prefix}.v1.> with the configured duplicate window
// (and the 10m default when none is configured), not the server's 2m default.
func TestStreamCreatedWithDuplicateWindow(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := jsClient(t, srv.URL())

	newStreamSink(ctx, t, natsjs.Config{URL: srv.URL(), Stream: "DW", SubjectPrefix: "acme", DuplicateWindow: 7 * time.Minute})
	sc := streamConfig(ctx, t, js, "DW")
	if sc.Duplicates != 7*time.Minute {
		t.Errorf("duplicate window %v, want 7m", sc.Duplicates)
	}
	if !slices.Equal(sc.Subjects, []string{"acme.v1.>"}) {
		t.Errorf("subjects %q, want [acme.v1.>]", sc.Subjects)
	}

	newStreamSink(ctx, t, natsjs.Config{URL: srv.URL(), Stream: "DEF"})
	sc = streamConfig(ctx, t, js, "DEF")
	if sc.Duplicates != 10*time.Minute || !slices.Equal(sc.Subjects, []string{"rhombus.v1.>"}) {
		t.Errorf("defaults: duplicate window %v subjects %q, want 10m [rhombus.v1.>]", sc.Duplicates, sc.Subjects)
	}
}

// An existing stream with another duplicate window and without the prefix's subjects is
// updated to have both, keeping every other setting an operator gave it.
func TestExistingStreamUpdatedKeepingSettings(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := jsClient(t, srv.URL())
	before := jetstream.StreamConfig{
		Name: "OPS", Subjects: []string{"legacy.>"}, Storage: jetstream.FileStorage,
		Duplicates: 30 * time.Second, MaxAge: 24 * time.Hour, MaxMsgs: 5000, MaxBytes: 64 << 20,
		Description: "set up by an operator",
	}
	if _, err := js.CreateStream(ctx, before); err != nil {
		t.Fatal(err)
	}
	s := newStreamSink(ctx, t, natsjs.Config{URL: srv.URL(), Stream: "OPS", SubjectPrefix: "acme", DuplicateWindow: 3 * time.Minute})

	sc := streamConfig(ctx, t, js, "OPS")
	if sc.Duplicates != 3*time.Minute {
		t.Errorf("duplicate window %v, want 3m", sc.Duplicates)
	}
	if !slices.Contains(sc.Subjects, "acme.v1.>") || !slices.Contains(sc.Subjects, "legacy.>") || len(sc.Subjects) != 2 {
		t.Fatalf("subjects %q, want legacy.> and acme.v1.>", sc.Subjects)
	}
	if sc.MaxAge != before.MaxAge || sc.MaxMsgs != before.MaxMsgs || sc.MaxBytes != before.MaxBytes ||
		sc.Storage != before.Storage || sc.Description != before.Description {
		t.Errorf("other settings lost: MaxAge %v MaxMsgs %d MaxBytes %d Storage %v Description %q",
			sc.MaxAge, sc.MaxMsgs, sc.MaxBytes, sc.Storage, sc.Description)
	}

	// The stream now captures what the sink publishes, once per id.
	ev := sinktest.Events(t, 1, 1)[0]
	for range 2 {
		if err := s.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	st, err := js.Stream(ctx, "OPS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages after publishing one id twice, want 1", info.State.Msgs)
	}
}

// A stream that already captures the prefix is still updated when only its duplicate
// window differs, and left alone (settings intact) when nothing differs.
func TestExistingStreamWindowOnlyUpdated(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := jsClient(t, srv.URL())
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "W", Subjects: []string{"rhombus.v1.>"},
		Duplicates: time.Minute, MaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	cfg := natsjs.Config{URL: srv.URL(), Stream: "W", DuplicateWindow: 5 * time.Minute}
	newStreamSink(ctx, t, cfg)
	sc := streamConfig(ctx, t, js, "W")
	if sc.Duplicates != 5*time.Minute || sc.MaxAge != time.Hour || !slices.Equal(sc.Subjects, []string{"rhombus.v1.>"}) {
		t.Fatalf("after update: duplicates %v MaxAge %v subjects %q, want 5m 1h [rhombus.v1.>]", sc.Duplicates, sc.MaxAge, sc.Subjects)
	}
	newStreamSink(ctx, t, cfg) // a second start finds it as it wants it
	sc = streamConfig(ctx, t, js, "W")
	if sc.Duplicates != 5*time.Minute || sc.MaxAge != time.Hour || len(sc.Subjects) != 1 {
		t.Fatalf("after a second start: duplicates %v MaxAge %v subjects %q", sc.Duplicates, sc.MaxAge, sc.Subjects)
	}
}

// A new stream gets the configured MaxAge and MaxBytes; without them (a library user's
// zero Config) it is unlimited, as JetStream's own default.
func TestNewStreamGetsLimits(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := jsClient(t, srv.URL())
	newStreamSink(ctx, t, natsjs.Config{URL: srv.URL(), Stream: "LIM", MaxAge: 168 * time.Hour, MaxBytes: 1 << 30})
	sc := streamConfig(ctx, t, js, "LIM")
	if sc.MaxAge != 168*time.Hour || sc.MaxBytes != 1<<30 || sc.Discard != jetstream.DiscardOld {
		t.Errorf("new stream: MaxAge %v MaxBytes %d Discard %v, want 168h 1 GiB old", sc.MaxAge, sc.MaxBytes, sc.Discard)
	}
	newStreamSink(ctx, t, natsjs.Config{URL: srv.URL(), Stream: "NOLIM", SubjectPrefix: "other"})
	if sc := streamConfig(ctx, t, js, "NOLIM"); sc.MaxAge != 0 || sc.MaxBytes != -1 {
		t.Errorf("no limits configured: MaxAge %v MaxBytes %d, want 0 -1", sc.MaxAge, sc.MaxBytes)
	}
}

// An operator's `nats stream edit` of the limits survives a restart of the bridge while
// the limits are not set explicitly; set explicitly, they are applied to the stream.
func TestStreamLimitsEditSurvivesRestart(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js := jsClient(t, srv.URL())
	defaults := natsjs.Config{URL: srv.URL(), Stream: "EDIT", MaxAge: 168 * time.Hour, MaxBytes: -1}
	s := newStreamSink(ctx, t, defaults)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	sc := streamConfig(ctx, t, js, "EDIT") // the operator's edit
	sc.MaxAge, sc.MaxBytes = 36*time.Hour, 256<<20
	if _, err := js.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	newStreamSink(ctx, t, defaults) // a restart with the variables unset
	if sc := streamConfig(ctx, t, js, "EDIT"); sc.MaxAge != 36*time.Hour || sc.MaxBytes != 256<<20 {
		t.Fatalf("after a restart with the defaults: MaxAge %v MaxBytes %d, want the edit's 36h 256 MiB", sc.MaxAge, sc.MaxBytes)
	}
	ageOnly := defaults
	ageOnly.MaxAge, ageOnly.ApplyMaxAge = 72*time.Hour, true
	newStreamSink(ctx, t, ageOnly)
	if sc := streamConfig(ctx, t, js, "EDIT"); sc.MaxAge != 72*time.Hour || sc.MaxBytes != 256<<20 {
		t.Fatalf("explicit MaxAge only: MaxAge %v MaxBytes %d, want 72h 256 MiB", sc.MaxAge, sc.MaxBytes)
	}
	both := ageOnly
	both.MaxBytes, both.ApplyMaxBytes = -1, true
	newStreamSink(ctx, t, both)
	if sc := streamConfig(ctx, t, js, "EDIT"); sc.MaxAge != 72*time.Hour || sc.MaxBytes != -1 {
		t.Fatalf("explicit MaxAge and MaxBytes: MaxAge %v MaxBytes %d, want 72h -1", sc.MaxAge, sc.MaxBytes)
	}
}

// A duplicate window longer than MaxAge is refused before the server sees it: messages
// would leave the stream while their ids still had to deduplicate.
func TestDuplicateWindowBeyondMaxAgeRefused(t *testing.T) {
	srv := natstest.Start(t)
	_, err := natsjs.New(context.Background(), natsjs.Config{URL: srv.URL(), Stream: "BAD",
		DuplicateWindow: 2 * time.Hour, MaxAge: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "MaxAge") {
		t.Fatalf("want an error naming MaxAge, got %v", err)
	}
}
