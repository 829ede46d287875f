package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Run is the outcome of one Spec.
type Run struct {
	Spec    Spec
	Results []Result // merged (medians over -count)
	Env     map[string]string
	Took    time.Duration
	Skipped string // why it did not run or failed ("" when it ran)
	Cmd     string // the go command line
	Failed  string // set when some benchmarks of a run that produced results failed
}

// Note is the command line, and the failure of a partly failed run.
func (r Run) Note() string {
	if r.Failed != "" {
		return "`" + r.Cmd + "`; partly failed: " + r.Failed
	}
	return "`" + r.Cmd + "`"
}

// runSpec runs one spec as a subprocess in root, echoing its output to log.
func runSpec(ctx context.Context, root string, s Spec, quick bool, log io.Writer) Run {
	r := Run{Spec: s}
	if !hasBenchmarks(root, s.Pkg) {
		r.Skipped = "not run: no benchmark in " + s.Pkg + " yet"
		return r
	}
	benchtime, count := s.Benchtime, s.Count
	if quick {
		benchtime, count = s.Quick, 1
	}
	args := []string{"test", "-run", "^$", "-bench", s.Pattern, "-benchtime", benchtime,
		"-count", strconv.Itoa(max(count, 1)), "-timeout", s.Timeout.String(), s.Pkg}
	r.Cmd = "go " + shellJoin(args)
	fmt.Fprintf(log, "\n$ %s\n", r.Cmd)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), s.Env...)
	var buf bytes.Buffer
	cmd.Stdout = io.MultiWriter(&buf, log)
	cmd.Stderr = io.MultiWriter(&buf, log)
	start := time.Now()
	err := cmd.Run()
	r.Took = time.Since(start)
	out, perr := Parse(bytes.NewReader(buf.Bytes()))
	r.Env, r.Results = out.Env, Merge(out.Results)
	switch {
	case err != nil && len(r.Results) == 0:
		r.Skipped = "not run: failed (" + lastLine(buf.String(), err) + ")"
	case perr != nil:
		r.Skipped = "not run: output unreadable (" + perr.Error() + ")"
	case len(r.Results) == 0:
		r.Skipped = "not run: no benchmark matched " + s.Pattern
	case err != nil:
		r.Failed = lastLine(buf.String(), err)
	}
	return r
}

// lastLine is the most telling line of a failed run's output.
func lastLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "FAIL") && !strings.HasPrefix(l, "exit status") {
			if len(l) > 160 {
				l = l[:160] + "…"
			}
			return l
		}
	}
	return err.Error()
}

// shellJoin joins args as a POSIX shell would read them back: an argument with anything
// but letters, digits and ./_=:,+- in it is single-quoted (a pattern "A|B" is not a pipe).
func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if a == "" || strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./_=:,+-") != "" {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
