package main

import (
	"context"
	"io"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// runBridge is the production bridge: configuration from the environment, run until the
// signal context ends, drain, exit 0.
func runBridge(ctx context.Context, stderr io.Writer) error {
	cfg, err := config.Load(config.ModeRun)
	if err != nil {
		return err
	}
	a, err := app.New(cfg, app.Options{Version: version + " (" + commit + ")", Logger: app.NewLogger(cfg.Log, stderr)})
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
