package promreg_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/internal/promreg"
)

func TestReuseAndConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	b := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
	got, err := promreg.Register(reg, a)
	if err != nil || got != a {
		t.Fatal(err)
	}
	if got, err := promreg.Register(reg, b); err != nil || got != a {
		t.Fatalf("second registration must reuse the first: %v", err)
	}
	clash := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "other help"})
	if _, err := promreg.Register(reg, clash); err == nil {
		t.Fatal("a different collector under the same name must fail")
	}
	if got := promreg.MustReuse[prometheus.Counter](nil, a); got != a {
		t.Fatal("nil registerer")
	}
}
