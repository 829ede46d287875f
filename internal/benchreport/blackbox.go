package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/result"
)

// BlackBox is the out-of-process run: its results, or why there are none.
type BlackBox struct {
	Results *result.Results
	Cmd     string
	Skipped string
}

// blackboxArgs are the harness's sizes: its defaults for a full run, shorter for -quick.
func blackboxArgs(quick bool) []string {
	if quick {
		return []string{"-burst", "20000", "-steady", "10s", "-latency-for", "5s"}
	}
	return nil
}

// runBlackBox runs `go run ./internal/blackbox` in root, echoing its output to log.
func runBlackBox(ctx context.Context, root string, quick bool, log io.Writer) BlackBox {
	dir, err := os.MkdirTemp("", "benchreport-blackbox-*")
	if err != nil {
		return BlackBox{Skipped: "not run: " + err.Error()}
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "figures.json")
	args := append([]string{"run", "./internal/blackbox"}, blackboxArgs(quick)...)
	bb := BlackBox{Cmd: "go " + strings.Join(args, " ")}
	fmt.Fprintf(log, "\n$ %s\n", bb.Cmd)
	cmd := exec.CommandContext(ctx, "go", append(args, "-json", out)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		bb.Skipped = "failed: " + err.Error()
		return bb
	}
	if bb.Results, err = result.ReadFile(out); err != nil {
		bb.Skipped = "failed: " + err.Error()
	}
	return bb
}

// blackboxSection leads the report: the built binary as its own process.
func (rp Report) blackboxSection(b *bytes.Buffer, root string) error {
	b.WriteString(`## Out of process: the binary as an operator runs it

` + "`internal/blackbox`" + ` builds ` + "`cmd/rhombus-bridge`" + ` and runs it as its own process, fed over a real
WebSocket by a separate feeder process (the simulator: STOMP MESSAGE frames of a policy alert),
publishing to nats-server run as a separate process (built from the version go.mod pins; file
storage, 10 min duplicate window). In the same run it measures raw ` + "`PublishMsgAsync`" + ` of
same-size messages into the same server, and a reference relay process (go-stomp over
gorilla/websocket, one subscription, each body published with ` + "`PublishMsgAsync`" + ` and a
Nats-Msg-Id, no parsing) fed the same events. CPU per event is the process's own utime+stime
(/proc/PID/stat) over the window ÷ events stored; RSS is its VmHWM; events/s runs from the
feeder's first send to the last message stored; latency is feeder send → JetStream consumer.
Then 32 keep-alive senders post signed org-activity webhooks (HMAC-SHA1, each a new alert) to
the bridge's receiver and as many to a reference receiver process (constant-time HMAC check,
` + "`json.Valid`" + `, one synchronous ` + "`PublishMsg`" + ` with a Nats-Msg-Id, 200 after the PubAck), in batches
of 500 alternating between the two; every request must be answered 200 and stored. Requests/s
is requests ÷ the time of the receiver's own batches; latency is the sender's.

`)
	bb := rp.BlackBox
	if bb.Results == nil {
		fmt.Fprintf(b, "Not run (%s).\n\n", orNotRun(bb.Skipped))
		return nil
	}
	fmt.Fprintf(b, "Command: `%s`\n\n", bb.Cmd)
	bb.Results.Table(b)
	b.WriteString("\n")
	bb.Results.Goals(b)
	b.WriteString("\n")
	r := bb.Results
	c := Chart{Title: "CPU per event, out of process", YLabel: "µs of CPU per event",
		Groups: []string{"burst", fmt.Sprintf("steady %d ev/s", r.Rate)},
		Series: []Series{{Name: "bridge", Values: []float64{r.Bridge.BurstCPUus, r.Bridge.SteadyCPUus}},
			{Name: "reference relay", Values: []float64{r.Relay.BurstCPUus, r.Relay.SteadyCPUus}}}}
	line, err := rp.img(root, "blackbox-cpu", c)
	b.WriteString(line)
	return err
}

func orNotRun(s string) string {
	if s == "" {
		return "left out"
	}
	return s
}
