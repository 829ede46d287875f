package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Segment files.
const (
	segSuffix     = ".seg"
	corruptSuffix = ".corrupt"
	tmpSuffix     = ".tmp"
	segHeaderLen  = 8
)

var segMagic = [segHeaderLen]byte{'r', 'b', 's', 'p', 'o', 'o', 'l', 1}

// segment is one file of records with consecutive sequence numbers first..first+count-1.
type segment struct {
	first uint64
	count uint64
	size  int64 // bytes on disk, header included
	path  string
}

func (g *segment) end() uint64 { return g.first + g.count }

func segName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// dirList is what a spool directory holds.
type dirList struct {
	segs        []*segment // in sequence order
	quarantined []qfile    // *.corrupt files, oldest first
	removedTmp  []string   // leftover temporary files, removed
}

// listDir lists the segment and quarantined files of dir and removes leftover temporary
// files (of a quarantine rewrite cut short).
func listDir(dir string) (dirList, error) {
	var l dirList
	entries, err := os.ReadDir(dir)
	if err != nil {
		return l, fmt.Errorf("spool: list %s: %w", dir, err)
	}
	for _, e := range entries {
		name, path := e.Name(), filepath.Join(dir, e.Name())
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			if os.Remove(path) == nil {
				l.removedTmp = append(l.removedTmp, path)
			}
		case !e.Type().IsRegular():
		case strings.HasSuffix(name, corruptSuffix):
			if info, err := e.Info(); err == nil {
				l.quarantined = append(l.quarantined, qfile{path: path, size: info.Size(), mod: info.ModTime()})
			}
		case strings.HasSuffix(name, segSuffix):
			first, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
			if err == nil { // else not ours
				l.segs = append(l.segs, &segment{first: first, path: path})
			}
		}
	}
	sort.Slice(l.segs, func(i, j int) bool { return l.segs[i].first < l.segs[j].first })
	sortQuarantined(l.quarantined)
	return l, nil
}

// scanResult is what scanning a segment found.
type scanResult struct {
	count   uint64 // complete records
	good    int64  // bytes up to the end of the last complete record
	size    int64  // bytes in the file
	badHead bool   // the header is missing or wrong
	damage  error  // why the scan stopped before size, nil when it reached the end
}

// scanSegment reads every record of the file at path, checking frames and payloads.
func scanSegment(path string) (scanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return scanResult{}, fmt.Errorf("spool: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return scanResult{}, fmt.Errorf("spool: stat %s: %w", path, err)
	}
	res := scanResult{size: st.Size()}
	r := bufio.NewReaderSize(f, 64<<10)
	var hdr [segHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr != segMagic {
		res.badHead = true
		res.damage = errors.New("missing or wrong segment header")
		return res, nil
	}
	res.good = segHeaderLen
	var buf []byte
	for {
		var payload []byte
		var n int64
		payload, buf, n, err = readFrame(r, buf)
		if err == io.EOF {
			return res, nil
		}
		if err == nil {
			_, err = decodePayload(payload)
		}
		if err != nil {
			if !errors.Is(err, errTorn) && !errors.Is(err, errCorrupt) {
				return res, fmt.Errorf("spool: read %s: %w", path, err)
			}
			res.damage = err
			return res, nil
		}
		res.count++
		res.good += n
	}
}

// createSegment makes a new segment file named after first, header written, open for
// appending.
func createSegment(dir string, first uint64) (*os.File, *segment, error) {
	path := filepath.Join(dir, segName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("spool: create segment: %w", err)
	}
	if _, err := f.Write(segMagic[:]); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, nil, fmt.Errorf("spool: create segment: %w", err)
	}
	return f, &segment{first: first, size: segHeaderLen, path: path}, nil
}

// copyPrefix writes the first n bytes of src to a new file dst via a temporary file, synced.
func copyPrefix(src, dst string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + tmpSuffix
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	_, err = io.CopyN(out, in, n)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// syncDir fsyncs a directory so that file creations and renames in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
