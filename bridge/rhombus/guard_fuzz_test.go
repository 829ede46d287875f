package rhombus

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/go-stomp/stomp/v3/frame"
)

// FuzzFrameGuard feeds arbitrary bytes to the guard in arbitrary chunks, as WSConn does,
// and checks it against go-stomp's frame.Reader: the guard never panics, refuses at the
// same byte however the stream is cut, and whatever it lets through go-stomp reads
// without an error into exactly the frames the guard saw, each within the limits, while
// allocating in proportion to the bytes it got (never to a declared length).
func FuzzFrameGuard(f *testing.F) {
	for _, s := range guardSeeds() {
		f.Add([]byte(s), uint64(len(s)))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		failAt, wantErr := byteWise(data)
		passed, err := chunked(data, seed)
		if (err == nil) != (wantErr == nil) || len(passed) > failAt || err != nil && len(passed)+maxChunk <= failAt {
			t.Fatalf("chunked: passed %d bytes, %v; byte by byte: refused at %d, %v", len(passed), err, failAt, wantErr)
		}
		if err != nil && !(errors.Is(err, ErrFrameTooLarge) == errors.Is(wantErr, ErrFrameTooLarge)) {
			t.Fatalf("chunked: %v; byte by byte: %v", err, wantErr)
		}
		if h := frameHead(err); err != nil && (len(h) > MaxOversizeHead || !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, ErrFrameInvalid)) {
			t.Fatalf("error %v with a head of %d bytes", err, len(h))
		}
		compareWithStomp(t, passed, guardItems(t, passed))
	})
}

const maxChunk = 64

// fuzzLimits are small so that short inputs reach every limit (and the fuzzing engine,
// which minimises each new input byte by byte, does not spend its time on long ones).
var fuzzLimits = guardLimits{frame: 256, line: 32, headers: 4, headerBytes: 128}

// byteWise runs the guard one byte at a time: where it refuses (len(data) if not) and why.
func byteWise(data []byte) (int, error) {
	g := frameGuard{lim: fuzzLimits}
	for i := range data {
		if err := g.check(data[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(data), nil
}

// chunked runs the guard on chunks of 1 to maxChunk bytes and returns the chunks it let
// through whole (WSConn hands on nothing of a refused chunk).
func chunked(data []byte, seed uint64) ([]byte, error) {
	g := frameGuard{lim: fuzzLimits}
	rnd := rand.New(rand.NewPCG(seed, seed>>32))
	for i := 0; i < len(data); {
		n := min(1+rnd.IntN(maxChunk), len(data)-i)
		if err := g.check(data[i : i+n]); err != nil {
			return data[:i], err
		}
		i += n
	}
	return data, nil
}

// item is a heart-beat or a whole frame as the guard saw it.
type item struct {
	heartbeat     bool
	headers, body int
}

// guardItems lists the heart-beats and frames the guard completed in data.
func guardItems(t *testing.T, data []byte) []item {
	g := frameGuard{lim: fuzzLimits}
	var items []item
	bodyAt, headers := 0, 0
	for i := range data {
		before := g.state
		if err := g.check(data[i : i+1]); err != nil {
			t.Fatalf("refused at %d on a second run: %v", i, err)
		}
		switch {
		case before == guardHeaders && g.state != guardHeaders:
			bodyAt, headers = i+1, g.headers
		case g.state == guardIdle && (before == guardIdle || before == guardCommand):
			items = append(items, item{heartbeat: true})
		case g.state == guardIdle:
			items = append(items, item{headers: headers, body: i - bodyAt})
		}
	}
	return items
}

// compareWithStomp reads data with go-stomp and checks its frames against the guard's,
// and what go-stomp allocates: generous per input byte (a frame, its header slice, line
// copies), far below any declared length the guard failed to check. The allocation
// counter is process-wide, so an excess must show twice (the fuzzing engine allocates too).
func compareWithStomp(t *testing.T, data []byte, want []item) {
	bound := uint64(1<<20 + 256*len(data))
	got, alloc := stompItems(t, data)
	if alloc > bound {
		if _, alloc2 := stompItems(t, data); alloc2 > bound {
			t.Fatalf("go-stomp allocated %d, then %d bytes reading %d", alloc, alloc2, len(data))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("go-stomp read %d items, the guard saw %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("item %d: go-stomp %+v, guard %+v", i, got[i], want[i])
		}
	}
}

// stompItems reads data with go-stomp: the heart-beats and frames, and the bytes allocated.
func stompItems(t *testing.T, data []byte) ([]item, uint64) {
	r := frame.NewReader(bytes.NewReader(data))
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	var got []item
	for {
		f, err := r.Read()
		switch {
		case err == io.EOF:
			metrics.Read(sample)
			return got, sample[0].Value.Uint64() - before
		case err != nil:
			t.Fatalf("go-stomp refuses what the guard let through after %d items: %v", len(got), err)
		case f == nil:
			got = append(got, item{heartbeat: true})
		case len(f.Body) > int(fuzzLimits.frame) || f.Header.Len() > fuzzLimits.headers:
			t.Fatalf("go-stomp read a frame of %d headers, %d body bytes: over the limits", f.Header.Len(), len(f.Body))
		default:
			got = append(got, item{headers: f.Header.Len(), body: len(f.Body)})
		}
	}
}

// guardSeeds are the seed corpus: valid streams, every refusal, the attacks of issue 11
// scaled to smallLimits, and the corners where go-stomp and a naive guard part ways.
func guardSeeds() []string {
	msg := "MESSAGE\ndestination:/x\nsubscription:0\ncontent-length:5\n\nab\x00cd\x00"
	return []string{
		msg, "\n\r\n" + msg + "\n" + msg, "MESSAGE\r\nsubscription:0\r\n\r\n{}\x00\r\n",
		"CONNECTED\nversion:1.2\nheart-beat:1000,1000\n\n\x00", "RECEIPT\nreceipt-id:1\n\n\x00",
		"ERROR\nmessage:bad\n\nsomething\x00",
		"MESSAGE\ncontent-length:" + strings.Repeat("0", 60) + "4000000000\n\n",
		"MESSAGE\ncontent-length:0000004000000000\n\n", // fits a 32-byte line
		"MESSAGE\ncontent-length:0000000005\n\nabcde\x00", "MESSAGE\ncontent-length:4294967296\n\n",
		"MESSAGE\ncontent-length:5\ncontent-length:4000000000\n\nabcde\x00",
		"MESSAGE\ncontent-length:4000000000\ncontent-length:5\n\nabcde\x00",
		"MESSAGE\ncontent-length:2\ncontent-length:5\n\nabcde\x00", "MESSAGE\ncontent-length:5\ncontent-length:2\n\nabcde\x00",
		"MESSAGE\ncontent-length:-1\n\n\x00", "MESSAGE\ncontent-length:+1\n\na\x00",
		"MESSAGE\ncontent-length: 1\n\na\x00", "MESSAGE\ncontent-length:1\r\r\n\na\x00",
		"MESSAGE\ncontent-length:\n\n\x00", "MESSAGE\ncontent\\clength:9\n\na\x00",
		"MESSAGE\ncontent-length:1\\c\n\na\x00", "MESSAGE\ncontent-length:0\n\n\x00",
		"MESSAGE\ncontent-length:2\n\nabc\x00",
		"MESSAGE\n" + strings.Repeat("a:\n", 6), "MESSAGE\nh:" + strings.Repeat("v", 40),
		"MESSAGE\n" + strings.Repeat("h:"+strings.Repeat("v", 28)+"\n", 4),
		"MESSAGE\n\n" + strings.Repeat("x", 260), "MESSAGE\n\n" + strings.Repeat("x", 246) + "\x00",
		"MESSAGE\ncontent-length:227\n\n" + strings.Repeat("x", 227) + "\x00", // exactly 256 bytes
		"MESSAGE\ncontent-length:228\n\n" + strings.Repeat("x", 228) + "\x00",
		strings.Repeat("\r", 40), "\r\r\nMESSAGE\n\n\x00", "HELLO\n\n\x00", "MESSAGE\n:v\n\n\x00",
		"MESSAGE\nnocolon\n\n\x00", "\x00\n", "MESSAGE\n\n\x00\x00\n\x00",
	}
}
