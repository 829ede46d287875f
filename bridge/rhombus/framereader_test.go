package rhombus

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/go-stomp/stomp/v3/frame"
)

// FuzzFrameReader: frameReader reads every byte stream exactly as go-stomp's
// frame.Reader does: the same frames (command, headers, body) and an error at the same
// frame.
func FuzzFrameReader(f *testing.F) {
	for _, s := range []string{
		"MESSAGE\ndestination:/topic/change/org\nmessage-id:1\nsubscription:0\ncontent-length:2\n\n{}\x00",
		"MESSAGE\r\nx\\cy:a\\nb\\\\c\\r\r\n\r\n{\"a\":1}\x00\n\n",
		"\n\nRECEIPT\nreceipt-id:sub-0\n\n\x00CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00",
		"ERROR\nmessage:bad\ncontent-length:3\n\nabcX", "MESSAGE\ncontent-length:x\n\n\x00",
		"BOGUS\n\n\x00", "MESSAGE\n:novalue\n\n\x00", "MESSAGE\nk\n\n\x00", "MESSAGE\nk:" + strings.Repeat("v", 5000) + "\n\n\x00",
		"MESSAGE\ncontent-length:10\n\nshort", "MESSAGE\nk:\\t\n\nbody", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, got := frame.NewReader(bytes.NewReader(in)), newFrameReader(bytes.NewReader(in))
		for i := 0; ; i++ {
			wf, werr := want.Read()
			gf, gerr := got.Read()
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Fatalf("frame %d: go-stomp error %v, frameReader error %v", i, werr, gerr)
			}
			if werr != nil {
				return
			}
			if !sameFrame(wf, gf) {
				t.Fatalf("frame %d: go-stomp %+v, frameReader %+v", i, wf, gf)
			}
		}
	})
}

func sameFrame(a, b *frame.Frame) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Command == b.Command && reflect.DeepEqual(headerList(a), headerList(b)) && bytes.Equal(a.Body, b.Body)
}

func headerList(f *frame.Frame) []string {
	var out []string
	for i := range f.Header.Len() {
		k, v := f.Header.GetAt(i)
		out = append(out, k, v)
	}
	return out
}

// TestFrameReaderAllocations: a MESSAGE frame of Rhombus's shape costs the frame, its
// header, the header values and the body, not an unescaping per header.
func TestFrameReaderAllocations(t *testing.T) {
	msg := []byte("MESSAGE\ndestination:/topic/change/org\nmessage-id:m-1\nsubscription:0\ncontent-type:application/json\ncontent-length:2\n\n{}\x00")
	in := bytes.Repeat(msg, 200)
	r := newFrameReader(bytes.NewReader(in))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.Read(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 8 {
		t.Fatalf("%.0f allocations per MESSAGE frame, want at most 8", allocs)
	}
}
