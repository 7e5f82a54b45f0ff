package raid

// The journal closes the RAID write hole. A write to a stripe that holds
// data (its stripeUse bit is set) first stores the stripe's new bytes, for
// every chunk the write changes (data, P, Q), as one record in the journal
// ring of parity+1 members, flushes those members, and only then writes in
// place. A crash can tear the in-place writes, but then every record copy is
// durable and assembly replays the record, making the stripe consistent
// before any member is reconstructed from it. A crash before the record is
// durable leaves the stripe as it was: the in-place writes had not begun.
// Writes to stripes that hold nothing go in place directly (whole stripes,
// zero-filled): tearing them loses nothing that was acknowledged.
//
// A journaled write is durable once its record is: Flush has nothing to do
// for it. A sync (Flush after an unjournaled write, Close, a full ring)
// makes in-place writes durable and, when due, writes a checkpoint (the
// highest sequence number whose record is in place and durable) to every
// member; records at or below the checkpoint are never replayed, records
// above it may be replayed over what is already in place, which rewrites
// the same bytes, unless the stripe was since rewritten without a record:
// then the sync must checkpoint past them (retireStripe). When no record is
// in flight at a checkpoint, the rings start again at 0.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

const (
	jrecMagic  = "PVJREC01"
	jckptMagic = "PVJCKPT1"
	jhdrSize   = 4096
	jentrySize = 8
	jentryBase = 72
	jmaxEntry  = (jhdrSize - 4 - jentryBase) / jentrySize
)

// journalRecordMax is the largest record for disks members of chunk bytes.
func journalRecordMax(disks int, chunk int64) int64 {
	return jhdrSize + roundUp(int64(disks)*chunk, metaAlign)
}

type jentry struct {
	role uint16
	crc  uint32 // CRC32C of the whole new chunk
}

// jrecord is one journal record: bytes [lo, hi) of the new chunk of each
// entry's role in stripe s.
type jrecord struct {
	seq     uint64
	stripe  int64
	lo, hi  int64
	entries []jentry
	data    []byte // len(entries) * (hi-lo)
	raw     []byte // if set: size() bytes with data at raw[jhdrSize:]; encode fills its header
}

func (r *jrecord) payload(i int) []byte {
	n := r.hi - r.lo
	return r.data[int64(i)*n : int64(i+1)*n]
}

func (r *jrecord) size() int64 { return jhdrSize + roundUp(int64(len(r.data)), metaAlign) }

// encode lays the record out as it sits in a ring (see docs/raid-format.md).
func (r *jrecord) encode(uuid [16]byte) []byte {
	b := r.raw
	if b == nil {
		b = make([]byte, r.size())
		copy(b[jhdrSize:], r.data)
	} else {
		clear(b[:jhdrSize])
	}
	le := binary.LittleEndian
	copy(b, jrecMagic)
	le.PutUint64(b[8:], r.seq)
	le.PutUint64(b[16:], uint64(r.stripe))
	le.PutUint64(b[24:], uint64(r.lo))
	le.PutUint64(b[32:], uint64(r.hi))
	le.PutUint32(b[40:], uint32(len(r.entries)))
	le.PutUint64(b[48:], uint64(len(r.data)))
	copy(b[jentryBase-16:jentryBase], uuid[:])
	for i, e := range r.entries {
		o := jentryBase + jentrySize*i
		le.PutUint16(b[o:], e.role)
		le.PutUint32(b[o+4:], e.crc)
	}
	le.PutUint32(b[jhdrSize-4:], jrecCRC(b))
	return b
}

// jrecCRC covers the header (without its CRC field) and the payload.
func jrecCRC(b []byte) uint32 {
	c := crc32c(b[:jhdrSize-4])
	n := int64(binary.LittleEndian.Uint64(b[48:]))
	return crc32Update(c, b[jhdrSize:jhdrSize+n])
}

// decodeJRecord parses a record at the start of b; ok false means no valid
// record is there (b may hold the rest of the ring).
func decodeJRecord(b []byte, uuid [16]byte, maxEntries int) (*jrecord, bool) {
	if len(b) < jhdrSize || !bytes.Equal(b[:8], []byte(jrecMagic)) {
		return nil, false
	}
	le := binary.LittleEndian
	r := &jrecord{seq: le.Uint64(b[8:]), stripe: int64(le.Uint64(b[16:])),
		lo: int64(le.Uint64(b[24:])), hi: int64(le.Uint64(b[32:]))}
	n := int(le.Uint32(b[40:]))
	plen := int64(le.Uint64(b[48:]))
	if !bytes.Equal(b[jentryBase-16:jentryBase], uuid[:]) || n < 1 || n > maxEntries ||
		r.lo < 0 || r.hi <= r.lo || plen != int64(n)*(r.hi-r.lo) || plen > int64(len(b))-jhdrSize ||
		r.stripe < 0 {
		return nil, false
	}
	if jrecCRC(b) != le.Uint32(b[jhdrSize-4:]) {
		return nil, false
	}
	for i := 0; i < n; i++ {
		o := jentryBase + jentrySize*i
		r.entries = append(r.entries, jentry{role: le.Uint16(b[o:]), crc: le.Uint32(b[o+4:])})
	}
	r.data = append([]byte(nil), b[jhdrSize:jhdrSize+plen]...)
	return r, true
}

func encodeCkpt(seq uint64, uuid [16]byte) []byte {
	b := make([]byte, metaAlign)
	copy(b, jckptMagic)
	binary.LittleEndian.PutUint64(b[8:], seq)
	copy(b[16:32], uuid[:])
	binary.LittleEndian.PutUint32(b[metaAlign-4:], crc32c(b[:metaAlign-4]))
	return b
}

func decodeCkpt(b []byte, uuid [16]byte) (uint64, bool) {
	if len(b) < metaAlign || !bytes.Equal(b[:8], []byte(jckptMagic)) || !bytes.Equal(b[16:32], uuid[:]) ||
		crc32c(b[:metaAlign-4]) != binary.LittleEndian.Uint32(b[metaAlign-4:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[8:]), true
}

// journal is the array's write-ahead journal, one ring per member.
type journal struct {
	a    *Array
	l    *metaLayout
	uuid [16]byte
	ring int64 // bytes of ring per member

	mu       sync.Mutex // guards the fields below; held across checkpoint I/O
	cond     *sync.Cond
	seq      uint64           // last sequence number handed out
	ckpt     uint64           // last checkpoint written
	gen      uint64           // checkpoints written (picks the slot)
	heads    []int64          // per role: next free byte of its ring
	inflight map[uint64]bool  // records appended, not yet in place
	live     map[int64]uint64 // per stripe with records above the checkpoint: its newest record
	retire   uint64           // the sync after an unjournaled rewrite of a live stripe checkpoints past this
}

func newJournal(a *Array, l *metaLayout) *journal {
	j := &journal{a: a, l: l, uuid: a.master.SetUUID, ring: l.JournalSize - journalHdrSize,
		heads: make([]int64, a.geo.disks), inflight: map[uint64]bool{}, live: map[int64]uint64{}}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// append makes rec durable in the rings of targets (roles). It assigns
// rec.seq; the caller writes in place and then calls done(rec.seq).
func (j *journal) append(rec *jrecord, targets []int) error {
	size := rec.size()
	if size > j.ring {
		return fmt.Errorf("raid: journal record of %d bytes exceeds the ring of %d", size, j.ring)
	}
	j.mu.Lock()
	for {
		fits := true
		for _, r := range targets {
			if j.heads[r]+size > j.ring {
				fits = false
			}
		}
		if fits {
			break
		}
		if len(j.inflight) == 0 {
			if err := j.checkpointLocked(j.seq); err != nil {
				j.mu.Unlock()
				return err
			}
			continue
		}
		j.cond.Wait()
	}
	j.seq++
	rec.seq = j.seq
	pos := make([]int64, len(targets))
	for i, r := range targets {
		pos[i] = j.heads[r]
		j.heads[r] += size
	}
	j.inflight[rec.seq] = true
	j.live[rec.stripe] = rec.seq
	j.mu.Unlock()

	b := rec.encode(j.uuid)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for i, r := range targets {
		m := j.a.writable(r)
		if m == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writeFlush(m, b, j.l.JournalOffset+journalHdrSize+pos[i]); err != nil {
				j.a.failMember(r, err)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	if ok.Load() == 0 {
		j.done(rec.seq)
		return fmt.Errorf("raid: journal record for stripe %d reached no member", rec.stripe)
	}
	return nil
}

// done says record seq is written in place.
func (j *journal) done(seq uint64) {
	j.mu.Lock()
	delete(j.inflight, seq)
	j.cond.Broadcast()
	j.mu.Unlock()
}

// retireStripe notes that stripe s was written in place without a record:
// if records of s are above the checkpoint, replay would apply them over
// the new content, so the next sync must checkpoint past them.
func (j *journal) retireStripe(s int64) {
	j.mu.Lock()
	if q, ok := j.live[s]; ok {
		j.retire = max(j.retire, q)
	}
	j.mu.Unlock()
}

// wantCheckpoint says whether a sync should checkpoint: a record must be
// retired, or some ring is past half full (a full ring makes the next
// writer checkpoint in its path).
func (j *journal) wantCheckpoint() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.retire > j.ckpt {
		return true
	}
	for _, h := range j.heads {
		if h > j.ring/2 {
			return true
		}
	}
	return false
}

// appliedUpTo is the highest seq such that every record up to it is in place.
func (j *journal) appliedUpTo() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	x := j.seq
	for s := range j.inflight {
		x = min(x, s-1)
	}
	return x
}

// checkpoint records that every record up to x is in place and durable
// (the caller flushed the members after x was applied).
func (j *journal) checkpoint(x uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if x <= j.ckpt {
		return nil
	}
	return j.writeCkptLocked(x)
}

// checkpointLocked flushes everything and checkpoints x (ring full).
func (j *journal) checkpointLocked(x uint64) error {
	if err := j.a.syncMeta(); err != nil {
		return err
	}
	return j.writeCkptLocked(x)
}

func (j *journal) writeCkptLocked(x uint64) error {
	b := encodeCkpt(x, j.uuid)
	slot := int64((j.gen + 1) % 2)
	var wrote atomic.Int32
	var wg sync.WaitGroup
	for r := range j.a.geo.disks {
		m := j.a.writable(r)
		if m == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writeFlush(m, b, j.l.JournalOffset+slot*metaAlign); err != nil {
				j.a.failMember(r, err)
				return
			}
			wrote.Add(1)
		}()
	}
	wg.Wait()
	if wrote.Load() == 0 {
		return ErrFailed
	}
	j.gen++
	j.ckpt = x
	if x == j.seq && len(j.inflight) == 0 {
		for i := range j.heads {
			j.heads[i] = 0
		}
	}
	for s, q := range j.live {
		if q <= x {
			delete(j.live, s)
		}
	}
	return nil
}

// scanJournal reads the checkpoints and rings of the members in roles and
// returns the records above the newest checkpoint, in seq order, with that
// checkpoint.
func scanJournal(members map[int]Member, l *metaLayout, uuid [16]byte, disks int) ([]*jrecord, uint64, error) {
	var ckpt uint64
	for _, m := range members {
		for s := int64(0); s < 2; s++ {
			b := make([]byte, metaAlign)
			if _, err := m.ReadAt(b, l.JournalOffset+s*metaAlign); err != nil {
				continue
			}
			if v, ok := decodeCkpt(b, uuid); ok {
				ckpt = max(ckpt, v)
			}
		}
	}
	bySeq := map[uint64]*jrecord{}
	ring := l.JournalSize - journalHdrSize
	for _, m := range members {
		b := make([]byte, ring)
		if _, err := m.ReadAt(b, l.JournalOffset+journalHdrSize); err != nil {
			continue // a member whose ring cannot be read adds nothing
		}
		for off := int64(0); off+jhdrSize <= ring; off += metaAlign {
			r, ok := decodeJRecord(b[off:], uuid, min(disks, jmaxEntry))
			if !ok || r.seq <= ckpt {
				continue
			}
			bySeq[r.seq] = r
			off += r.size() - metaAlign
		}
	}
	out := make([]*jrecord, 0, len(bySeq))
	for _, r := range bySeq {
		out = append(out, r)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].seq < out[k].seq })
	return out, ckpt, nil
}

// writeFlush writes b at off on m and flushes m.
func writeFlush(m Member, b []byte, off int64) error {
	if _, err := m.WriteAt(b, off); err != nil {
		return err
	}
	return m.Flush()
}
