package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// errVerifyLimit is returned when a read-back would read more than VerifyMaxBytes.
var errVerifyLimit = errors.New("read-back limit reached")

// clockSlack widens the read-back for brokers that stamp records with their own clock
// (LogAppendTime) a little behind ours.
const clockSlack = 30 * time.Second

// stored reports whether a record with ev's id is in its partition, reading from the
// first record stamped at or after t0 (every attempt of ev carries t0 as its timestamp,
// so the earliest such offset is at or before any copy of it) to the end.
func (s *Sink) stored(ctx context.Context, ev *event.Event, t0 time.Time) (bool, error) {
	n, err := s.partitions(ctx)
	if err != nil {
		return false, err
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	p := (&kafkago.Murmur2Balancer{}).Balance(kafkago.Message{Key: []byte(ev.Key())}, all...)
	lo, err := s.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{
		s.cfg.Topic: {kafkago.TimeOffsetOf(p, t0.Add(-clockSlack))}}})
	if err != nil {
		return false, err
	}
	po := lo.Topics[s.cfg.Topic]
	if len(po) != 1 {
		return false, fmt.Errorf("list offsets: no answer for partition %d", p)
	}
	if po[0].Error != nil {
		return false, fmt.Errorf("list offsets: %w", po[0].Error)
	}
	start := int64(-1)
	for off := range po[0].Offsets {
		if off >= 0 && (start < 0 || off < start) {
			start = off
		}
	}
	if start < 0 {
		return false, nil // nothing stamped at or after t0
	}
	return s.scan(ctx, p, start, ev.ID)
}

// scan reads partition p from offset start to its high watermark looking for id.
func (s *Sink) scan(ctx context.Context, p int, start int64, id string) (bool, error) {
	var read int64
	for off := start; ; {
		fr, err := s.client.Fetch(ctx, &kafkago.FetchRequest{Topic: s.cfg.Topic, Partition: p, Offset: off,
			MaxBytes: 1 << 20, MaxWait: 10 * time.Millisecond})
		if err == nil {
			err = fr.Error
		}
		if err != nil {
			return false, fmt.Errorf("fetch %d@%d: %w", p, off, err)
		}
		next, found, n, err := readRecords(fr.Records, off, id)
		read += n
		if found || err != nil {
			return found, err
		}
		if next >= fr.HighWatermark || next == off {
			return false, nil
		}
		if read > s.cfg.VerifyMaxBytes {
			return false, fmt.Errorf("%w (%d bytes from offset %d)", errVerifyLimit, read, start)
		}
		off = next
	}
}

// readRecords looks for a record with header ce_id = id at or after offset from. It
// returns the offset after the last record read and the bytes read.
func readRecords(rr kafkago.RecordReader, from int64, id string) (next int64, found bool, n int64, err error) {
	next = from
	if rr == nil {
		return next, false, 0, nil
	}
	for {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return next, false, n, nil
		}
		if err != nil {
			return next, false, n, fmt.Errorf("read records: %w", err)
		}
		if r.Value != nil {
			n += int64(r.Value.Len())
		}
		if r.Offset < from {
			continue
		}
		next = r.Offset + 1
		for _, h := range r.Headers {
			if h.Key == HeaderCEID && string(h.Value) == id {
				return next, true, n, nil
			}
		}
	}
}
