package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCeilingGrowsToCap(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Ceiling(true); got != w*time.Millisecond {
			t.Fatalf("step %d: ceiling %s, want %s", i, got, w*time.Millisecond)
		}
	}
	b.Reset()
	if b.Ceiling(false) != 100*time.Millisecond || b.Attempts() != 0 {
		t.Fatal("reset")
	}
}

func TestNextIsJitteredBelowCeiling(t *testing.T) {
	b := Backoff{Base: time.Millisecond, Max: 50 * time.Millisecond}
	distinct := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		c := b.Ceiling(false)
		d := b.Next()
		if d < 0 || d >= c {
			t.Fatalf("delay %s outside [0,%s)", d, c)
		}
		distinct[d] = true
	}
	if len(distinct) < 50 {
		t.Fatalf("delays are not jittered: %d distinct of 200", len(distinct))
	}
}

func TestNoOverflow(t *testing.T) {
	b := Backoff{Base: time.Hour, Max: 100 * time.Hour}
	for i := 0; i < 200; i++ {
		if c := b.Ceiling(true); c <= 0 || c > 100*time.Hour {
			t.Fatalf("step %d: ceiling %s", i, c)
		}
	}
}

func TestSleepCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	start := time.Now()
	err := Sleep(ctx, time.Hour)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("Sleep did not end with its context: %v after %s", err, time.Since(start))
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
