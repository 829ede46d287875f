package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// runCheck validates the environment and prints the effective configuration.
func runCheck(stdout io.Writer) error {
	cfg, err := config.Load(config.ModeRun)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprint(stdout, cfg.String()); err != nil {
		return err
	}
	if cfg.Rhombus.MultiOrg() {
		if err := printOrgSummary(stdout, cfg); err != nil {
			return err
		}
	}
	_, err = fmt.Fprint(stdout, "configuration OK\n")
	checkKafkaLease(context.Background(), cfg, stdout)
	return err
}

// runHealthcheck asks this host's /readyz (HTTP_ADDR) and fails unless it answers 200; it
// needs no shell, so it works in distroless images.
func runHealthcheck(ctx context.Context, stdout io.Writer) error {
	cfg, err := config.Load(config.ModeDemo)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	_, err = fmt.Fprintln(stdout, "ready")
	return err
}
