package raid

import (
	"encoding/binary"
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
// none recorded). Pages of 1024 rows are read from the member when first
// needed and dropped again when clean and too many are held, so that memory
// does not grow with the disks (a 16 TB member has 128 MiB of sums); pages
// changed since the last Flush are written then.
type crcTable struct {
	rows int64
	src  func(r int) Member // the member to load role r's pages from; nil: none
	off  int64              // the CRC region's offset on every member

	mu     sync.Mutex // guards pages and zeroed; held across page loads
	pages  []map[int64]*crcPage
	zeroed []bool // role's sums forgotten: pages not held are zero, not loaded
}

type crcPage struct {
	v     [crcPerPage]uint32
	dirty bool
}

const (
	crcPerPage  = metaAlign / 4
	crcMaxPages = 2048 // clean pages kept per role (8 MiB)
)

func newCRCTable(disks int, rows int64, off int64, src func(r int) Member) *crcTable {
	t := &crcTable{rows: rows, src: src, off: off, pages: make([]map[int64]*crcPage, disks), zeroed: make([]bool, disks)}
	for r := range t.pages {
		t.pages[r] = map[int64]*crcPage{}
	}
	return t
}

// page returns role r's page p, loading it; the caller holds t.mu.
func (t *crcTable) page(r int, p int64) *crcPage {
	if pg, ok := t.pages[r][p]; ok {
		return pg
	}
	pg := &crcPage{dirty: t.zeroed[r]} // a forgotten page is written as zeros
	if t.src != nil && !t.zeroed[r] {
		if m := t.src(r); m != nil {
			b := make([]byte, metaAlign)
			if _, err := m.ReadAt(b, t.off+p*metaAlign); err == nil {
				for i := range pg.v {
					pg.v[i] = binary.LittleEndian.Uint32(b[4*i:])
				}
			}
		}
	}
	if len(t.pages[r]) >= crcMaxPages && !t.zeroed[r] { // a zeroed role's pages are its only copy
		for k, old := range t.pages[r] {
			if !old.dirty {
				delete(t.pages[r], k)
			}
			if len(t.pages[r]) < crcMaxPages/2 {
				break
			}
		}
	}
	t.pages[r][p] = pg
	return pg
}

func (t *crcTable) get(r int, s int64) uint32 {
	if s < 0 || s >= t.rows {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.page(r, s/crcPerPage).v[s%crcPerPage]
}

func (t *crcTable) set(r int, s int64, v uint32) {
	if s < 0 || s >= t.rows {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	pg := t.page(r, s/crcPerPage)
	if pg.v[s%crcPerPage] != v {
		pg.v[s%crcPerPage] = v
		pg.dirty = true
	}
}

// reset forgets every CRC of role r in memory: until zeroRegion, pages
// not held read as zero.
func (t *crcTable) reset(r int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pages[r] = map[int64]*crcPage{}
	t.zeroed[r] = true
}

// zeroRegion forgets every CRC of role r (a new or stale member took it)
// and zeroes its region on m now.
func (t *crcTable) zeroRegion(r int, m Member) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pages[r] = map[int64]*crcPage{}
	t.zeroed[r] = true
	if m == nil {
		return nil
	}
	zero := make([]byte, mib)
	size := roundUp(t.rows*4, metaAlign)
	for off := int64(0); off < size; off += mib {
		if _, err := m.WriteAt(zero[:min(mib, size-off)], t.off+off); err != nil {
			return err
		}
	}
	t.zeroed[r] = false // the medium holds zeros now
	return nil
}

// dirtyPages returns role r's dirty pages, encoded, and marks them clean.
func (t *crcTable) dirtyPages(r int) map[int64][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[int64][]byte{}
	for p, pg := range t.pages[r] {
		if !pg.dirty {
			continue
		}
		b := make([]byte, metaAlign)
		for i, v := range pg.v {
			binary.LittleEndian.PutUint32(b[4*i:], v)
		}
		out[p] = b
		pg.dirty = false
	}
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
			if int(e.role) != r || rec.data[i] == nil {
				continue
			}
			from, to := max(lo, e.lo), min(lo+int64(len(b)), e.hi)
			if from < to {
				copy(b[from-lo:to-lo], rec.data[i][from-e.lo:to-e.lo])
			}
		}
	}
}
