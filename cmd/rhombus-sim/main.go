// Command rhombus-sim runs a simulated Rhombus: STOMP over WebSocket at /websocket, the REST
// endpoints rhombus-bridge uses, an event generator, webhook delivery and fault switches
// under /_sim/ (see package bridge/sim). It runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "rhombus-sim:", err)
		os.Exit(1)
	}
}

func run() error {
	opts, err := sim.ParseOptions(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	log, err := sim.NewLogger(opts.LogLevel, opts.LogFormat, os.Stderr)
	if err != nil {
		return err
	}
	opts.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return sim.Run(ctx, opts)
}
