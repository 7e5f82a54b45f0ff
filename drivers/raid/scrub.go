package raid

// Scrub: reading every stripe in use and checking it.
//
// Each stripe is read whole under its lock. Every chunk is checked against
// its recorded CRC-32C (postvault's per-chunk checksums, kept where md does
// not read), and the parity is recomputed from the data into scratch and
// compared. A mismatch is pinned on a member this way:
//
//   - RAID-6 with every member present: P and Q locate a single bad chunk
//     (codec.locate, md's raid6check method), data or parity;
//   - otherwise, and when P and Q cannot: the chunks whose checksum fails;
//   - a chunk its member cannot read is bad too (md rewrites those).
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
	"errors"
	"fmt"
	"slices"
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
	// "read error" or "unlocated" (parity disagrees, nothing says where).
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

// stripeScratch is the memory one stripe check needs.
type stripeScratch struct {
	buf     []byte
	scratch [][]byte
}

func newStripeScratch(g geometry) *stripeScratch {
	return &stripeScratch{buf: make([]byte, int64(g.disks)*g.chunk),
		scratch: [][]byte{make([]byte, g.chunk), make([]byte, g.chunk)}}
}

// scrubStripe checks stripe s and, with repair, rewrites its bad chunks.
func (a *Array) scrubStripe(s int64, repair bool, sc *stripeScratch) ([]Mismatch, error) {
	g := a.geo
	mt := a.maint()
	if repair {
		defer a.lockStripe(s)()
	} else {
		defer a.locks.rlock(s)()
	}
	shards := make([][]byte, g.disks)
	bufs := make([][]byte, g.disks)
	var missing []int
	bad := map[int]string{} // shard -> cause
	for i := range g.disks {
		r := g.roleOf(s, i)
		bufs[i] = sc.buf[int64(i)*g.chunk : int64(i+1)*g.chunk]
		shards[i] = bufs[i]
		m, ok := a.usable(r, s)
		if !ok {
			shards[i] = bufs[i][:0]
			missing = append(missing, i)
			continue
		}
		mt.own.Add(1)
		if _, err := m.ReadAt(bufs[i], g.memberOffset(s, 0)); err != nil {
			shards[i] = bufs[i][:0]
			bad[i] = "read error"
			continue
		}
		a.overlay.apply(s, r, 0, bufs[i])
	}
	var suspects []int
	for i := range g.disks {
		if len(shards[i]) == 0 {
			continue
		}
		if crc, ok := a.ownChunkCRC(g.roleOf(s, i), s); ok && crc != crc32c(shards[i]) {
			suspects = append(suspects, i)
		}
	}
	unlocated := false
	switch {
	case len(missing) == 0 && len(bad) == 0:
		pos, err := a.codec.locate(shards, sc.scratch)
		switch {
		case err == nil && pos < 0:
			// consistent: a failing checksum is a stale record, rewritten on repair
		case err == nil && (len(suspects) == 0 || slices.Equal(suspects, []int{pos})):
			bad[pos] = "parity"
		case len(suspects) > 0 && len(suspects) <= g.parity:
			for _, i := range suspects {
				bad[i] = "checksum"
			}
		case errors.Is(err, errUnlocatable) || err == nil:
			unlocated = true
		default:
			return nil, err
		}
	default:
		for _, i := range suspects {
			bad[i] = "checksum"
		}
		if len(bad) == 0 && len(missing) < g.parity {
			// Degraded but still redundant: check what redundancy is left.
			full := slices.Clone(shards)
			if err := a.codec.reconstruct(full); err != nil {
				return nil, err
			}
			if ok, err := a.codec.verify(full, sc.scratch); err != nil {
				return nil, err
			} else if !ok {
				unlocated = true
			}
		}
	}
	var out []Mismatch
	if unlocated {
		out = append(out, Mismatch{Stripe: s, Role: -1, Volume: Range{s * g.stripeSize(), g.stripeSize()}, Cause: "unlocated"})
	}
	for _, i := range slices.Sorted(mapKeys(bad)) {
		out = append(out, a.mismatchAt(s, i, bad[i]))
	}
	if !repair || a.readOnly {
		return out, nil
	}
	return a.repairChunks(s, shards, bufs, missing, bad, unlocated, suspects, out)
}

func mapKeys(m map[int]string) func(func(int) bool) {
	return func(yield func(int) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (a *Array) mismatchAt(s int64, i int, cause string) Mismatch {
	g := a.geo
	r := g.roleOf(s, i)
	a.mu.Lock()
	dev := a.roles[r].name
	a.mu.Unlock()
	m := Mismatch{Stripe: s, Role: r, Device: dev, Member: Range{g.memberOffset(s, 0), g.chunk}, Cause: cause}
	switch {
	case i < g.data:
		m.Kind, m.Volume = "data", Range{s*g.stripeSize() + int64(i)*g.chunk, g.chunk}
	case i == g.data:
		m.Kind, m.Volume = "P", Range{s * g.stripeSize(), g.stripeSize()}
	default:
		m.Kind, m.Volume = "Q", Range{s * g.stripeSize(), g.stripeSize()}
	}
	return m
}

// repairChunks rewrites the bad chunks of stripe s from the others (or,
// for an unlocated mismatch, the parity from the data) and records their
// checksums. The caller holds the stripe lock.
func (a *Array) repairChunks(s int64, shards, bufs [][]byte, missing []int, bad map[int]string, unlocated bool, suspects []int, out []Mismatch) ([]Mismatch, error) {
	g := a.geo
	fix := slices.Sorted(mapKeys(bad))
	if unlocated {
		for i := g.data; i < g.disks; i++ {
			if !slices.Contains(missing, i) {
				fix = append(fix, i)
			}
		}
		for i := g.data; i < g.disks; i++ {
			shards[i] = bufs[i][:0]
		}
	}
	if len(fix) == 0 {
		for _, i := range suspects { // stale checksum records
			a.ownSetChunkCRC(g.roleOf(s, i), s, crc32c(shards[i]))
		}
		return out, nil
	}
	for _, i := range fix {
		shards[i] = bufs[i][:0]
	}
	if n := len(fix) + len(missing); n > g.parity && !unlocated {
		return out, nil // beyond what parity covers: reported, not repaired
	}
	if err := a.codec.reconstruct(shards); err != nil {
		return out, nil
	}
	ok := map[int]bool{}
	for _, i := range fix {
		r := g.roleOf(s, i)
		if err := a.maint().asOwn(func() error { return a.writeShardLocked(r, s, 0, shards[i]) }); err != nil {
			continue
		}
		a.ownSetChunkCRC(r, s, crc32c(shards[i]))
		ok[r] = true
	}
	for k := range out {
		if out[k].Role >= 0 && ok[out[k].Role] || out[k].Role < 0 && len(ok) > 0 {
			out[k].Repaired = true
		}
	}
	return out, nil
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
