package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// The sink conformance suite over the fan-out (the pipeline delivering to NATS and Kafka):
// what it acknowledges is on both brokers, once, in per-key order; with Kafka down it
// acknowledges nothing, and it resumes when Kafka is back.
func TestFanOutConformance(t *testing.T) { sinktest.Run(t, fanOutHarness) }

func fanOutHarness(t *testing.T) sinktest.Harness {
	b := setup(t)
	f := b.fanOut(t)
	t.Cleanup(func() { _ = f.Close(context.Background()) })
	return sinktest.Harness{
		Sink:  f,
		Read:  b.readBoth,
		Stop:  func(*testing.T) { b.kafkaDown.Store(true) },
		Start: func(*testing.T) { b.kafkaDown.Store(false) },
		IsInvalid: func(r sinktest.Record) bool {
			return r.Where == "rhombus.v1."+sinktest.Org+".invalid"
		},
	}
}

// readBoth returns every record stored on either broker, as one: the NATS stream's
// records, and a placeholder per copy of an id only Kafka holds (an event a Close cut off
// before NATS had it). An id both hold must be held as often by each.
func (b *brokers) readBoth(ctx context.Context) ([]sinktest.Record, error) {
	recs, err := readNATS(ctx, b.natsURL)
	if err != nil {
		return nil, err
	}
	onNATS := make(map[string]int, len(recs))
	for _, r := range recs {
		onNATS[r.ID]++
	}
	onKafka, err := readKafka(ctx, b.kfk.ListenAddrs())
	if err != nil {
		return nil, err
	}
	for id, n := range onKafka {
		switch {
		case onNATS[id] == 0:
			for range n {
				recs = append(recs, sinktest.Record{ID: id, Where: "kafka only"})
			}
		case onNATS[id] != n:
			return nil, fmt.Errorf("id %s: %d copies on nats, %d on kafka", id, onNATS[id], n)
		}
	}
	return recs, nil
}

// readNATS returns every message of the RHOMBUS stream in sequence order.
func readNATS(ctx context.Context, url string) ([]sinktest.Record, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "RHOMBUS")
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	var recs []sinktest.Record
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return nil, err
		}
		h := make(map[string]string, len(m.Header))
		for k := range m.Header {
			h[k] = m.Header.Get(k)
		}
		key := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
		recs = append(recs, sinktest.Record{ID: h["Nats-Msg-Id"], Key: key, Where: m.Subject, Body: m.Data, Headers: h})
	}
	return recs, nil
}

// readKafka counts the ce_ids on every partition of the topic, up to the high watermarks.
func readKafka(ctx context.Context, addrs []string) (map[string]int, error) {
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	client := &kafkago.Client{Addr: kafkago.TCP(addrs...), Timeout: 5 * time.Second, Transport: tr}
	ids := make(map[string]int)
	for p := range 6 {
		for off := int64(0); ; {
			fr, err := client.Fetch(ctx, &kafkago.FetchRequest{Topic: topic, Partition: p, Offset: off, MaxBytes: 4 << 20})
			if err == nil {
				err = fr.Error
			}
			if err != nil {
				return nil, fmt.Errorf("fetch %d@%d: %w", p, off, err)
			}
			for {
				r, err := fr.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, err
				}
				if r.Offset < off {
					continue
				}
				for _, h := range r.Headers {
					if h.Key == "ce_id" {
						ids[string(h.Value)]++
					}
				}
				off = r.Offset + 1
			}
			if off >= fr.HighWatermark {
				break
			}
		}
	}
	return ids, nil
}
