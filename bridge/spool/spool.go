package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Defaults of Config.
const (
	DefaultMaxBytes     = 1 << 30
	DefaultMaxAge       = 24 * time.Hour
	DefaultSegmentBytes = 16 << 20
	minSegmentBytes     = 256
	// MinMaxBytes is the least MaxBytes Open accepts: four segments of the smallest size.
	MinMaxBytes = 4 * minSegmentBytes
)

// Errors of the spool.
var (
	ErrFull     = errors.New("spool: full")
	ErrClosed   = errors.New("spool: closed")
	ErrTooLarge = errors.New("spool: event too large")
	ErrUnknown  = errors.New("spool: no such outstanding record")
)

// Config shapes a Spool. Zero values take the defaults in parentheses.
type Config struct {
	Dir          string        // e.g. {BRIDGE_DATA_DIR}/spool; created if missing (required)
	MaxBytes     int64         // bound on the bytes on disk, BRIDGE_SPOOL_MAX_BYTES (1 GiB)
	MaxAge       time.Duration // records older than this by Received are not replayed, BRIDGE_SPOOL_MAX_AGE (24h; negative: no bound)
	SegmentBytes int64         // segment file size (16 MiB, at most MaxBytes/4)
	Sync         SyncPolicy    // fsync policy (every 100ms); see the package documentation
	// OnExpired is told about each record dropped for age, from the goroutine that found it
	// (Next's caller or the background flusher), never under the spool's lock.
	OnExpired  func(ev event.Event)
	Logger     *slog.Logger          // slog.Default()
	Registerer prometheus.Registerer // nil: metrics not registered
}

func (c *Config) defaults() error {
	if c.Dir == "" {
		return errors.New("spool: no directory")
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.Sync.Interval == 0 {
		c.Sync.Interval = DefaultSyncInterval
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxBytes < MinMaxBytes || c.SegmentBytes < minSegmentBytes || c.Sync.Interval < 0 ||
		c.Sync.Mode < SyncInterval || c.Sync.Mode > SyncNone {
		return fmt.Errorf("spool: invalid config (max_bytes %d, segment_bytes %d, sync %v)",
			c.MaxBytes, c.SegmentBytes, c.Sync)
	}
	c.SegmentBytes = min(c.SegmentBytes, c.MaxBytes/4)
	return nil
}

// Recovery is what Open found on disk.
type Recovery struct {
	Segments       int      // segment files kept
	Events         int      // records to replay (not committed before)
	TruncatedBytes int64    // torn or garbled bytes cut from the end of the last segment
	Quarantined    []string // files renamed to *.corrupt
	// CursorLost: the commit point was unreadable (the cursor is quarantined); every record
	// on disk is replayed, those delivered before included (duplicates, never losses).
	CursorLost bool
}

// Spool is a durable FIFO of events on local disk. It is safe for concurrent use.
type Spool struct {
	cfg  Config
	m    *metrics
	cur  *cursor
	lock *os.File // {Dir}/LOCK, held while open

	mu       sync.Mutex
	segs     []*segment // in sequence order; the last is the tail when w != nil
	w        *os.File   // tail writer; nil: the next Append starts a segment
	nextSeq  uint64     // sequence number of the next append
	bytes    int64      // on disk, all segments
	unread   uint64     // records not yet handed out
	unacked  int        // records handed out, not yet acknowledged
	pending  []pend     // handed-out records from the oldest unacknowledged one, ascending seq
	phead    int        // pending[phead:] is live
	rd       reader
	hot      hot  // the last appends, for a consumer that keeps up
	dirty    bool // tail written since the last fsync
	dirDirty bool // a segment was created since the last directory fsync
	curDirty bool // the cursor was written since its last fsync
	appended bool // an append happened since the flusher's last tick
	wake     chan struct{}
	waiters  int
	closed   bool
	buf      []byte
	recovery Recovery
	quar     []qfile // quarantined files, oldest first
	qbytes   int64   // their bytes
	refusals refusals

	stop chan struct{}
	done chan struct{}
}

type pend struct {
	seq   uint64
	acked bool
}

// Open opens the spool in cfg.Dir, creating the directory if needed, and recovers what a
// previous run left there (see the package documentation). Damage on disk is repaired and
// reported, not fatal; only I/O errors fail Open.
func Open(cfg Config) (*Spool, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s := &Spool{cfg: cfg, lock: lock, wake: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.open(); err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	go s.flusher()
	return s, nil
}

// open registers the metrics, reads the cursor and recovers the segments.
func (s *Spool) open() error {
	m, err := newMetrics(s.cfg.Registerer)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.m = m
	if s.cur, s.recovery.CursorLost, err = openCursor(s.cfg.Dir); err != nil {
		m.unregister()
		return err
	}
	if err := s.recover(); err != nil {
		s.cur.f.Close()
		m.unregister()
		return err
	}
	return nil
}

// Recovered reports what Open found on disk.
func (s *Spool) Recovered() Recovery {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recovery
	r.Quarantined = append([]string(nil), r.Quarantined...)
	return r
}

// Len is the number of records in the spool: not yet handed out, or handed out and not
// yet acknowledged.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lenLocked()
}

func (s *Spool) lenLocked() int { return int(s.unread) + s.unacked }

// Backlog is the number of records not yet handed out by Next: zero means a live event
// may bypass the spool without overtaking a spooled one.
func (s *Spool) Backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.unread)
}

// Bytes is the size of the spool on disk (segments; the 48-byte cursor file aside).
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Close stops the background flusher, syncs the tail and the commit point, and closes the
// files. A blocked Next returns ErrClosed. Records not acknowledged stay for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.wake)
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.w != nil {
		errs = append(errs, s.w.Sync(), s.w.Close())
		s.w = nil
	}
	s.rd.close()
	errs = append(errs, s.cur.write(s.lowWater()), s.cur.f.Sync(), s.cur.f.Close(), syncDir(s.cfg.Dir))
	s.m.unregister()
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close: %w", err)
	}
	return nil
}

// updateGauges refreshes the size gauges; s.mu is held.
func (s *Spool) updateGauges() {
	s.m.bytes.Set(float64(s.bytes))
	s.m.events.Set(float64(s.lenLocked()))
}
