package raid

// The rebuild of a stripe one at a time, around unreadable sectors: what a
// batch falls back to when a read fails (rebuildpipe.go), and what
// RebuildInto uses.

import (
	"fmt"
	"slices"
	"sync"
)

// rebuildStripeLocked reconstructs the chunks of stripe s on roles want
// and writes them; the caller holds the stripe lock. It returns the volume
// ranges lost.
func (a *Array) rebuildStripeLocked(s int64, want []int, sources map[int]Member, buf []byte) ([]Range, error) {
	// Lost sectors are written as zeros and survivors' bad sectors
	// rewritten: the cached content of the stripe may no longer be true.
	a.cache.drop(s)
	shards, lost, badOn, err := a.gatherStripe(s, want, sources, buf)
	if err != nil {
		return nil, err
	}
	g := a.geo
	mt := a.maint()
	for i := range g.disks {
		r := g.roleOf(s, i)
		if !slices.Contains(want, r) {
			continue
		}
		m := a.writable(r)
		if m == nil {
			continue
		}
		mt.own.Add(1)
		if _, err := m.WriteAt(shards[i], g.memberOffset(s, 0)); err != nil {
			a.failMember(r, err)
			continue
		}
		if bad := badOn[i]; len(bad) > 0 {
			a.ownSetChunkCRC(r, s, 0)
			a.mu.Lock()
			sl := a.roles[r]
			a.mu.Unlock()
			if err := a.addBadBlocks(sl, bad); err != nil {
				return nil, err
			}
		} else {
			a.ownSetChunkCRC(r, s, crc32c(shards[i]))
		}
	}
	return lost, nil
}

// gatherStripe returns every shard of stripe s in full (stripe order, in
// buf), the chunks of roles want reconstructed without reading them (or
// copied from sources when their checksum agrees). Sectors no redundancy
// can restore come back as zeros: lost lists their volume ranges and badOn,
// by shard, the member byte ranges of want's shards that are zeros so.
func (a *Array) gatherStripe(s int64, want []int, sources map[int]Member, buf []byte) (shards [][]byte, lost []Range, badOn map[int][]Range, err error) {
	g := a.geo
	mt := a.maint()
	shards = make([][]byte, g.disks)
	bufs := make([][]byte, g.disks)
	var wg sync.WaitGroup
	readErr := make([]error, g.disks)
	for i := range g.disks {
		r := g.roleOf(s, i)
		bufs[i] = buf[int64(i)*g.chunk : int64(i+1)*g.chunk]
		shards[i] = bufs[i][:0]
		if slices.Contains(want, r) {
			if src := sources[r]; src != nil {
				if _, err := src.ReadAt(bufs[i], g.memberOffset(s, 0)); err == nil {
					if crc, ok := a.ownChunkCRC(r, s); ok && crc == crc32c(bufs[i]) {
						shards[i] = bufs[i]
					}
				}
			}
			continue
		}
		m, ok := a.usable(r, s)
		if !ok {
			continue
		}
		shards[i] = bufs[i]
		mt.own.Add(1)
		wg.Go(func() { // members are read in parallel, as disks allow
			_, readErr[i] = m.ReadAt(bufs[i], g.memberOffset(s, 0))
		})
	}
	wg.Wait()
	var failed []int
	for i, err := range readErr {
		if err != nil {
			failed = append(failed, i)
			shards[i] = bufs[i][:0]
		} else if len(shards[i]) > 0 {
			a.overlay.apply(s, g.roleOf(s, i), 0, bufs[i])
		}
	}
	if len(failed) == 0 {
		if err := a.codec.reconstruct(shards); err != nil {
			return nil, nil, nil, fmt.Errorf("raid: stripe %d: %w", s, err)
		}
		return shards, nil, nil, nil
	}
	lost, badOn = a.gatherSectors(s, want, shards, bufs, failed)
	return bufs, lost, badOn, nil
}

// gatherSectors handles a stripe where members in failed could not read
// their chunk: it finds their bad sectors and reconstructs each run of
// sectors with the same set of unreadable members on its own.
func (a *Array) gatherSectors(s int64, want []int, shards, bufs [][]byte, failed []int) ([]Range, map[int][]Range) {
	g := a.geo
	mt := a.maint()
	const sec = 512
	nsec := int(g.chunk / sec)
	bad := map[int][]bool{}
	for _, i := range failed {
		bad[i] = make([]bool, nsec)
		m, _ := a.usable(g.roleOf(s, i), s)
		for k := range nsec {
			if m == nil {
				bad[i][k] = true
				continue
			}
			mt.own.Add(1)
			if _, err := m.ReadAt(bufs[i][k*sec:(k+1)*sec], g.memberOffset(s, int64(k*sec))); err != nil {
				bad[i][k] = true
			}
		}
		a.overlay.apply(s, g.roleOf(s, i), 0, bufs[i])
	}
	badAt := func(k int) []int {
		var out []int
		for _, i := range failed {
			if bad[i][k] {
				out = append(out, i)
			}
		}
		return out
	}
	var lost []Range
	badOn := map[int][]Range{}
	for k := 0; k < nsec; {
		set := badAt(k)
		e := k + 1
		for e < nsec && slices.Equal(badAt(e), set) {
			e++
		}
		lo, hi := int64(k*sec), int64(e*sec)
		seg := make([][]byte, g.disks)
		var missing []int
		for i := range g.disks {
			if len(shards[i]) == 0 && !slices.Contains(failed, i) || slices.Contains(set, i) {
				seg[i] = bufs[i][lo:lo]
				missing = append(missing, i)
			} else {
				seg[i] = bufs[i][lo:hi]
			}
		}
		if len(missing) <= g.parity {
			if err := a.codec.reconstruct(seg); err == nil {
				for _, i := range set { // md's read-error repair: rewrite the sectors
					if m := a.writable(g.roleOf(s, i)); m != nil {
						mt.own.Add(1)
						m.WriteAt(bufs[i][lo:hi], g.memberOffset(s, lo))
					}
				}
				k = e
				continue
			}
		}
		for _, i := range missing {
			clear(bufs[i][lo:hi])
			if slices.Contains(want, g.roleOf(s, i)) {
				badOn[i] = append(badOn[i], Range{g.memberOffset(s, lo), hi - lo})
			}
			if i < g.data {
				lost = append(lost, Range{s*g.stripeSize() + int64(i)*g.chunk + lo, hi - lo})
			}
		}
		k = e
	}
	return mergeRanges(lost), badOn
}
