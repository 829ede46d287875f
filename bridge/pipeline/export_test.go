package pipeline

// BeginN and Done expose the watermark's bookkeeping to tests.
func BeginN(w *Watermark, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = w.begin()
	}
	return out
}

// Done acknowledges seq with timestamp ts.
func Done(w *Watermark, seq uint64, ts int64) { w.done(seq, ts) }

// LaneDepth exposes laneDepth to tests.
const LaneDepth = laneDepth
