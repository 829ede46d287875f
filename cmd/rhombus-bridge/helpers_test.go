package main

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
)

func newOpsForTest(ready func() bool) (*ops.Server, error) {
	return ops.New(ops.Config{Addr: "127.0.0.1:0", Status: func() ops.Status { return ops.Status{} },
		Ready: func(context.Context) error {
			if !ready() {
				return errors.New("not ready")
			}
			return nil
		}, Gatherer: prometheus.NewRegistry()})
}
