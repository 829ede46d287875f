package recovery

import (
	"fmt"
	"slices"
	"testing"
)

func (s spans) String() string {
	out := ""
	for _, x := range s {
		hi := fmt.Sprint(x.hi)
		if x.hi == openEnd {
			hi = "∞"
		}
		out += fmt.Sprintf("[%d,%s]", x.lo, hi)
	}
	return out
}

func TestSpansAddMerges(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  []span
		want spans
	}{
		{"disjoint, kept in order", []span{{20, 30}, {0, 5}, {10, 12}}, spans{{0, 5}, {10, 12}, {20, 30}}},
		{"overlapping", []span{{0, 10}, {5, 20}}, spans{{0, 20}}},
		{"touching", []span{{0, 10}, {11, 20}}, spans{{0, 20}}},
		{"one ms apart", []span{{0, 10}, {12, 20}}, spans{{0, 10}, {12, 20}}},
		{"contained", []span{{0, 100}, {10, 20}}, spans{{0, 100}}},
		{"bridging several", []span{{0, 1}, {5, 6}, {10, 11}, {20, 30}, {1, 10}}, spans{{0, 11}, {20, 30}}},
		{"open end swallows what follows", []span{{10, 20}, {30, 40}, {15, openEnd}}, spans{{10, openEnd}}},
		{"open end touching", []span{{10, openEnd}, {0, 9}}, spans{{0, openEnd}}},
		{"empty ignored", []span{{5, 6}, {3, 2}}, spans{{5, 6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s spans
			for _, x := range tc.add {
				s = s.add(x)
			}
			if !slices.Equal(s, tc.want) {
				t.Fatalf("got %v, want %v", s, tc.want)
			}
		})
	}
}

// A page proves a stretch complete at either end or, with a window fetched in the
// middle, splits a pending span in two.
func TestSpansSubSplitsByProgress(t *testing.T) {
	base := spans{{0, 99}, {200, openEnd}}
	for _, tc := range []struct {
		name string
		sub  span
		want spans
	}{
		{"oldest-first page", span{0, 39}, spans{{40, 99}, {200, openEnd}}},
		{"newest-first page", span{60, 99}, spans{{0, 59}, {200, openEnd}}},
		{"middle splits", span{10, 19}, spans{{0, 9}, {20, 99}, {200, openEnd}}},
		{"across two spans", span{50, 250}, spans{{0, 49}, {251, openEnd}}},
		{"whole window", span{0, 99}, spans{{200, openEnd}}},
		{"nothing pending there", span{120, 150}, base},
		{"empty", span{1, 0}, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := base.sub(tc.sub)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	if !slices.Equal(base, spans{{0, 99}, {200, openEnd}}) {
		t.Fatalf("sub modified its receiver: %v", base)
	}
}

// A new gap's window, less what this term fetched already, is what is left to fetch.
func TestSpansMinusEndFirst(t *testing.T) {
	done := spans{{0, 49}, {60, 79}}
	got := spans{{40, openEnd}}.minus(done)
	if want := (spans{{50, 59}, {80, openEnd}}); !slices.Equal(got, want) {
		t.Fatalf("minus: got %v, want %v", got, want)
	}
	if f, ok := got.first(); !ok || f != (span{50, 59}) {
		t.Fatalf("first: %v %v", f, ok)
	}
	if _, ok := (spans{{80, openEnd}}).first(); ok {
		t.Fatal("first found a span with no known end")
	}
	ended := got.end(100)
	if want := (spans{{50, 59}, {80, 100}}); !slices.Equal(ended, want) {
		t.Fatalf("end: got %v, want %v", ended, want)
	}
	if want := (spans{{50, 59}}); !slices.Equal(spans{{50, 59}, {120, openEnd}}.end(100), want) {
		t.Fatal("end kept a span starting after the end")
	}
	if !got.overlaps(span{59, 60}) || got.overlaps(span{60, 79}) {
		t.Fatal("overlaps")
	}
	if c, ok := got.containing(span{85, 90}); !ok || c != (span{80, openEnd}) {
		t.Fatalf("containing: %v %v", c, ok)
	}
	if _, ok := got.containing(span{55, 85}); ok {
		t.Fatal("containing across a gap")
	}
}
