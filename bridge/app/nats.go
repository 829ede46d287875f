package app

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// needsNATS reports whether anything uses NATS: the sink or the lease.
func (a *App) needsNATS() bool {
	return a.cfg.Bridge.Enabled("nats") || a.cfg.Bridge.Lease == "nats"
}

// startNATS starts the embedded server when NATS_URL is empty and connects.
func (a *App) startNATS(ctx context.Context) error {
	url := a.cfg.NATS.URL
	if url == "" {
		srv, err := a.startEmbedded()
		if err != nil {
			return err
		}
		a.embedded = srv
		url = srv.ClientURL()
		a.log.Info("embedded NATS JetStream started", "url", url,
			"store_dir", filepath.Join(a.cfg.Bridge.DataDir, "nats"))
	}
	a.natsURL = url
	// No reconnect buffer: a publish made while disconnected fails at once and is retried
	// (after the fence check), instead of being sent on reconnect under a term that may
	// have ended meanwhile.
	opts := []nats.Option{nats.Name("rhombus-bridge/" + a.cfg.Bridge.InstanceID), nats.MaxReconnects(-1),
		nats.ReconnectBufSize(-1),
		nats.ReconnectWait(250 * time.Millisecond), nats.RetryOnFailedConnect(true),
		// A connection on which nothing arrives (a blackholed route) is dropped within about
		// 15 s rather than the client's default 4 minutes; the lease steps down sooner still.
		nats.PingInterval(5 * time.Second), nats.MaxPingsOutstanding(3),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: we closed it
				a.log.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { a.log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted()) })}
	if a.cfg.NATS.Creds != "" {
		opts = append(opts, nats.UserCredentials(a.cfg.NATS.Creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		var ue *neturl.Error // a malformed URL: its text quotes the URL, password and all
		if errors.As(err, &ue) {
			ue.URL = config.RedactURL(ue.URL)
		}
		return fmt.Errorf("connect to NATS: %w", err)
	}
	a.nc = nc
	return waitConnected(ctx, nc)
}

func (a *App) startEmbedded() (*server.Server, error) {
	cfg := natsjs.EmbeddedConfig{Listen: a.cfg.NATS.EmbeddedListen,
		StoreDir: filepath.Join(a.cfg.Bridge.DataDir, "nats"), Logger: a.log}
	srv, err := natsjs.StartEmbedded(cfg)
	if err != nil && errors.Is(err, natsjs.ErrListen) && a.opt.PickFreeNATSPort {
		free, ferr := natsjs.FreeListen("127.0.0.1")
		if ferr != nil {
			return nil, fmt.Errorf("%w (and no free port: %w)", err, ferr)
		}
		a.log.Warn("NATS_EMBEDDED_LISTEN is taken; the embedded NATS listens elsewhere",
			"wanted", cfg.Listen, "listen", free)
		cfg.Listen = free
		srv, err = natsjs.StartEmbedded(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded NATS (BRIDGE_DATA_DIR=%s, NATS_EMBEDDED_LISTEN=%s): %w",
			a.cfg.Bridge.DataDir, cfg.Listen, err)
	}
	return srv, nil
}

// waitConnected waits for the first connection (RetryOnFailedConnect connects in the
// background), so a wrong NATS_URL is reported instead of hanging silently.
func waitConnected(ctx context.Context, nc *nats.Conn) error {
	deadline := time.Now().Add(30 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			return fmt.Errorf("NATS at %s not reachable within 30s", config.RedactURL(nc.Opts.Url))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
