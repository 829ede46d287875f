// Command rhombus-bridge republishes Rhombus change events (STOMP over WebSocket, webhooks,
// REST backfill) to NATS JetStream and Kafka as CloudEvents. See README.md.
//
// Usage:
//
//	rhombus-bridge              run until SIGINT/SIGTERM, then drain and exit 0
//	rhombus-bridge demo         embedded NATS + simulator + bridge + a live feed
//	rhombus-bridge check        validate the configuration and print it, secrets masked
//	rhombus-bridge version      print the version
//	rhombus-bridge healthcheck  exit 0 when /readyz on HTTP_ADDR answers 200
//	rhombus-bridge webhook register --url URL [--diagnostic] | status
//	rhombus-bridge tail [--kafka] [--json] [--entity E] [--device D] [--trigger T] [--since 10m]
//	rhombus-bridge orgs         partner mode: which replica leads which org
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Stamped at build time: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "", "run":
		err = runBridge(ctx, stderr)
	case "demo":
		err = runDemoArgs(ctx, args, stdout, stderr)
	case "check":
		err = runCheck(stdout)
	case "version":
		_, err = fmt.Fprintf(stdout, "rhombus-bridge %s (commit %s)\n", version, commit)
	case "healthcheck":
		err = runHealthcheck(ctx, stdout)
	case "webhook":
		err = runWebhook(ctx, args, stdout)
	case "tail":
		err = runTail(ctx, args, stdout)
	case "orgs":
		err = runOrgs(ctx, stdout)
	case "help", "-h", "--help":
		_, err = fmt.Fprint(stdout, usage)
	default:
		err = fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
	if err != nil {
		fmt.Fprintf(stderr, "rhombus-bridge: %v\n", err)
		return 1
	}
	return 0
}

const usage = `usage: rhombus-bridge [command]

commands:
  (none), run   run the bridge until SIGINT/SIGTERM (configuration from the environment)
  demo          embedded NATS + Rhombus simulator + bridge, with a live feed of the events
                (demo --orgs 5: partner mode, five organisations behind one partner token)
  check         validate the configuration and print it with secrets masked
  version       print the version
  healthcheck   exit 0 when this host's bridge answers /readyz with 200
  webhook       register | status: manage the Rhombus webhook integration
  tail          print events from the stream (see 'rhombus-bridge tail --help')
  orgs          partner mode: print which replica leads which org (from the NATS shard state)
`
