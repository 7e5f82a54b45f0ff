package raid

// Array is an assembled RAID-5 or RAID-6 array: the Volume the layers above
// write to, and the state that rebuild and scrub (rebuild.go, scrub.go) work
// on.
//
// Hooks for rebuild and scrub (unexported, stable within the package):
//
//	a.geo                                   geometry: level, disks, parity, data, chunk, stripes, dataOffset
//	a.codec                                 the P/Q codec for this shape
//	a.memberAt(role) (Member, MemberState)  the member in a role and its state
//	a.rebuildTargets() []int                roles whose member is rebuilding (recovery below the end)
//	a.recoveryRows(role) int64              rows of that role already rebuilt (recovery_offset / chunk)
//	a.lockStripe(s) (unlock func())         exclusive stripe lock; foreground I/O waits for it
//	a.readShardsLocked(s, lo, hi, skip)     every shard of stripe s for bytes [lo,hi) of the chunk,
//	                                         missing ones (and role skip, if >= 0) reconstructed
//	a.writeShardLocked(role, s, lo, b)      write b at byte lo of stripe s's chunk on role (no journal)
//	a.setChunkCRC(role, s, crc)             record the CRC32C of a full chunk (rebuilt chunks)
//	a.chunkCRC(role, s) (crc, ok)           the recorded CRC32C (ok false: none recorded)
//	a.setRecoveryOffset(role, rows) error   checkpoint: superblock recovery_offset of that member
//	a.markInSync(role) error                rebuild done: member in_sync, superblocks rewritten
//	a.addSpare(m Member) error              write a spare superblock on m and add it to the array
//	a.promoteSpare(role) (bool, error)      move a usable spare into a missing/faulty role, rebuilding from 0
//	a.failMember(role, cause)               mark a member faulty in the other superblocks
//	a.checkStripe(s, o) (stripeCheck, error) verify stripe s against parity and CRCs, locate and rewrite
//	                                         bad chunks (repair.go; scrub and Repair both call it)
//	a.addBadBlocks(slot, ranges) error      record member ranges in its bad-block log (badblocks.go)
//	a.maint()                               rebuild/scrub/latency state (maint.go)
//	a.used                                  the used map (usedmap.go): regions (whole stripes) holding data
//
// Bad blocks: the members usable and writable hand out are wrapped
// (badblocks.go) when their bad-block log lists ranges, so that every read
// path sees a listed range as an unreadable sector (reconstructed from the
// others, or ErrUnreadable) and every successful write clears what it
// covers.
//
// Locks, in the order they may be taken: stripe locks (a write round holds
// the stripes it journals until its flush, the rebuild reader a batch of
// rows, each in ascending stripe order over fewer than 256 stripes, so two
// never share an entry of the lock table; see write.go), then the
// journal's mutex (a full ring syncs with it held), then a.bbMu (held
// across bad-block log I/O), then a.syncMu (held across a sync's metadata
// writes and flushes), then a.sbMu (held across superblock I/O only), then
// a.mu (never held across I/O), then a.crcMu. The journal's background
// sync holds its own j.bgMu outside all of these.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// MemberState is one member's state in the array.
type MemberState string

// Member states as Status reports them.
const (
	MemberInSync     MemberState = "in_sync"
	MemberFaulty     MemberState = "faulty"
	MemberSpare      MemberState = "spare"
	MemberRebuilding MemberState = "rebuilding"
	MemberMissing    MemberState = "missing"
)

// ArrayState is the state of the whole array.
type ArrayState string

// Array states as Status reports them.
const (
	StateClean      ArrayState = "clean"
	StateDegraded   ArrayState = "degraded"
	StateRebuilding ArrayState = "rebuilding"
	StateFailed     ArrayState = "failed"
)

// ErrFailed is returned by I/O once more members are gone than parity
// covers.
var ErrFailed = errors.New("raid: array failed: more members are missing or faulty than parity can cover")

// ErrUnreadable is returned (wrapped) by reads of a stripe that has more
// chunks unreadable or missing than parity covers: that range is lost, the
// array goes on serving the rest.
var ErrUnreadable = errors.New("raid: data unreadable: more chunks of the stripe failed than parity covers")

// ErrReadOnly is returned by writes to an array assembled read-only.
var ErrReadOnly = errors.New("raid: array is assembled read-only")

// slot is one member of the array: an active role or a spare.
type slot struct {
	m          Member // nil: missing
	name       string
	devNumber  uint32
	deviceUUID [16]byte
	events     uint64 // as read at assembly
	// guarded by Array.mu:
	state    MemberState
	recovery int64   // rows rebuilt, when state is MemberRebuilding
	err      string  // why it was failed, when faulty
	bad      []Range // its bad-block log: member byte ranges, sorted, merged; replaced, never changed in place
}

// Array is an assembled array. It is safe for concurrent use.
type Array struct {
	geo      geometry
	codec    *codec
	readOnly bool
	meta     *metaLayout // nil: md-native array without postvault metadata
	locks    stripeLocks
	jr       *journal
	cache    *stripeCache // content of the stripes written last (stripecache.go)
	used     *usedMap
	crcs     *crcTable
	overlay  *overlay // read-only assembly: journal records not yet in place
	closed   atomic.Bool
	dirty    atomic.Bool // superblocks say dirty (resync_offset 0)
	unsynced atomic.Bool // a write went in place without a journal record since the last sync

	sbMu    sync.Mutex // serialises superblock writes (held across their I/O)
	bbMu    sync.Mutex // serialises bad-block log updates (held across their I/O)
	dirtyMu sync.Mutex // serialises marking the array dirty (ensureDirty)
	syncMu  sync.Mutex // serialises syncMeta: a sync that finds nothing dirty must still flush after another's page writes

	mtOnce sync.Once
	mt     *maintenance // rebuild, scrub and latency state (maint.go), made on first use

	mu     sync.Mutex  // guards master, roles and spares (the slice and each slot's state/recovery/err/bad)
	master *superblock // the array's superblock; per-member copies differ in dev_number etc.
	roles  []*slot     // by role 0..disks-1; never nil (m nil when missing)
	spares []*slot
}

// memberAt returns the member in role r and its state.
func (a *Array) memberAt(r int) (Member, MemberState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.roles[r]
	return s.m, s.state
}

// rebuildTargets lists the roles being rebuilt.
func (a *Array) rebuildTargets() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []int
	for r, s := range a.roles {
		if s.state == MemberRebuilding && s.m != nil {
			out = append(out, r)
		}
	}
	return out
}

// recoveryRows returns how many rows of role r are rebuilt.
func (a *Array) recoveryRows(r int) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.roles[r].state {
	case MemberInSync:
		return a.geo.stripes
	case MemberRebuilding:
		return a.roles[r].recovery
	}
	return 0
}

// usable returns the member of role r if it holds valid data for stripe s,
// and nil, false otherwise. When the member's bad-block log lists ranges,
// it comes wrapped (bbMember): a read that touches one fails, so callers
// reconstruct it as they do an unreadable sector, whatever span (one
// chunk, many rows) they read.
func (a *Array) usable(r int, s int64) (Member, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sl := a.roles[r]
	if sl.m == nil {
		return nil, false
	}
	switch {
	case sl.state == MemberInSync, sl.state == MemberRebuilding && s < sl.recovery:
		if len(sl.bad) > 0 {
			return &bbMember{Member: sl.m, a: a, sl: sl}, true
		}
		return sl.m, true
	}
	return nil, false // never a member that must not be read
}

// writable returns the member of role r if writes should reach it: in sync
// or being rebuilt, and never in a read-only assembly (so that no path,
// read-error repair included, writes there). A member with bad blocks comes
// wrapped, so that a successful write clears the ranges it covers.
func (a *Array) writable(r int) Member {
	if a.readOnly {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sl := a.roles[r]
	if sl.m != nil && (sl.state == MemberInSync || sl.state == MemberRebuilding) {
		if len(sl.bad) > 0 {
			return &bbMember{Member: sl.m, a: a, sl: sl}
		}
		return sl.m
	}
	return nil
}

// working counts roles in sync, and roles in sync or rebuilding.
func (a *Array) working() (inSync, alive int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.roles {
		if s.m == nil {
			continue
		}
		switch s.state {
		case MemberInSync:
			inSync++
			alive++
		case MemberRebuilding:
			alive++
		}
	}
	return
}

// failedNow reports whether too few members remain.
func (a *Array) failedNow() bool {
	inSync, _ := a.working()
	return inSync < a.geo.data
}

// failMember marks role r faulty and records that in the superblocks of the
// members that remain (events bumped), as md does. Errors writing those
// superblocks fail those members in turn.
func (a *Array) failMember(r int, cause error) {
	a.mu.Lock()
	sl := a.roles[r]
	if sl.state == MemberFaulty || sl.m == nil {
		a.mu.Unlock()
		return
	}
	sl.state = MemberFaulty
	if cause != nil {
		sl.err = cause.Error()
	}
	if int(sl.devNumber) < len(a.master.DevRoles) {
		a.master.DevRoles[sl.devNumber] = RoleFaulty
	}
	a.mu.Unlock()
	if a.readOnly {
		return
	}
	_ = a.writeSuperblocks(true)
}

// markInSync ends the rebuild of role r.
func (a *Array) markInSync(r int) error {
	a.mu.Lock()
	sl := a.roles[r]
	if sl.m == nil || sl.state != MemberRebuilding {
		a.mu.Unlock()
		return fmt.Errorf("raid: role %d is not being rebuilt", r)
	}
	sl.state = MemberInSync
	sl.recovery = 0
	a.master.DevRoles[sl.devNumber] = uint16(r)
	a.mu.Unlock()
	return a.writeSuperblocks(true)
}

// setRecoveryOffset checkpoints the rebuild of role r: rows rows are done.
// It rewrites the superblocks without bumping events.
func (a *Array) setRecoveryOffset(r int, rows int64) error {
	a.mu.Lock()
	sl := a.roles[r]
	if sl.m == nil || sl.state != MemberRebuilding {
		a.mu.Unlock()
		return fmt.Errorf("raid: role %d is not being rebuilt", r)
	}
	sl.recovery = min(rows, a.geo.stripes)
	a.mu.Unlock()
	return a.writeSuperblocks(false)
}

// promoteSpare moves the first usable spare (one in state spare, not
// failed or gone) into role r, which must be missing or faulty; the member
// then rebuilds from row 0. It reports false when no spare is usable.
func (a *Array) promoteSpare(r int) (bool, error) {
	return a.promoteMember(r, nil)
}

// promoteMember is promoteSpare taking the spare that holds m (any usable
// spare when m is nil). A faulty member the spare replaces leaves its role:
// it stays listed as faulty (Status) and its handle is closed, unless
// another slot still holds the same Member (Replace keeps the old member
// open as its source until Close).
func (a *Array) promoteMember(r int, m Member) (bool, error) {
	a.mu.Lock()
	old := a.roles[r]
	if old.m != nil && old.state != MemberFaulty {
		a.mu.Unlock()
		return false, fmt.Errorf("raid: role %d is %s, not missing or faulty", r, old.state)
	}
	i := a.usableSpareLocked(m)
	if i < 0 {
		a.mu.Unlock()
		return false, nil
	}
	sp := a.spares[i]
	a.spares = slices.Delete(a.spares, i, i+1)
	sp.state = MemberRebuilding
	sp.recovery = 0
	a.roles[r] = sp
	a.master.DevRoles[sp.devNumber] = uint16(r)
	var closeOld Member
	if old.m != nil {
		if !a.holdsLocked(old.m) {
			closeOld = old.m
			gone := *old // listed as faulty; nothing left to read, write or close
			gone.m, gone.bad = nil, nil
			a.spares = append(a.spares, &gone)
		}
	}
	a.mu.Unlock()
	if closeOld != nil {
		closeOld.Close() // it failed: a close error says nothing new
	}
	if a.crcs != nil {
		if err := a.crcs.zeroRegion(r, sp.m); err != nil {
			a.failMember(r, err)
		}
	}
	if a.used != nil && a.meta != nil {
		if err := writeUsedMap(sp.m, a.meta.UsedOffset, a.meta.UsedSize, a.used.encode()); err != nil {
			a.failMember(r, err)
		}
	}
	return true, a.writeSuperblocks(true)
}

// usableSpareLocked returns the index of the first spare that can take a
// role (state spare, member present), holding m when m is not nil; -1 when
// there is none. The caller holds a.mu.
func (a *Array) usableSpareLocked(m Member) int {
	return slices.IndexFunc(a.spares, func(sp *slot) bool {
		return sp.m != nil && sp.state == MemberSpare && (m == nil || sameMember(sp.m, unwrap(m)))
	})
}

// holdsLocked reports whether any slot (role or spare) holds m. The caller
// holds a.mu.
func (a *Array) holdsLocked(m Member) bool {
	for _, s := range append(append([]*slot(nil), a.roles...), a.spares...) {
		if s.m != nil && unwrap(s.m) == unwrap(m) {
			return true
		}
	}
	return false
}

// addSpare writes a spare superblock and our metadata on m and adds it.
func (a *Array) addSpare(m Member) error {
	if a.readOnly {
		return ErrReadOnly
	}
	if a.meta == nil {
		return errors.New("raid: cannot add a member to an array without postvault metadata")
	}
	need := a.geo.dataOffset + a.geo.stripes*a.geo.chunk
	if m.Size() < need {
		return fmt.Errorf("raid: new member holds %d bytes, the array needs %d", m.Size(), need)
	}
	a.mu.Lock()
	devNum := a.freeDevNumberLocked()
	if devNum < 0 {
		a.mu.Unlock()
		return errors.New("raid: no free device slot in the superblock")
	}
	sl := &slot{m: m, name: memberName(m, -1), devNumber: uint32(devNum), state: MemberSpare}
	if err := randomUUID(&sl.deviceUUID); err != nil {
		a.mu.Unlock()
		return err
	}
	a.master.DevRoles[devNum] = RoleSpare
	a.mu.Unlock()
	if err := initMeta(m, a.meta); err != nil {
		return err
	}
	a.mu.Lock()
	a.spares = append(a.spares, sl)
	a.mu.Unlock()
	return a.writeSuperblocks(true)
}

// freeDevNumberLocked finds a dev_roles slot no member uses.
func (a *Array) freeDevNumberLocked() int {
	taken := map[uint32]bool{}
	for _, s := range a.roles {
		if s.m != nil || s.state != MemberMissing {
			taken[s.devNumber] = true
		}
	}
	for _, s := range a.spares {
		taken[s.devNumber] = true
	}
	for i := range a.master.DevRoles {
		if !taken[uint32(i)] && (a.master.DevRoles[i] == RoleSpare || a.master.DevRoles[i] == RoleFaulty) {
			return i
		}
	}
	return -1
}

// memberName is the member's Name() if it has one.
func memberName(m Member, i int) string {
	if n, ok := m.(interface{ Name() string }); ok {
		return n.Name()
	}
	if i < 0 {
		return "member"
	}
	return fmt.Sprintf("member %d", i)
}

// crcSource is where role r's checksum pages are read from: its member when
// in sync or being rebuilt.
func (a *Array) crcSource(r int) Member {
	if a.meta == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.roles[r]; s.m != nil && (s.state == MemberInSync || s.state == MemberRebuilding) {
		return s.m
	}
	return nil
}
