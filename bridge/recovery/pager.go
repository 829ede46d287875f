package recovery

import "github.com/rhombus-bridge/rhombus-bridge/bridge/event"

// pageOrder is the order in which getPolicyAlertsV2 returns a page.
type pageOrder int8

const (
	orderUnknown pageOrder = iota
	oldestFirst
	newestFirst
)

// pager pages through one window of getPolicyAlertsV2 by the contract's rules, which do
// not depend on one reading of the API: bounds are inclusive; a page may hold fewer
// alerts than asked although more remain; the order is read from each page; every next
// page narrows the window past what was seen (the bound on the page's far side, and its
// last record as the lastTimestampMs/lastUuid cursor); alerts are de-duplicated by uuid;
// the window is complete when a page adds nothing new. An empty answer to a cursor the
// server has not yet been seen to honour is asked once more without the cursor.
//
// Each page proves a stretch of the window complete (everything on the near side of its
// last record), so progress is kept page by page: the recovery publishes a page, then
// commits it, and a pager interrupted between pages resumes where it stopped.
type pager struct {
	win      span             // what is not proven complete yet
	dir      pageOrder        // the side narrowed so far (unknown: none yet)
	lastTs   int64            // cursor: the last record of the previous page (0: none)
	lastUUID string           //
	bare     bool             // the next page goes without the cursor
	seen     map[string]int64 // uuid → timestamp of the alerts seen inside win
}

func newPager(win span) *pager { return &pager{win: win, seen: map[string]int64{}} }

// pageQuery is one getPolicyAlertsV2 request: the bounds and the cursor (lastTs 0: none).
type pageQuery struct {
	after, before, lastTs int64
	lastUUID              string
}

// query is the next page's request.
func (p *pager) query() pageQuery {
	if p.bare {
		return pageQuery{after: p.win.lo, before: p.win.hi}
	}
	return pageQuery{p.win.lo, p.win.hi, p.lastTs, p.lastUUID}
}

// queryAfter is the request that follows the page planned as pl, once committed.
func (p *pager) queryAfter(pl pagePlan) pageQuery {
	if pl.retry {
		return pageQuery{after: p.win.lo, before: p.win.hi}
	}
	return pageQuery{pl.next.lo, pl.next.hi, pl.last.TimestampMs, pl.last.EntityUUID}
}

// pagePlan is what one page brings; commit applies it once its alerts were delivered.
type pagePlan struct {
	fresh    []event.Event // alerts inside the window not seen before, in page order
	done     span          // the stretch this page proves complete (may be empty)
	finished bool          // the whole window is complete
	retry    bool          // empty answer to an unproven cursor: ask again without it
	order    pageOrder     // the page's own order (unknown: one millisecond)
	dir      pageOrder     // the order the window was narrowed by (the page's, else learned)
	last     event.Event   // the page's last record inside the window
	next     span          // the window after this page
	honoured bool          // a cursor page brought only new alerts
}

// read plans the page recs (as the server returned them). learned is the order seen on
// earlier pages, cursorOK whether the server was seen to honour the cursor.
func (p *pager) read(recs []event.Event, learned pageOrder, cursorOK bool) pagePlan {
	in, fresh, dups := p.sift(recs)
	cursor := p.lastTs != 0 && !p.bare
	if len(fresh) == 0 {
		if cursor && len(in) == 0 && !cursorOK {
			return pagePlan{retry: true, done: span{1, 0}}
		}
		return pagePlan{finished: true, done: p.win}
	}
	pl := pagePlan{fresh: fresh, last: in[len(in)-1], next: p.win, done: span{1, 0}, honoured: cursor && dups == 0}
	first := in[0]
	switch {
	case first.TimestampMs < pl.last.TimestampMs:
		pl.order = oldestFirst
	case first.TimestampMs > pl.last.TimestampMs:
		pl.order = newestFirst
	}
	pl.dir = pl.order
	if pl.dir == orderUnknown {
		pl.dir = learned
	}
	switch pl.dir {
	case oldestFirst:
		pl.done, pl.next.lo = span{p.win.lo, pl.last.TimestampMs - 1}, pl.last.TimestampMs
	case newestFirst:
		pl.done, pl.next.hi = span{pl.last.TimestampMs + 1, p.win.hi}, pl.last.TimestampMs
	}
	return pl
}

// sift keeps the records inside the window (in) and, of those, the ones not seen before
// (fresh); dups counts the others.
func (p *pager) sift(recs []event.Event) (in, fresh []event.Event, dups int) {
	page := map[string]bool{}
	for _, ev := range recs {
		if ev.EntityUUID == "" || ev.TimestampMs < p.win.lo || ev.TimestampMs > p.win.hi {
			continue
		}
		in = append(in, ev)
		if _, ok := p.seen[ev.EntityUUID]; ok || page[ev.EntityUUID] {
			dups++
			continue
		}
		page[ev.EntityUUID] = true
		fresh = append(fresh, ev)
	}
	return in, fresh, dups
}

// commit moves the pager past a page whose fresh alerts were delivered.
func (p *pager) commit(pl pagePlan) {
	if pl.retry {
		p.bare = true
		return
	}
	p.bare = false
	if pl.finished {
		p.win = span{1, 0}
		return
	}
	for _, ev := range pl.fresh {
		p.seen[ev.EntityUUID] = ev.TimestampMs
	}
	if pl.dir != orderUnknown {
		p.dir = pl.dir
	}
	p.win, p.lastTs, p.lastUUID = pl.next, pl.last.TimestampMs, pl.last.EntityUUID
	for id, ts := range p.seen {
		if ts < p.win.lo || ts > p.win.hi {
			delete(p.seen, id) // outside the window now: never asked for again
		}
	}
}

// extend widens the window over to (the pending span holding it) on the side away from
// the cursor, or wholly before the first page, so that a window that grew while it was
// paged (another gap right after it) needs no pages of its own: the next page both
// finishes this window and starts on the new stretch.
func (p *pager) extend(to span) {
	switch p.dir {
	case orderUnknown:
		if p.lastTs == 0 {
			p.win = to
		}
	case oldestFirst:
		p.win.hi = max(p.win.hi, to.hi)
	case newestFirst:
		p.win.lo = min(p.win.lo, to.lo)
	}
}
