package raid

// Checking one stripe against its parity and chunk checksums, locating what
// is wrong and rewriting it: the one routine behind Repair (the layer above
// asks for a range it could not read right) and scrub (every stripe in use).
//
// Every chunk is read whole. A chunk is bad when its member cannot read it
// ("read error"), when its bad-block log lists part of it ("bad block"), or
// when it does not match its recorded CRC-32C ("checksum"). With every
// chunk read, parity recomputed from the data decides between them:
//
//   - parity agrees: the stripe is right; failing checksums are stale
//     records (a crash between data and table), refreshed on repair;
//   - RAID-6 and P and Q locate a single bad chunk, which the checksums do
//     not contradict: that chunk ("parity");
//   - otherwise the chunks whose checksum fails, if parity covers them;
//   - otherwise the mismatch is unlocated (an array made by md has no
//     checksums; RAID-5 parity cannot point at a chunk).
//
// On a degraded stripe that still has redundancy, the chunks whose checksum
// fails are bad, and the redundancy left is verified (unlocated when it
// disagrees). Repair rewrites the bad chunks from the others, each only if
// it then matches its recorded checksum, and records their checksums; an
// unlocated mismatch rewrites P and Q from the data when asked (md's
// repair), and is an error otherwise.

import (
	"errors"
	"fmt"
	"slices"
)

// checkOptions say what checkStripe does with what it finds.
type checkOptions struct {
	repair bool // rewrite bad chunks from redundancy
	// parityFromData makes repair of an unlocated mismatch rewrite P and Q
	// from the data, as md's repair does; without it, it stays unrepaired.
	parityFromData bool
	// background counts the member I/O as a job's own (scrub), so that the
	// throttle does not take it for foreground I/O.
	background bool
	sc         *stripeScratch // reused buffers; nil: allocated
}

// stripeCheck is what checkStripe found in one stripe and did about it.
type stripeCheck struct {
	Stripe   int64
	Found    []Mismatch // an unlocated mismatch first, then bad chunks in stripe order
	Bad      []int      // roles whose chunk was bad
	Repaired bool       // everything found was rewritten
	// Unrepaired says why something found was not (or, checking only,
	// could not be) repaired; empty when all is well.
	Unrepaired string
}

// Repair re-verifies the volume range [off, off+length) against parity and
// postvault's chunk checksums and rewrites any bad chunk from redundancy.
// It returns an error naming the stripe when a bad chunk cannot be found or
// rebuilt (on RAID-5, a parity mismatch with no checksum to blame a chunk).
// Stripes that hold nothing (discarded, never written) are skipped.
func (a *Array) Repair(off, length int64) error {
	if a.closed.Load() {
		return errClosed
	}
	if a.readOnly {
		return ErrReadOnly
	}
	if off < 0 || length < 0 || off+length > a.Size() {
		return fmt.Errorf("raid: repair of %d bytes at %d is outside the volume of %d bytes", length, off, a.Size())
	}
	if length == 0 {
		return nil
	}
	ss := a.geo.stripeSize()
	sc := newStripeScratch(a.geo)
	var errs []error
	for s := off / ss; s*ss < off+length; s++ {
		if !a.used.used(s*ss, ss) {
			continue
		}
		chk, err := a.checkStripe(s, checkOptions{repair: true, sc: sc})
		if err == nil {
			err = chk.err()
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// repairStripe checks stripe s and, with fix, rewrites its bad chunks; it
// fails when something found is not repaired (with fix) or cannot be
// located.
func (a *Array) repairStripe(s int64, fix bool) (stripeCheck, error) {
	chk, err := a.checkStripe(s, checkOptions{repair: fix})
	if err == nil {
		err = chk.err()
	}
	return chk, err
}

// err is the error naming the stripe when something found was not repaired.
func (c stripeCheck) err() error {
	if c.Unrepaired == "" {
		return nil
	}
	return fmt.Errorf("raid: stripe %d: %s", c.Stripe, c.Unrepaired)
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

// stripeRead is one stripe as checkStripe read it.
type stripeRead struct {
	shards, bufs [][]byte       // shards[i] empty: not read (missing or bad)
	missing      []int          // shards without a usable member
	bad          map[int]string // shard -> cause
	suspects     []int          // shards read whose checksum fails
}

// checkStripe checks stripe s, as the file comment says, and with
// o.repair rewrites what it found. It holds the stripe's lock: exclusive
// when repairing, shared otherwise.
func (a *Array) checkStripe(s int64, o checkOptions) (stripeCheck, error) {
	if o.repair && a.readOnly {
		return stripeCheck{Stripe: s}, ErrReadOnly
	}
	if o.repair {
		defer a.lockStripe(s)()
	} else {
		defer a.locks.rlock(s)()
	}
	if o.sc == nil {
		o.sc = newStripeScratch(a.geo)
	}
	g := a.geo
	rd := a.readForCheck(s, o)
	chk := stripeCheck{Stripe: s}
	unlocated := false
	switch {
	case len(rd.missing) == 0 && len(rd.bad) == 0:
		pos, err := a.codec.locate(rd.shards, o.sc.scratch)
		switch {
		case err == nil && pos < 0:
			// consistent: a failing checksum is a stale record, rewritten on repair
		case err == nil && (len(rd.suspects) == 0 || slices.Equal(rd.suspects, []int{pos})):
			rd.bad[pos] = "parity"
		case len(rd.suspects) > 0 && len(rd.suspects) <= g.parity:
			for _, i := range rd.suspects {
				rd.bad[i] = "checksum"
			}
		case errors.Is(err, errUnlocatable) || err == nil:
			unlocated = true
		default:
			return chk, err
		}
	default:
		for _, i := range rd.suspects {
			rd.bad[i] = "checksum"
		}
		if len(rd.bad) == 0 && len(rd.missing) < g.parity {
			// Degraded but still redundant: check what redundancy is left.
			full := slices.Clone(rd.shards)
			if err := a.codec.reconstruct(full); err != nil {
				return chk, err
			}
			if ok, err := a.codec.verify(full, o.sc.scratch); err != nil {
				return chk, err
			} else if !ok {
				unlocated = true
			}
		}
	}
	if unlocated {
		chk.Found = append(chk.Found, Mismatch{Stripe: s, Role: -1, Volume: Range{s * g.stripeSize(), g.stripeSize()}, Cause: "unlocated"})
		chk.Unrepaired = "parity does not match the data and no checksum or syndrome tells which chunk is wrong"
	}
	for _, i := range slices.Sorted(mapKeys(rd.bad)) {
		chk.Found = append(chk.Found, a.mismatchAt(s, i, rd.bad[i]))
		chk.Bad = append(chk.Bad, g.roleOf(s, i))
	}
	if !o.repair {
		return chk, nil
	}
	if !unlocated && len(rd.bad) == 0 {
		for _, i := range rd.suspects { // stale checksum records
			a.setCRCFor(o, g.roleOf(s, i), s, crc32c(rd.shards[i]))
		}
		return chk, nil
	}
	a.repairFound(s, o, rd, unlocated, &chk)
	return chk, nil
}

// readForCheck reads every chunk of stripe s whole and sorts them out.
func (a *Array) readForCheck(s int64, o checkOptions) *stripeRead {
	g := a.geo
	rd := &stripeRead{shards: make([][]byte, g.disks), bufs: make([][]byte, g.disks), bad: map[int]string{}}
	for i := range g.disks {
		r := g.roleOf(s, i)
		rd.bufs[i] = o.sc.buf[int64(i)*g.chunk : int64(i+1)*g.chunk]
		rd.shards[i] = rd.bufs[i]
		m, ok := a.usable(r, s)
		if !ok {
			rd.shards[i] = rd.bufs[i][:0]
			rd.missing = append(rd.missing, i)
			continue
		}
		if o.background {
			a.maint().own.Add(1)
		}
		if _, err := m.ReadAt(rd.bufs[i], g.memberOffset(s, 0)); err != nil {
			rd.shards[i] = rd.bufs[i][:0]
			rd.bad[i] = "read error"
			if errors.Is(err, errBadBlock) {
				rd.bad[i] = "bad block"
			}
			continue
		}
		a.overlay.apply(s, r, 0, rd.bufs[i])
	}
	for i := range g.disks {
		if len(rd.shards[i]) == 0 {
			continue
		}
		if crc, ok := a.crcFor(o, g.roleOf(s, i), s); ok && crc != crc32c(rd.shards[i]) {
			rd.suspects = append(rd.suspects, i)
		}
	}
	return rd
}

// repairFound rewrites the bad chunks of stripe s from the others (or, for
// an unlocated mismatch with o.parityFromData, the parity from the data)
// and records their checksums, updating chk. The caller holds the stripe
// lock.
func (a *Array) repairFound(s int64, o checkOptions, rd *stripeRead, unlocated bool, chk *stripeCheck) {
	g := a.geo
	fix := slices.Sorted(mapKeys(rd.bad))
	if unlocated && o.parityFromData {
		for i := g.data; i < g.disks; i++ {
			if !slices.Contains(rd.missing, i) {
				fix = append(fix, i)
			}
			rd.shards[i] = rd.bufs[i][:0]
		}
	}
	if n := len(fix) + len(rd.missing); n > g.parity && !(unlocated && o.parityFromData) {
		chk.Unrepaired = fmt.Sprintf("%d bad and %d missing chunks, parity covers %d", len(rd.bad), len(rd.missing), g.parity)
		return // beyond what parity covers: reported, not repaired
	}
	if len(fix) == 0 {
		return // unlocated, not to be guessed at
	}
	for _, i := range fix {
		rd.shards[i] = rd.bufs[i][:0]
	}
	if err := a.codec.reconstruct(rd.shards); err != nil {
		chk.Unrepaired = err.Error()
		return
	}
	done := map[int]bool{}
	for _, i := range fix {
		r := g.roleOf(s, i)
		if _, located := rd.bad[i]; located {
			if crc, ok := a.crcFor(o, r, s); ok && crc != crc32c(rd.shards[i]) {
				chk.Unrepaired = fmt.Sprintf("the chunk of role %d rebuilt from redundancy does not match its checksum either", r)
				continue
			}
		}
		write := func() error { return a.writeShardLocked(r, s, 0, rd.shards[i]) }
		if o.background {
			if a.maint().asOwn(write) != nil {
				continue
			}
		} else if write() != nil {
			continue
		}
		a.setCRCFor(o, r, s, crc32c(rd.shards[i]))
		done[r] = true
	}
	all := true
	for k := range chk.Found {
		f := &chk.Found[k]
		f.Repaired = f.Role >= 0 && done[f.Role] || f.Role < 0 && len(done) > 0
		all = all && f.Repaired
	}
	chk.Repaired = all
	if all && unlocated {
		chk.Unrepaired = ""
	}
}

// crcFor and setCRCFor are chunkCRC and setChunkCRC, counted as the job's
// own I/O when o.background.
func (a *Array) crcFor(o checkOptions, r int, s int64) (uint32, bool) {
	if o.background {
		return a.ownChunkCRC(r, s)
	}
	return a.chunkCRC(r, s)
}

func (a *Array) setCRCFor(o checkOptions, r int, s int64, crc uint32) {
	if o.background {
		a.ownSetChunkCRC(r, s, crc)
		return
	}
	a.setChunkCRC(r, s, crc)
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

// mismatchAt describes the chunk at stripe position i of stripe s as bad.
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
