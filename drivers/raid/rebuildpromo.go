package raid

// Promotion of spares overlapped with the start of a rebuild.

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// beginRebuildOverlapped is beginRebuild with the promotions' I/O (zeroed
// checksum region, used map, superblocks: a few flushes of every member)
// left running while the rebuild starts; runRebuildWith waits for it
// before any checksum, checkpoint or end (promotion).
func (a *Array) beginRebuildOverlapped(cancel func()) (*jobState, *promotion, error) {
	var pr *promotion
	j, err := a.beginJob("rebuild", cancel, func() error {
		pr = a.startPromotion()
		return nil
	})
	if err != nil && pr != nil {
		err = errors.Join(err, pr.wait(a)) // nothing to rebuild: still see it through
	}
	return j, pr, err
}

// promotion is spares' promotion I/O running while a rebuild starts:
// until it is done, checksums of rebuilt chunks are held back (the
// promotion zeroes the new member's checksum region) and no checkpoint is
// written. A nil promotion is done.
type promotion struct {
	done chan struct{}
	err  error
	mu   sync.Mutex // guards held and over
	held []heldCRC
	over bool // held applied; checksums go straight to the table
}

type heldCRC struct {
	r int
	s int64
	v uint32
}

// startPromotion promotes spares into missing or faulty roles in the
// background and returns once each promotion that will happen has taken
// its role in memory (the first thing promoteSpare does), or all are over.
func (a *Array) startPromotion() *promotion {
	var expect []int
	for r := range a.geo.disks {
		if a.readySpare(r) {
			expect = append(expect, r)
		}
	}
	pr := &promotion{done: make(chan struct{})}
	if len(expect) == 0 {
		pr.over = true
		close(pr.done)
		return pr
	}
	mt := a.mt  // made by beginJob, which holds its lock (maint would wait on it)
	go func() { // the reader paces itself only once this is done (settle)
		pr.err = mt.asOwn(a.promoteSpares)
		close(pr.done)
	}()
	for {
		targets := a.rebuildTargets()
		if !slices.ContainsFunc(expect, func(r int) bool { return !slices.Contains(targets, r) }) {
			return pr
		}
		select {
		case <-pr.done:
			return pr
		case <-time.After(20 * time.Microsecond):
		}
	}
}

// wait waits for the promotion, records the checksums held back, and
// returns the promotion's error.
func (pr *promotion) wait(a *Array) error {
	if pr == nil {
		return nil
	}
	<-pr.done
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if !pr.over {
		pr.over = true
		for _, c := range pr.held {
			a.setChunkCRC(c.r, c.s, c.v)
		}
		pr.held = nil
	}
	return pr.err
}

// setCRC returns how a rebuilt chunk's checksum is recorded meanwhile.
func (pr *promotion) setCRC(a *Array) func(r int, s int64, v uint32) {
	if pr == nil {
		return a.setChunkCRC
	}
	return func(r int, s int64, v uint32) {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		if pr.over {
			a.setChunkCRC(r, s, v)
			return
		}
		pr.held = append(pr.held, heldCRC{r, s, v})
	}
}
