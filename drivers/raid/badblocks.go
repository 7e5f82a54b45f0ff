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

import (
	"encoding/binary"
	"fmt"
	"slices"
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

// badBlockLogAt returns where the log of a member sits (bytes) and its
// size, or ok false when the array has none.
func (a *Array) badBlockLogAt() (off int64, size int, shift uint8, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sb := a.master
	if sb.BBLogSize == 0 || sb.BBLogOffset == 0 {
		return 0, 0, 0, false
	}
	return sbOffset + int64(sb.BBLogOffset)*512, int(sb.BBLogSize) * 512, sb.BBLogShift, true
}

// readBadBlocks returns the ranges listed in m's log.
func (a *Array) readBadBlocks(m Member) ([]Range, error) {
	off, size, shift, ok := a.badBlockLogAt()
	if !ok {
		return nil, nil
	}
	b := make([]byte, size)
	if _, err := m.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("raid: reading the bad-block log: %w", err)
	}
	return decodeBadBlocks(b, shift)
}

// addBadBlocks records member byte ranges of slot sl as bad: in memory
// (BadBlocks) and in the member's log, flushed.
func (a *Array) addBadBlocks(sl *slot, bad []Range) error {
	mt := a.maint()
	mt.mu.Lock()
	all := mergeRanges(append(mt.bad[sl], bad...))
	mt.bad[sl] = all
	mt.mu.Unlock()
	off, size, shift, ok := a.badBlockLogAt()
	if !ok || sl.m == nil {
		return nil
	}
	b, err := encodeBadBlocks(all, size, shift)
	if err != nil {
		return err
	}
	if _, err := sl.m.WriteAt(b, off); err != nil {
		return fmt.Errorf("raid: writing the bad-block log: %w", err)
	}
	return sl.m.Flush()
}

// BadBlocks returns, by device, the member byte ranges recorded as holding
// no valid data during this assembly.
func (a *Array) BadBlocks() map[string][]Range {
	mt := a.maint()
	mt.mu.Lock()
	defer mt.mu.Unlock()
	out := map[string][]Range{}
	for sl, rs := range mt.bad {
		out[sl.name] = append([]Range(nil), rs...)
	}
	return out
}
