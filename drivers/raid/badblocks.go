package raid

// md's bad-block log.
//
// Each member's superblock points at a log of sectors that hold no valid
// data: bblog_offset (signed, in sectors from the superblock, so the log
// starts at byte 4096 + 512·bblog_offset) and bblog_size (sectors). It is an
// array of little-endian u64 entries, sector<<10 | count, where sector is
// the first bad sector counted from the member's start and count (1..512)
// the number of sectors, both in units of 2^bblog_shift sectors. Entries are
// sorted and do not overlap; the first all-ones entry ends the list, and
// the rest of the log is all ones. md reads the log only when feature bit 8
// (bad blocks present) is set in that member's superblock. postvault treats
// an all-zero entry as the end too, since md leaves a new log zeroed.
//
// Rebuild records here the sectors of a rebuilt member whose contents could
// not be reconstructed (a survivor was unreadable there, beyond what parity
// covers), so that neither md nor postvault ever returns them as data.
//
// As md does, postvault sets feature bit 8 only in the superblock of a
// member whose log lists entries (and reads a log only when its member's
// bit is set), loads the lists at assembly, treats a listed range as
// unreadable on every read path (usable hands out a bbMember: the range is
// reconstructed from the others when parity covers it, or the read fails
// with ErrUnreadable), and clears the whole units a successful write
// covers (rebuild, repair, read-error repair and ordinary writes all do),
// after flushing that write.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

const (
	bbMaxSectors = 512 // per entry
	bbEnd        = ^uint64(0)
)

// mergeRanges sorts byte ranges and joins those that overlap or touch.
func mergeRanges(rs []Range) []Range {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Range) int {
		switch {
		case a.Off < b.Off:
			return -1
		case a.Off > b.Off:
			return 1
		}
		return 0
	})
	var out []Range
	for _, r := range rs {
		if r.Len <= 0 {
			continue
		}
		if n := len(out); n > 0 && r.Off <= out[n-1].Off+out[n-1].Len {
			out[n-1].Len = max(out[n-1].Len, r.Off+r.Len-out[n-1].Off)
			continue
		}
		out = append(out, r)
	}
	return out
}

// encodeBadBlocks returns a log of size bytes listing the byte ranges bad
// (rounded out to whole sectors of 512<<shift bytes) in md's format.
func encodeBadBlocks(bad []Range, size int, shift uint8) ([]byte, error) {
	unit := int64(512) << shift
	var entries []uint64
	for _, r := range mergeRanges(bad) {
		first := r.Off / unit
		end := (r.Off + r.Len + unit - 1) / unit
		for first < end {
			n := min(end-first, bbMaxSectors)
			entries = append(entries, uint64(first)<<10|uint64(n))
			first += n
		}
	}
	if len(entries)*8 > size {
		return nil, fmt.Errorf("raid: %d bad-block entries do not fit a log of %d bytes", len(entries), size)
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = 0xff
	}
	for i, e := range entries {
		binary.LittleEndian.PutUint64(b[8*i:], e)
	}
	return b, nil
}

// decodeBadBlocks returns the byte ranges a log lists.
func decodeBadBlocks(b []byte, shift uint8) ([]Range, error) {
	unit := int64(512) << shift
	var out []Range
	for i := 0; i+8 <= len(b); i += 8 {
		e := binary.LittleEndian.Uint64(b[i:])
		if e == bbEnd || e == 0 {
			break
		}
		count, sector := int64(e&0x3ff), int64(e>>10)
		if count == 0 || count > bbMaxSectors || sector > (1<<53)/unit {
			return nil, fmt.Errorf("raid: bad-block entry %d (%#x) is malformed", i/8, e)
		}
		out = append(out, Range{sector * unit, count * unit})
	}
	return mergeRanges(out), nil
}

// errBadBlock is the read error of a range that the member's bad-block log
// lists.
var errBadBlock = errors.New("raid: range listed in the member's bad-block log")

// bbLogMax bounds the log postvault reads (md's is 4 KiB).
const bbLogMax = 1 << 20

// overlaps reports whether the sorted, merged ranges rs overlap [off, off+n).
func overlaps(rs []Range, off, n int64) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Off+rs[i].Len > off })
	return i < len(rs) && rs[i].Off < off+n
}

// roundOut widens each range to whole units of unit bytes.
func roundOut(rs []Range, unit int64) []Range {
	out := make([]Range, 0, len(rs))
	for _, r := range rs {
		lo := r.Off / unit * unit
		out = append(out, Range{lo, roundUp(r.Off+r.Len, unit) - lo})
	}
	return mergeRanges(out)
}

// subtract returns rs without the whole units of unit bytes inside
// [off, off+n), and whether anything was removed.
func subtract(rs []Range, off, n, unit int64) ([]Range, bool) {
	lo, hi := roundUp(off, unit), (off+n)/unit*unit
	if hi <= lo || !overlaps(rs, lo, hi-lo) {
		return rs, false
	}
	var out []Range
	for _, r := range rs {
		end := r.Off + r.Len
		if end <= lo || r.Off >= hi {
			out = append(out, r)
			continue
		}
		if r.Off < lo {
			out = append(out, Range{r.Off, lo - r.Off})
		}
		if end > hi {
			out = append(out, Range{hi, end - hi})
		}
	}
	return out, true
}

// badBlockLogAt returns where the log of a member sits (bytes) and its
// size, or ok false when the array has none.
func (a *Array) badBlockLogAt() (off int64, size int, shift uint8, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return badBlockLogOf(a.master)
}

// badBlockLogOf returns where sb places the log.
func badBlockLogOf(sb *superblock) (off int64, size int, shift uint8, ok bool) {
	if sb.BBLogSize == 0 || sb.BBLogOffset == 0 {
		return 0, 0, 0, false
	}
	return sbOffset + int64(sb.BBLogOffset)*512, int(sb.BBLogSize) * 512, sb.BBLogShift, true
}

// readBadBlocks returns the ranges listed in m's log.
func (a *Array) readBadBlocks(m Member) ([]Range, error) {
	a.mu.Lock()
	sb := a.master
	a.mu.Unlock()
	return readBadBlockLog(m, sb)
}

// readBadBlockLog reads and decodes the log sb places on m.
func readBadBlockLog(m Member, sb *superblock) ([]Range, error) {
	off, size, shift, ok := badBlockLogOf(sb)
	if !ok {
		return nil, nil
	}
	if off < 0 || size > bbLogMax || off+int64(size) > m.Size() || shift > 30 {
		return nil, fmt.Errorf("raid: bad-block log of %d bytes at %d is outside the member", size, off)
	}
	b := make([]byte, size)
	if _, err := m.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("raid: reading the bad-block log: %w", err)
	}
	return decodeBadBlocks(b, shift)
}

// loadBadBlocks reads, at assembly, the log of every member whose own
// superblock has the bad-block bit. A member whose log cannot be read or
// makes no sense is not trusted (faulty), as md refuses such a device: its
// list would say which of its bytes are not data.
func (a *Array) loadBadBlocks() {
	a.mu.Lock()
	all := append(append([]*slot(nil), a.roles...), a.spares...)
	a.mu.Unlock()
	for _, sl := range all {
		if sl.m == nil || sl.state == MemberFaulty {
			continue
		}
		sb, err := readSuperblock(sl.m)
		if err != nil || sb.FeatureMap&featBadBlocks == 0 {
			continue
		}
		bad, err := readBadBlockLog(sl.m, sb)
		a.mu.Lock()
		if err != nil {
			sl.state, sl.err = MemberFaulty, err.Error()
			if int(sl.devNumber) < len(a.master.DevRoles) && a.master.DevRoles[sl.devNumber] != RoleSpare {
				a.master.DevRoles[sl.devNumber] = RoleFaulty
			}
		} else {
			sl.bad = bad
		}
		a.mu.Unlock()
	}
}

// badBlockFeature returns a member's feature map fm with md's bad-block bit
// set when its log lists entries and cleared otherwise, as md writes it.
// The caller holds a.mu.
func (sl *slot) badBlockFeature(fm uint32) uint32 {
	if len(sl.bad) > 0 {
		return fm | featBadBlocks
	}
	return fm &^ featBadBlocks
}

// addBadBlocks records member byte ranges of slot sl as bad (rounded out to
// whole log units): in memory, then in the member's log, flushed, then in
// its superblock's feature bit when the list was empty before.
func (a *Array) addBadBlocks(sl *slot, bad []Range) error {
	a.bbMu.Lock()
	defer a.bbMu.Unlock()
	a.mu.Lock()
	was := len(sl.bad)
	all := roundOut(append(slices.Clone(sl.bad), bad...), a.bbUnitLocked())
	sl.bad = all
	m := sl.m
	a.mu.Unlock()
	if m == nil || a.readOnly {
		return nil // listed for this assembly only
	}
	if err := a.writeBadBlockLog(m, all); err != nil {
		return err
	}
	if was == 0 && len(all) > 0 {
		return a.writeSuperblocks(false)
	}
	return nil
}

func (a *Array) bbUnitLocked() int64 {
	_, _, shift, _ := badBlockLogOf(a.master)
	return 512 << shift
}

// writeBadBlockLog writes the log listing bad on m, flushed. Without a log
// (an array made without one) the list lives in memory only.
func (a *Array) writeBadBlockLog(m Member, bad []Range) error {
	off, size, shift, ok := a.badBlockLogAt()
	if !ok {
		return nil
	}
	b, err := encodeBadBlocks(bad, size, shift)
	if err != nil {
		return err
	}
	if _, err := m.WriteAt(b, off); err != nil {
		return fmt.Errorf("raid: writing the bad-block log: %w", err)
	}
	return m.Flush()
}

// clearBadBlocks drops from sl's list the whole units of [off, off+n) that
// a write to m (sl's member, unwrapped) just stored: the write is flushed
// first, then the log rewritten, then, when the list is empty, the
// superblocks (bit cleared), as md does.
func (a *Array) clearBadBlocks(sl *slot, m Member, off, n int64) error {
	a.mu.Lock()
	_, changed := subtract(sl.bad, off, n, a.bbUnitLocked())
	a.mu.Unlock()
	if !changed {
		return nil // most writes (metadata, journal, other chunks): no lock taken
	}
	a.bbMu.Lock()
	a.mu.Lock()
	rest, changed := subtract(sl.bad, off, n, a.bbUnitLocked())
	a.mu.Unlock()
	if !changed {
		a.bbMu.Unlock()
		return nil
	}
	err := m.Flush()
	if err == nil {
		err = a.writeBadBlockLog(m, rest)
	}
	if err == nil {
		a.mu.Lock()
		sl.bad = rest
		a.mu.Unlock()
	}
	a.bbMu.Unlock()
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		a.writeSuperblocks(false) // failures there fail members there
	}
	return nil
}

// bbMember is a member whose bad-block log lists ranges, as usable and
// writable hand it out: a read that touches a listed range fails with
// errBadBlock without touching the device, and a successful write clears
// the units it covers.
type bbMember struct {
	Member
	a  *Array
	sl *slot
}

var _ Member = (*bbMember)(nil)

func (b *bbMember) ReadAt(p []byte, off int64) (int, error) {
	b.a.mu.Lock()
	bad := b.sl.bad
	b.a.mu.Unlock()
	if overlaps(bad, off, int64(len(p))) {
		return 0, fmt.Errorf("%w: member bytes [%d, %d)", errBadBlock, off, off+int64(len(p)))
	}
	return b.Member.ReadAt(p, off)
}

func (b *bbMember) WriteAt(p []byte, off int64) (int, error) {
	n, err := b.Member.WriteAt(p, off)
	if err != nil {
		return n, err
	}
	return n, b.a.clearBadBlocks(b.sl, b.Member, off, int64(n))
}

// Name is the wrapped member's name, if it has one.
func (b *bbMember) Name() string { return memberName(b.Member, -1) }

// BadBlocks returns, by device, the member byte ranges its bad-block log
// lists: loaded at assembly, added by rebuild, cleared by rewrites.
func (a *Array) BadBlocks() map[string][]Range {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string][]Range{}
	for _, sl := range append(append([]*slot(nil), a.roles...), a.spares...) {
		if len(sl.bad) > 0 {
			out[sl.name] = slices.Clone(sl.bad)
		}
	}
	return out
}
