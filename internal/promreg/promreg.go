// Package promreg registers Prometheus collectors so that several components, or two
// instances of one in a process, can share a registry: a collector already registered
// under the same description is reused instead of failing.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg (nil: not at all) and returns the collector to use: c,
// or the one already registered under the same description. Any other registration
// error is returned, with c.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// MustReuse is Register for collectors whose registration cannot conflict except by
// being already there: any other error is ignored and c returned.
func MustReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	out, _ := Register(reg, c)
	return out
}
