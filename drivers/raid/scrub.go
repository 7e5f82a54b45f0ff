package raid

// Scrub: reading every stripe in use and checking it.
//
// Each stripe is checked by checkStripe (repair.go), the routine Repair
// uses too: every chunk is read whole under the stripe's lock and checked
// against its recorded CRC-32C (postvault's per-chunk checksums, kept where
// md does not read), and the parity is recomputed from the data and
// compared. A mismatch is pinned on a member this way:
//
//   - RAID-6 with every member present: P and Q locate a single bad chunk
//     (codec.locate, md's raid6check method), data or parity;
//   - otherwise, and when P and Q cannot: the chunks whose checksum fails;
//   - a chunk its member cannot read, or whose bad-block log lists part of
//     it, is bad too (md rewrites those).
//
// With Repair the bad chunks are reconstructed from the others and
// rewritten, and their checksums recorded. A mismatch no checksum explains
// (an array made by md has none) is reported as unlocated; Repair then
// rewrites parity from the data, as md's "repair" does.
//
// Scrub position is checkpointed in each member's checkpoint area
// (metaLayout.Ckpt*), so a scrub that is stopped resumes where it was. The
// record, little-endian:
//
//	0   8  magic "PVSCRUB1"
//	8  16  array UUID
//	24  8  next row to scrub
//	32  8  rows in the array
//	40  8  start time, Unix nanoseconds
//	48  4  flags: 1 repair, 2 finished
//	52  4  mismatches found so far
//	56  4  CRC-32C (Castagnoli) of bytes 0..55

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// Mismatch is one bad chunk (or one unlocated parity mismatch) found by a
// scrub.
type Mismatch struct {
	Stripe int64
	Role   int    // -1 when not located
	Device string // the member's device
	Member Range  // bytes on the member
	Volume Range  // volume bytes the chunk holds (a parity chunk: its stripe's)
	Kind   string // "data", "P" or "Q" (empty when not located)
	// Cause is how it was found: "parity" (located by P and Q), "checksum",
	// "read error", "bad block" (listed in the member's bad-block log) or
	// "unlocated" (parity disagrees, nothing says where).
	Cause    string
	Repaired bool
}

func (m Mismatch) String() string {
	s := fmt.Sprintf("stripe %d: ", m.Stripe)
	if m.Role >= 0 {
		s += fmt.Sprintf("%s chunk on role %d (%s), member bytes [%d, %d), ", m.Kind, m.Role, m.Device, m.Member.Off, m.Member.Off+m.Member.Len)
	}
	s += fmt.Sprintf("volume [%d, %d): %s", m.Volume.Off, m.Volume.Off+m.Volume.Len, m.Cause)
	if m.Repaired {
		s += ", repaired"
	}
	return s
}

// ScrubOptions tune Scrub. The zero value checks without repairing, at the
// default rates.
type ScrubOptions struct {
	Repair bool // rewrite bad chunks (and unlocated parity)
	// Restart ignores a saved position and starts at row 0.
	Restart bool
	// MinRate, MaxRate, Idle, CheckpointEvery and Progress are as in
	// RebuildOptions; rates count stripe bytes read.
	MinRate, MaxRate int64
	Idle             time.Duration
	CheckpointEvery  time.Duration
	Progress         func(Progress)
}

// Scrub checks (and with Repair fixes) every stripe in use, in the calling
// goroutine, resuming a stopped scrub unless Restart. It returns the
// progress at the end, mismatches included; when ctx ends it checkpoints
// and returns ctx's error.
func (a *Array) Scrub(ctx context.Context, opts *ScrubOptions) (Progress, error) {
	if opts == nil {
		opts = &ScrubOptions{}
	}
	j, err := a.beginScrub(nil)
	if err != nil {
		return Progress{}, err
	}
	err = a.runScrub(ctx, j, *opts)
	return j.progress(), err
}

// StartScrub starts Scrub in the background; ScrubProgress follows it and
// ctx's end stops it at a checkpoint.
func (a *Array) StartScrub(ctx context.Context, opts *ScrubOptions) error {
	if opts == nil {
		opts = &ScrubOptions{}
	}
	ctx, cancel := context.WithCancel(ctx)
	j, err := a.beginScrub(cancel)
	if err != nil {
		cancel()
		return err
	}
	o := *opts
	go func() {
		defer cancel()
		a.runScrub(ctx, j, o)
	}()
	return nil
}

// ScrubProgress returns the progress of the running or last scrub of this
// assembly; ok is false if there was none.
func (a *Array) ScrubProgress() (Progress, bool) {
	mt := a.maint()
	mt.mu.Lock()
	j := mt.scrub
	mt.mu.Unlock()
	if j == nil {
		return Progress{}, false
	}
	return j.progress(), true
}

func (a *Array) beginScrub(cancel func()) (*jobState, error) {
	if a.closed.Load() {
		return nil, errClosed
	}
	mt := a.maint()
	mt.mu.Lock()
	defer mt.mu.Unlock()
	for _, j := range []*jobState{mt.rebuild, mt.scrub} {
		if j != nil && j.progress().Running {
			return nil, ErrBusy
		}
	}
	j := &jobState{cancel: cancel, done: make(chan struct{})}
	j.p = Progress{Job: "scrub", Running: true, Started: time.Now(), Rows: a.geo.stripes}
	mt.scrub = j
	return j, nil
}

func (a *Array) runScrub(ctx context.Context, j *jobState, opts ScrubOptions) (err error) {
	ro := (&RebuildOptions{MinRate: opts.MinRate, MaxRate: opts.MaxRate, Idle: opts.Idle,
		CheckpointEvery: opts.CheckpointEvery}).withDefaults()
	g := a.geo
	defer func() { j.finish(err, opts.Progress) }()
	if opts.Repair && a.readOnly {
		return ErrReadOnly
	}
	start := int64(0)
	if ck, ok := a.readScrubCheckpoint(); ok && !opts.Restart && ck.flags&scrubFinished == 0 && ck.rows == g.stripes {
		start = ck.row
	}
	var total int64
	for s := start; s < g.stripes; s++ {
		if a.stripeUsed(s) {
			total += g.stripeSize()
		}
	}
	j.update(func(p *Progress) { p.Row, p.Total = start, total })
	th := newThrottle(a.maint(), ro.MinRate, ro.MaxRate, ro.Idle)
	sc := newStripeScratch(g)
	lastCk, lastCb := time.Now(), time.Time{}
	started := j.progress().Started
	ckpt := func(row int64, flags uint32) {
		n := len(j.progress().Mismatches)
		a.maint().asOwn(func() error {
			a.writeScrubCheckpoint(scrubCkpt{row: row, rows: g.stripes, started: started, flags: flags, found: uint32(n)}, opts.Repair)
			return nil
		})
	}
	for s := start; s < g.stripes; s++ {
		if ctx.Err() != nil {
			ckpt(s, 0)
			return ctx.Err()
		}
		if !a.stripeUsed(s) {
			continue
		}
		found, err := a.scrubStripe(s, opts.Repair, sc)
		if err != nil {
			ckpt(s, 0)
			return err
		}
		j.update(func(p *Progress) {
			p.Row, p.Done = s+1, p.Done+g.stripeSize()
			p.Mismatches = append(p.Mismatches, found...)
		})
		if time.Since(lastCk) >= ro.CheckpointEvery {
			ckpt(s+1, 0)
			lastCk = time.Now()
		}
		if opts.Progress != nil && time.Since(lastCb) >= 200*time.Millisecond {
			opts.Progress(j.progress())
			lastCb = time.Now()
		}
		if !th.wait(ctx.Done(), g.stripeSize()) {
			ckpt(s+1, 0)
			return ctx.Err()
		}
	}
	j.update(func(p *Progress) { p.Row = g.stripes })
	ckpt(g.stripes, scrubFinished)
	if opts.Repair && !a.readOnly {
		return a.Flush()
	}
	return nil
}

// stripeUsed reports whether stripe s holds anything of value.
func (a *Array) stripeUsed(s int64) bool {
	ss := a.geo.stripeSize()
	return a.used == nil || a.used.used(s*ss, ss)
}

// scrubStripe checks stripe s and, with repair, rewrites what it found
// (checkStripe, repair.go; an unlocated mismatch rewrites parity).
func (a *Array) scrubStripe(s int64, repair bool, sc *stripeScratch) ([]Mismatch, error) {
	chk, err := a.checkStripe(s, checkOptions{repair: repair && !a.readOnly, parityFromData: true, background: true, sc: sc})
	return chk.Found, err
}

const (
	scrubMagic    = "PVSCRUB1"
	scrubRecLen   = 60
	scrubRepair   = 1
	scrubFinished = 2
)

type scrubCkpt struct {
	row, rows int64
	started   time.Time
	flags     uint32
	found     uint32
}

func (a *Array) encodeScrubCkpt(c scrubCkpt) []byte {
	b := make([]byte, scrubRecLen)
	le := binary.LittleEndian
	copy(b, scrubMagic)
	a.mu.Lock()
	copy(b[8:24], a.master.SetUUID[:])
	a.mu.Unlock()
	le.PutUint64(b[24:], uint64(c.row))
	le.PutUint64(b[32:], uint64(c.rows))
	le.PutUint64(b[40:], uint64(c.started.UnixNano()))
	le.PutUint32(b[48:], c.flags)
	le.PutUint32(b[52:], c.found)
	le.PutUint32(b[56:], crc32c(b[:56]))
	return b
}

func (a *Array) decodeScrubCkpt(b []byte) (scrubCkpt, bool) {
	le := binary.LittleEndian
	if len(b) < scrubRecLen || !bytes.Equal(b[:8], []byte(scrubMagic)) || le.Uint32(b[56:]) != crc32c(b[:56]) {
		return scrubCkpt{}, false
	}
	a.mu.Lock()
	same := bytes.Equal(b[8:24], a.master.SetUUID[:])
	a.mu.Unlock()
	c := scrubCkpt{row: int64(le.Uint64(b[24:])), rows: int64(le.Uint64(b[32:])),
		started: time.Unix(0, int64(le.Uint64(b[40:]))), flags: le.Uint32(b[48:]), found: le.Uint32(b[52:])}
	return c, same && c.row >= 0 && c.row <= c.rows
}

// writeScrubCheckpoint stores c on every writable member, best effort (a
// lost checkpoint only means re-checking some stripes).
func (a *Array) writeScrubCheckpoint(c scrubCkpt, repair bool) {
	if a.readOnly || a.meta == nil {
		return
	}
	if repair {
		c.flags |= scrubRepair
	}
	b := a.encodeScrubCkpt(c)
	for r := range a.geo.disks {
		if m := a.writable(r); m != nil {
			if _, err := m.WriteAt(b, a.meta.CkptOffset); err == nil {
				m.Flush()
			}
		}
	}
}

// readScrubCheckpoint returns the most advanced good checkpoint of the
// latest scrub on the members in sync.
func (a *Array) readScrubCheckpoint() (scrubCkpt, bool) {
	if a.meta == nil {
		return scrubCkpt{}, false
	}
	var best scrubCkpt
	found := false
	b := make([]byte, scrubRecLen)
	for r := range a.geo.disks {
		m, st := a.memberAt(r)
		if m == nil || st != MemberInSync {
			continue
		}
		if _, err := m.ReadAt(b, a.meta.CkptOffset); err != nil {
			continue
		}
		c, ok := a.decodeScrubCkpt(b)
		if ok && (!found || c.started.After(best.started) || c.started.Equal(best.started) && c.row > best.row) {
			best, found = c, true
		}
	}
	return best, found
}
