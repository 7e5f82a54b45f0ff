package raid

// The journal closes the RAID write hole. A write to a stripe that holds
// data (its stripeUse bit is set) first stores the stripe's new bytes, for
// every chunk the write changes (data, P, Q), as one record: a piece per
// chunk in the journal ring of that chunk's own member. It flushes those
// members and only then writes in place. A crash can tear the in-place
// writes, but then every piece is durable and assembly replays the record
// from the pieces on the surviving members, which with the unchanged chunks
// determine the new stripe, before any member is reconstructed from it. A
// crash before every piece is durable leaves the stripe as it was: the
// in-place writes had not begun, and replay drops a record with a piece
// missing from a readable ring.
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
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const (
	jrecMagic  = "PVJREC02"
	jckptMagic = "PVJCKPT1"
	jhdrSize   = 4096
	jentrySize = 16
	jentryBase = 56
	jmaxEntry  = (jhdrSize - 4 - jentryBase) / jentrySize
)

// journalRecordMax bounds the ring space one write needs on a member of an
// array of disks members of chunk bytes (used to size the ring at create;
// a piece needs jhdrSize + chunk at most).
func journalRecordMax(disks int, chunk int64) int64 {
	return jhdrSize + roundUp(int64(disks)*chunk, metaAlign)
}

// jentry is one chunk a record changes: bytes [lo, hi) of role's chunk.
type jentry struct {
	role   uint16
	crc    uint32 // CRC32C of the whole new chunk
	lo, hi int64
}

// jrecord is one journaled write of stripe s: the new bytes of every chunk
// it changes. On the media it is split into pieces, one per entry, each in
// the ring of the member that entry's chunk lives on, all sharing one
// header (the entries) and each carrying its own entry's bytes. One copy of
// each chunk's new bytes suffices: after a crash, the pieces on surviving
// members and the chunks the write did not change are a consistent stripe
// (see replayable).
type jrecord struct {
	seq     uint64
	stripe  int64
	entries []jentry
	data    [][]byte     // per entry: bytes [lo, hi) of its new chunk; nil for a piece not found
	written atomic.Int32 // pieces durable on their members (the write path)
}

// pieceSize is the ring bytes of entry i's piece.
func (r *jrecord) pieceSize(i int) int64 {
	return jhdrSize + roundUp(r.entries[i].hi-r.entries[i].lo, metaAlign)
}

// encodePiece lays out entry i's piece as it sits in a ring (see
// docs/raid-format.md): its header, then the entry's bytes.
func (r *jrecord) encodePiece(i int, uuid, key [16]byte) []byte {
	b := make([]byte, r.pieceSize(i))
	copy(b, r.encodeHeader(i, uuid, key))
	copy(b[jhdrSize:], r.data[i])
	return b
}

// encodeHeader returns the jhdrSize bytes of entry i's piece before its
// payload, the CRC (over key, header and payload) included, so that the
// payload can be written from where it is without a copy.
func (r *jrecord) encodeHeader(i int, uuid, key [16]byte) []byte {
	b := make([]byte, jhdrSize)
	le := binary.LittleEndian
	copy(b, jrecMagic)
	le.PutUint64(b[8:], r.seq)
	le.PutUint64(b[16:], uint64(r.stripe))
	le.PutUint32(b[24:], uint32(i))
	le.PutUint32(b[28:], uint32(len(r.entries)))
	le.PutUint64(b[32:], uint64(len(r.data[i])))
	copy(b[40:56], uuid[:])
	for k, e := range r.entries {
		o := jentryBase + jentrySize*k
		le.PutUint16(b[o:], e.role)
		le.PutUint32(b[o+4:], e.crc)
		le.PutUint32(b[o+8:], uint32(e.lo))
		le.PutUint32(b[o+12:], uint32(e.hi))
	}
	c := crc32Update(crc32c(key[:]), b[:jhdrSize-4])
	le.PutUint32(b[jhdrSize-4:], crc32Update(c, r.data[i]))
	return b
}

// jrecCRC covers the array's journal key (metaLayout.JournalKey), the
// header (without its CRC field) and the payload.
func jrecCRC(b []byte, key [16]byte) uint32 {
	c := crc32Update(crc32c(key[:]), b[:jhdrSize-4])
	n := int64(binary.LittleEndian.Uint64(b[32:]))
	return crc32Update(c, b[jhdrSize:jhdrSize+n])
}

// decodePiece parses a piece at the start of b; ok false means no valid
// piece is there (b may hold the rest of the ring). It returns the record
// with only the piece's entry's data set, and that entry's index.
func decodePiece(b []byte, uuid, key [16]byte, maxEntries int) (*jrecord, int, bool) {
	if len(b) < jhdrSize || !bytes.Equal(b[:8], []byte(jrecMagic)) || !bytes.Equal(b[40:56], uuid[:]) {
		return nil, 0, false
	}
	le := binary.LittleEndian
	r := &jrecord{seq: le.Uint64(b[8:]), stripe: int64(le.Uint64(b[16:]))}
	piece, n := int(le.Uint32(b[24:])), int(le.Uint32(b[28:]))
	plen := int64(le.Uint64(b[32:]))
	if n < 1 || n > maxEntries || piece >= n || r.stripe < 0 || plen < 0 || plen > int64(len(b))-jhdrSize {
		return nil, 0, false
	}
	if jrecCRC(b, key) != le.Uint32(b[jhdrSize-4:]) {
		return nil, 0, false
	}
	for k := 0; k < n; k++ {
		o := jentryBase + jentrySize*k
		e := jentry{role: le.Uint16(b[o:]), crc: le.Uint32(b[o+4:]),
			lo: int64(le.Uint32(b[o+8:])), hi: int64(le.Uint32(b[o+12:]))}
		if e.hi <= e.lo {
			return nil, 0, false
		}
		r.entries = append(r.entries, e)
	}
	if plen != r.entries[piece].hi-r.entries[piece].lo {
		return nil, 0, false
	}
	r.data = make([][]byte, n)
	r.data[piece] = append([]byte(nil), b[jhdrSize:jhdrSize+plen]...)
	return r, piece, true
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
	bgTimer  *time.Timer      // pending background sync
	bgStop   bool             // Close began: no more background syncs

	bgMu sync.Mutex // held while a background sync runs
}

// syncDelay is how long after a journaled write a background sync puts
// everything in place and checkpoints: records are not left to replay for
// long, and the members alone (as stock mdadm sees them) hold every
// acknowledged write within seconds.
const syncDelay = 2 * time.Second

// scheduleSync arms a background sync unless one is pending.
func (j *journal) scheduleSync() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.bgTimer == nil && !j.bgStop {
		j.bgTimer = time.AfterFunc(syncDelay, j.backgroundSync)
	}
}

func (j *journal) backgroundSync() {
	j.bgMu.Lock()
	defer j.bgMu.Unlock()
	j.mu.Lock()
	j.bgTimer = nil
	stop := j.bgStop
	j.mu.Unlock()
	if stop || j.a.closed.Load() || j.a.failedNow() {
		return
	}
	// An error has failed members already (the array reports it); the
	// records stay replayable, so nothing is lost by giving up here.
	_ = j.a.sync(true)
}

// stopSync cancels a pending background sync and waits for a running one.
func (j *journal) stopSync() {
	j.mu.Lock()
	j.bgStop = true
	if j.bgTimer != nil {
		j.bgTimer.Stop()
		j.bgTimer = nil
	}
	j.mu.Unlock()
	j.bgMu.Lock()
	j.bgMu.Unlock() //nolint:staticcheck // waits for a running sync
}

func newJournal(a *Array, l *metaLayout) *journal {
	j := &journal{a: a, l: l, uuid: a.master.SetUUID, ring: l.JournalSize - journalHdrSize,
		heads: make([]int64, a.geo.disks), inflight: map[uint64]bool{}, live: map[int64]uint64{}}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// jpiece is one piece of a record to write: entry i of rec at byte pos of
// its member's ring.
type jpiece struct {
	rec *jrecord
	i   int
	pos int64
}

// reserve hands out sequence numbers and ring space for recs, one piece per
// entry in the ring of the member its chunk lives on (entries whose member
// is not writable get no piece: their chunk is not written in place
// either), waiting for space or checkpointing a full ring. It returns the
// pieces by role; the records are in flight until done. The caller must
// not hold syncMu (a full ring syncs).
func (j *journal) reserve(recs []*jrecord) (map[int][]jpiece, error) {
	need := map[int]int64{}
	pieces := map[int][]jpiece{}
	for _, rec := range recs {
		n := 0
		for i, e := range rec.entries {
			if j.a.writable(int(e.role)) == nil {
				continue
			}
			if rec.pieceSize(i) > j.ring {
				return nil, fmt.Errorf("raid: journal piece of %d bytes exceeds the ring of %d", rec.pieceSize(i), j.ring)
			}
			need[int(e.role)] += rec.pieceSize(i)
			pieces[int(e.role)] = append(pieces[int(e.role)], jpiece{rec: rec, i: i})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("raid: journal record for stripe %d has no writable member", rec.stripe)
		}
	}
	for r, n := range need {
		if n > j.ring {
			return nil, fmt.Errorf("raid: journal pieces of %d bytes for role %d exceed the ring of %d", n, r, j.ring)
		}
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		fits := true
		for r, n := range need {
			if j.heads[r]+n > j.ring {
				fits = false
			}
		}
		if fits {
			break
		}
		if len(j.inflight) == 0 {
			if err := j.checkpointLocked(j.seq); err != nil {
				return nil, err
			}
			continue
		}
		j.cond.Wait()
	}
	for _, rec := range recs {
		j.seq++
		rec.seq = j.seq
		j.inflight[rec.seq] = true
		j.live[rec.stripe] = rec.seq
	}
	for r, ps := range pieces {
		for k := range ps {
			ps[k].pos = j.heads[r]
			j.heads[r] += ps[k].rec.pieceSize(ps[k].i)
		}
	}
	return pieces, nil
}

// writePieceList writes role r's pieces to m's ring (not flushed).
func (j *journal) writePieceList(m Member, ps []jpiece) error {
	base := j.l.JournalOffset + journalHdrSize
	for _, p := range ps {
		if _, err := m.WriteAt(p.rec.encodeHeader(p.i, j.uuid, j.l.JournalKey), base+p.pos); err != nil {
			return err
		}
		if _, err := m.WriteAt(p.rec.data[p.i], base+p.pos+jhdrSize); err != nil {
			return err
		}
	}
	return nil
}

// piecesWritten counts ps as durable in their records.
func piecesWritten(ps []jpiece) {
	for _, p := range ps {
		p.rec.written.Add(1)
	}
}

// writePieces writes and flushes every role's pieces, the roles in
// parallel; a member that fails is failed, and its pieces are not counted.
func (j *journal) writePieces(pieces map[int][]jpiece) {
	var wg sync.WaitGroup
	for r, ps := range pieces {
		m := j.a.writable(r)
		if m == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := j.writePieceList(m, ps)
			if err == nil {
				err = m.Flush()
			}
			if err != nil {
				j.a.failMember(r, err)
				return
			}
			piecesWritten(ps)
		}()
	}
	wg.Wait()
}

// mustRetire says whether a stripe with records above the checkpoint was
// rewritten without a record since the last checkpoint.
func (j *journal) mustRetire() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.retire > j.ckpt
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

// scanJournal reads the checkpoints and rings of members (by role) and
// returns the records above the newest checkpoint that replay must apply,
// in seq order, with that checkpoint and the highest seq of any piece
// found. A record is applied when each of its
// entries has its piece or lives on a role whose ring could not be read
// (missing, failed, stale, unreadable): then every in-place write may
// have begun and the pieces found, with the chunks the write left alone,
// make the stripe's new content consistent. A record with a piece absent
// from a readable ring was never complete, so its in-place writes never
// began: the stripe is as it was and the record is dropped.
func scanJournal(members map[int]Member, l *metaLayout, uuid [16]byte, disks int) ([]*jrecord, uint64, uint64, error) {
	var ckpt, seen uint64
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
	readable := map[int]bool{}
	ring := l.JournalSize - journalHdrSize
	for role, m := range members {
		b := make([]byte, ring)
		if _, err := m.ReadAt(b, l.JournalOffset+journalHdrSize); err != nil {
			continue // a member whose ring cannot be read adds nothing
		}
		readable[role] = true
		for off := int64(0); off+jhdrSize <= ring; off += metaAlign {
			r, i, ok := decodePiece(b[off:], uuid, l.JournalKey, min(disks, jmaxEntry))
			if !ok || r.seq <= ckpt {
				continue
			}
			off += r.pieceSize(i) - metaAlign
			seen = max(seen, r.seq)
			if int(r.entries[i].role) != role {
				continue // a piece belongs in its own chunk's member's ring
			}
			have := bySeq[r.seq]
			if have == nil {
				bySeq[r.seq] = r
				continue
			}
			if have.stripe == r.stripe && slices.Equal(have.entries, r.entries) {
				have.data[i] = r.data[i]
			}
		}
	}
	out := make([]*jrecord, 0, len(bySeq))
	for _, r := range bySeq {
		if r.replayable(readable) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].seq < out[k].seq })
	return out, ckpt, seen, nil
}

// replayable says whether every entry has its piece or lives on a role
// whose ring was not readable.
func (r *jrecord) replayable(readable map[int]bool) bool {
	for i, e := range r.entries {
		if r.data[i] == nil && readable[int(e.role)] {
			return false
		}
	}
	return true
}

// writeFlush writes b at off on m and flushes m.
func writeFlush(m Member, b []byte, off int64) error {
	if _, err := m.WriteAt(b, off); err != nil {
		return err
	}
	return m.Flush()
}
