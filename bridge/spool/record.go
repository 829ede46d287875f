package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Record framing: length (uint32 LE) | crc (uint32 LE, CRC-32C of the length bytes and the
// payload) | payload.
const (
	frameHeader   = 8
	recordVersion = 1
	// MaxRecordBytes bounds one record's payload; Append refuses bigger events and the
	// reader treats a bigger length as damage.
	MaxRecordBytes = 16 << 20
)

const (
	flagInvalid  = 1 << 0
	flagReceived = 1 << 1
	knownFlags   = flagInvalid | flagReceived
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Damage found while reading records.
var (
	errTorn    = errors.New("spool: torn record")
	errCorrupt = errors.New("spool: corrupt record")
)

// appendFrame appends the framed record of ev to dst.
func appendFrame(dst []byte, ev *event.Event) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = appendPayload(dst, ev)
	payload := dst[start+frameHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	crc := crc32.Update(0, castagnoli, dst[start:start+4])
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Update(crc, castagnoli, payload))
	return dst
}

// appendPayload encodes every exported field of ev.
func appendPayload(b []byte, ev *event.Event) []byte {
	var flags byte
	if ev.Invalid {
		flags |= flagInvalid
	}
	if !ev.Received.IsZero() {
		flags |= flagReceived
	}
	b = append(b, recordVersion, flags)
	for _, s := range [...]string{ev.ID, ev.Org, ev.Entity, ev.Change, ev.EntityUUID, ev.DeviceUUID,
		string(ev.Via), ev.Reason} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, ev.TimestampMs)
	if flags&flagReceived != 0 {
		b = binary.AppendVarint(b, ev.Received.UnixNano())
	}
	b = binary.AppendUvarint(b, ev.Fence)
	b = binary.AppendUvarint(b, uint64(len(ev.Body)))
	return append(b, ev.Body...)
}

// decodePayload is the inverse of appendPayload. It never panics: any malformed input is
// an error wrapping errCorrupt.
func decodePayload(p []byte) (event.Event, error) {
	var ev event.Event
	if len(p) < 2 || p[0] != recordVersion || p[1]&^knownFlags != 0 {
		return ev, fmt.Errorf("%w: bad version or flags", errCorrupt)
	}
	flags := p[1]
	d := decoder{s: string(p[2:])} // one copy; the strings below share it
	strs := [...]*string{&ev.ID, &ev.Org, &ev.Entity, &ev.Change, &ev.EntityUUID, &ev.DeviceUUID, nil, &ev.Reason}
	for _, dst := range strs {
		s := d.str()
		if dst != nil {
			*dst = s
		} else {
			ev.Via = event.Via(s)
		}
	}
	ev.TimestampMs = d.varint()
	if flags&flagReceived != 0 {
		ev.Received = time.Unix(0, d.varint())
	}
	ev.Fence = d.uvarint()
	ev.Invalid = flags&flagInvalid != 0
	if body := d.str(); body != "" {
		ev.Body = []byte(body)
	}
	if d.err != nil {
		return event.Event{}, d.err
	}
	if d.s != "" {
		return event.Event{}, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.s))
	}
	return ev, nil
}

// decoder reads varints and length-prefixed strings from s, remembering the first error.
type decoder struct {
	s   string
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			d.s = d.s[i+1:]
			return v
		}
	}
	d.err = fmt.Errorf("%w: bad varint", errCorrupt)
	return 0
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)) {
		d.err = fmt.Errorf("%w: string of %d bytes past the end", errCorrupt, n)
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

// readFrame reads one framed record from r into buf (grown as needed) and returns its
// payload, valid until the next call, and the frame's size on disk. At a clean end it
// returns io.EOF; a record cut short is errTorn, a bad length or checksum errCorrupt.
func readFrame(r *bufio.Reader, buf []byte) (payload, grown []byte, size int64, err error) {
	var hdr [frameHeader]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.EOF && n == 0 {
			return nil, buf, 0, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, buf, 0, fmt.Errorf("%w: %d header bytes", errTorn, n)
		}
		return nil, buf, 0, err
	}
	n := binary.LittleEndian.Uint32(hdr[:4])
	if n < 2 || n > MaxRecordBytes {
		return nil, buf, 0, fmt.Errorf("%w: length %d", errCorrupt, n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if got, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return nil, buf, 0, fmt.Errorf("%w: %d of %d payload bytes", errTorn, got, n)
		}
		return nil, buf, 0, err
	}
	crc := crc32.Update(0, castagnoli, hdr[:4])
	if crc32.Update(crc, castagnoli, payload) != binary.LittleEndian.Uint32(hdr[4:]) {
		return nil, buf, 0, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return payload, buf, frameHeader + int64(n), nil
}
