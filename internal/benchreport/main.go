package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(args []string, log io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "one short round of each benchmark (a few minutes)")
	out := fs.String("out", "docs/benchmarks.md", "report to write, relative to the module root")
	img := fs.String("img", "docs/img", "directory of the PNG plots, relative to the module root")
	only := fs.String("only", "", "run only the packages matching this regexp (the others are reported as not run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	onlyRe, err := regexp.Compile(*only)
	if err != nil {
		return fmt.Errorf("-only: %w", err)
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var runs []Run
	for _, s := range suite {
		if !onlyRe.MatchString(s.Pkg) {
			runs = append(runs, Run{Spec: s, Skipped: "not run: left out by -only"})
			continue
		}
		r := runSpec(ctx, root, s, *quick, log)
		if r.Skipped != "" {
			fmt.Fprintf(log, "%s: %s\n", s.Pkg, r.Skipped)
		}
		runs = append(runs, r)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	bb := BlackBox{Skipped: "left out by -only"}
	if onlyRe.MatchString("./internal/blackbox") {
		bb = runBlackBox(ctx, root, *quick, log)
	}
	rep := Report{Runs: runs, Machine: machine(ctx, root), Quick: *quick, ImgDir: *img, OutPath: *out, BlackBox: bb}
	if err := os.MkdirAll(filepath.Join(root, *img), 0o755); err != nil {
		return err
	}
	md, err := rep.Write(root)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, *out), md, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s and the plots in %s\n", *out, *img)
	return nil
}

// moduleRoot is the nearest directory upwards with a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
