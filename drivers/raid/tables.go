package raid

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// stripeLocks serialises I/O on a stripe: readers share, writers (and
// rebuild, scrub, repair) exclude. Stripes hash onto a fixed set of locks.
type stripeLocks struct {
	l [256]sync.RWMutex
}

func (sl *stripeLocks) lock(s int64) func() {
	m := &sl.l[s%int64(len(sl.l))]
	m.Lock()
	return m.Unlock
}

func (sl *stripeLocks) rlock(s int64) func() {
	m := &sl.l[s%int64(len(sl.l))]
	m.RLock()
	return m.RUnlock
}

// lockStripe takes stripe s's lock exclusively; call the result to release.
func (a *Array) lockStripe(s int64) func() { return a.locks.lock(s) }

// crcTable holds, per role, the CRC32C of every chunk on that member, as
// kept in the member's CRC region (4 bytes little-endian per row; 0 means
// none recorded). Pages changed since the last Flush are written then.
type crcTable struct {
	mu    sync.Mutex // guards vals and dirty
	vals  [][]uint32
	dirty []map[int64]bool // by role: 4 KiB pages to write
}

const crcPerPage = metaAlign / 4

func newCRCTable(disks int, stripes int64) *crcTable {
	t := &crcTable{vals: make([][]uint32, disks), dirty: make([]map[int64]bool, disks)}
	for r := range t.vals {
		t.vals[r] = make([]uint32, stripes)
		t.dirty[r] = map[int64]bool{}
	}
	return t
}

func (t *crcTable) get(r int, s int64) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.vals[r][s]
}

func (t *crcTable) set(r int, s int64, v uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.vals[r][s] != v {
		t.vals[r][s] = v
		t.dirty[r][s/crcPerPage] = true
	}
}

// reset forgets every CRC of role r (a new member took it).
func (t *crcTable) reset(r int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.vals[r] {
		t.vals[r][i] = 0
	}
	for p := int64(0); p*crcPerPage < int64(len(t.vals[r])); p++ {
		t.dirty[r][p] = true
	}
}

// load reads role r's table from its member.
func (t *crcTable) load(r int, m Member, l *metaLayout) error {
	n := int64(len(t.vals[r]))
	b := make([]byte, roundUp(n*4, metaAlign))
	if int64(len(b)) > l.CRCSize {
		return fmt.Errorf("raid: CRC region of %d bytes cannot hold %d rows", l.CRCSize, n)
	}
	if _, err := m.ReadAt(b, l.CRCOffset); err != nil {
		return fmt.Errorf("raid: reading chunk checksums: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.vals[r] {
		t.vals[r][i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return nil
}

// pages returns role r's dirty pages, encoded, and clears the dirty set.
func (t *crcTable) pages(r int) map[int64][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int64][]byte{}
	for p := range t.dirty[r] {
		b := make([]byte, metaAlign)
		for i := int64(0); i < crcPerPage; i++ {
			s := p*crcPerPage + i
			if s >= int64(len(t.vals[r])) {
				break
			}
			binary.LittleEndian.PutUint32(b[4*i:], t.vals[r][s])
		}
		out[p] = b
	}
	t.dirty[r] = map[int64]bool{}
	return out
}

// chunkCRC returns the recorded CRC32C of stripe s's chunk on role r.
func (a *Array) chunkCRC(r int, s int64) (uint32, bool) {
	if a.crcs == nil {
		return 0, false
	}
	v := a.crcs.get(r, s)
	return v, v != 0
}

// setChunkCRC records the CRC32C of stripe s's chunk on role r.
func (a *Array) setChunkCRC(r int, s int64, crc uint32) {
	if a.crcs != nil {
		a.crcs.set(r, s, crc)
	}
}

// overlay holds journal records that a read-only assembly found but may not
// write in place: reads see them as if they had been replayed.
type overlay struct {
	byStripe map[int64][]*jrecord // in seq order
}

// apply patches b, the bytes [lo, lo+len(b)) of stripe s's chunk on role r.
func (o *overlay) apply(s int64, r int, lo int64, b []byte) {
	if o == nil {
		return
	}
	for _, rec := range o.byStripe[s] {
		for i, e := range rec.entries {
			if int(e.role) != r {
				continue
			}
			src := rec.payload(i)
			from, to := max(lo, rec.lo), min(lo+int64(len(b)), rec.hi)
			if from < to {
				copy(b[from-lo:to-lo], src[from-rec.lo:to-rec.lo])
			}
		}
	}
}
