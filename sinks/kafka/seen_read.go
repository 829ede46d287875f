package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// span is the offsets [from, to) of one partition to read.
type span struct {
	p        int
	from, to int64
}

// ranges returns, per partition, the offsets from the first record stamped at or after
// at to the partition's end now.
func (s *Sink) ranges(ctx context.Context, at time.Time) ([]span, error) {
	n, err := s.partitions(ctx)
	if err != nil {
		return nil, err
	}
	byTime, byEnd := make([]kafkago.OffsetRequest, n), make([]kafkago.OffsetRequest, n)
	for p := range n {
		byTime[p], byEnd[p] = kafkago.TimeOffsetOf(p, at), kafkago.LastOffsetOf(p)
	}
	starts, err := s.listOffsets(ctx, byTime)
	if err != nil {
		return nil, err
	}
	ends, err := s.listOffsets(ctx, byEnd)
	if err != nil {
		return nil, err
	}
	out := make([]span, 0, n)
	for p := range n {
		end := ends[p].LastOffset
		from := end // no record stamped at or after at: nothing to read
		for off := range starts[p].Offsets {
			if off >= 0 && off < from {
				from = off
			}
		}
		if from < end {
			out = append(out, span{p: p, from: from, to: end})
		}
	}
	return out, nil
}

func (s *Sink) listOffsets(ctx context.Context, reqs []kafkago.OffsetRequest) (map[int]kafkago.PartitionOffsets, error) {
	res, err := s.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{s.cfg.Topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	out := make(map[int]kafkago.PartitionOffsets, len(reqs))
	for _, po := range res.Topics[s.cfg.Topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("list offsets: partition %d: %w", po.Partition, po.Error)
		}
		out[po.Partition] = po
	}
	if len(out) != len(reqs) {
		return nil, fmt.Errorf("list offsets: %d of %d partitions answered", len(out), len(reqs))
	}
	return out, nil
}

// capRanges keeps at most max records in all, the newest of each partition in
// proportion to its share; it reports whether it cut anything.
func capRanges(spans []span, max int) bool {
	var total int64
	for _, sp := range spans {
		total += sp.to - sp.from
	}
	if total <= int64(max) {
		return false
	}
	for i := range spans {
		keep := (spans[i].to - spans[i].from) * int64(max) / total
		spans[i].from = spans[i].to - keep
	}
	return true
}

// readIDs reads the ce_id of every record in spans, the partitions in parallel. On an
// error it returns what was read so far with the first error.
func (s *Sink) readIDs(ctx context.Context, spans []span) ([]string, int, error) {
	var (
		mu   sync.Mutex
		ids  []string
		errs []error
		wg   sync.WaitGroup
	)
	for _, sp := range spans {
		wg.Go(func() {
			got, err := s.readSpan(ctx, sp)
			mu.Lock()
			defer mu.Unlock()
			ids = append(ids, got...)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return ids, len(ids), errs[0]
	}
	return ids, len(ids), nil
}

// readSpan returns the ce_id of every record of one span (records without one count as
// read but give no id).
func (s *Sink) readSpan(ctx context.Context, sp span) ([]string, error) {
	var ids []string
	for off := sp.from; off < sp.to; {
		fr, err := s.client.Fetch(ctx, &kafkago.FetchRequest{Topic: s.cfg.Topic, Partition: sp.p, Offset: off,
			MaxBytes: 1 << 20, MaxWait: 10 * time.Millisecond})
		if err == nil {
			err = fr.Error
		}
		if err != nil {
			return ids, fmt.Errorf("fetch %d@%d: %w", sp.p, off, err)
		}
		next, err := collectIDs(fr.Records, off, sp.to, &ids)
		if err != nil || next == off {
			return ids, err
		}
		off = next
	}
	return ids, nil
}

// collectIDs appends the ce_id of the records in [from, to) and returns the offset after
// the last one read.
func collectIDs(rr kafkago.RecordReader, from, to int64, ids *[]string) (int64, error) {
	next := from
	if rr == nil {
		return next, nil
	}
	for {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			return next, nil
		}
		if err != nil {
			return next, fmt.Errorf("read records: %w", err)
		}
		if r.Offset < from {
			continue
		}
		if r.Offset >= to {
			return to, nil
		}
		next = r.Offset + 1
		id := ""
		for _, h := range r.Headers {
			if h.Key == HeaderCEID {
				id = string(h.Value)
			}
		}
		*ids = append(*ids, id)
	}
}
