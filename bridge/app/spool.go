package app

import (
	"fmt"
	"path/filepath"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/spool"
)

// openSpool opens the write-ahead spool under BRIDGE_DATA_DIR/spool/{instance}, unless
// BRIDGE_SPOOL_MAX_BYTES is 0 (memory only). Events it drops for age become a gap.
func (a *App) openSpool() error {
	if a.cfg.Bridge.SpoolMaxBytes == 0 {
		return nil
	}
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(a.cfg.Bridge.DataDir, "spool", event.Token(a.cfg.Bridge.InstanceID)),
		MaxBytes: a.cfg.Bridge.SpoolMaxBytes, MaxAge: a.cfg.Bridge.SpoolMaxAge, OnExpired: a.onOverflow,
		Logger: a.log, Registerer: a.reg})
	if err != nil {
		return fmt.Errorf("spool (BRIDGE_DATA_DIR=%s): %w", a.cfg.Bridge.DataDir, err)
	}
	if r := sp.Recovered(); sp.Len() > 0 {
		a.log.Info("spool holds events from an earlier run; replaying them first", "events", sp.Len(),
			"recovery", fmt.Sprintf("%+v", r))
	}
	a.spool = sp
	return nil
}

// spoolOrNil keeps a nil *spool.Spool from becoming a non-nil interface.
func (a *App) spoolOrNil() pipeline.Spool {
	if a.spool == nil {
		return nil
	}
	return a.spool
}

// restamp clears the lease revision of events an earlier process spooled: that process's
// term is over, but the events are genuine and were never delivered, so they are
// published (their ids collapse with any backfilled copy). Events of this process keep
// theirs, so a deposed leader still cannot publish under its old term.
func (a *App) restamp(ev event.Event) event.Event {
	a.kafkaReplayed(ev)
	if ev.Fence != 0 && ev.Received.Before(a.started) {
		ev.Fence = 0
	}
	return ev
}
