package spool

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The cursor file holds the commit point in two slots written alternately; each slot is
// magic (4) | generation (8) | commit point (8) | CRC-32C of the previous 20 bytes (4).
const (
	cursorName = "cursor"
	slotLen    = 24
)

var cursorMagic = [4]byte{'r', 'b', 'c', 'p'}

type cursor struct {
	f   *os.File
	gen uint64
	at  uint64 // last commit point written
}

// openCursor opens (or creates) the cursor file of dir and returns it with the commit
// point it holds: 0 for a new file. A file that holds bytes but no readable slot is
// damaged: it is renamed to cursor.corrupt, a fresh one takes its place (commit point 0)
// and damaged is true.
func openCursor(dir string) (c *cursor, damaged bool, err error) {
	path := filepath.Join(dir, cursorName)
	c, damaged, err = readCursor(path)
	if err != nil || !damaged {
		return c, false, err
	}
	c.f.Close()
	if err := os.Rename(path, path+corruptSuffix); err != nil {
		return nil, true, fmt.Errorf("spool: quarantine damaged cursor: %w", err)
	}
	now := time.Now()
	_ = os.Chtimes(path+corruptSuffix, now, now) // the prune order of quarantined files
	c, _, err = readCursor(path)
	return c, true, err
}

// readCursor opens the cursor file at path and reads the newest valid slot; damaged when
// the file holds bytes but no valid slot.
func readCursor(path string) (*cursor, bool, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, false, fmt.Errorf("spool: open cursor: %w", err)
	}
	c := &cursor{f: f}
	var buf [2 * slotLen]byte
	n, err := f.ReadAt(buf[:], 0)
	if err != nil && err != io.EOF {
		f.Close()
		return nil, false, fmt.Errorf("spool: read cursor: %w", err)
	}
	valid := false
	for i := 0; i+slotLen <= n; i += slotLen {
		if gen, at, ok := decodeSlot(buf[i : i+slotLen]); ok && gen >= c.gen {
			c.gen, c.at, valid = gen, at, true
		}
	}
	return c, n > 0 && !valid, nil
}

func decodeSlot(b []byte) (gen, at uint64, ok bool) {
	if [4]byte(b[:4]) != cursorMagic || crc32.Checksum(b[:20], castagnoli) != binary.LittleEndian.Uint32(b[20:]) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[4:]), binary.LittleEndian.Uint64(b[12:]), true
}

// write stores the commit point at in the next slot (no fsync) if it changed.
func (c *cursor) write(at uint64) error {
	if at == c.at {
		return nil
	}
	c.gen++
	var b [slotLen]byte
	copy(b[:4], cursorMagic[:])
	binary.LittleEndian.PutUint64(b[4:], c.gen)
	binary.LittleEndian.PutUint64(b[12:], at)
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	if _, err := c.f.WriteAt(b[:], int64(c.gen%2)*slotLen); err != nil {
		return fmt.Errorf("spool: write cursor: %w", err)
	}
	c.at = at
	return nil
}
