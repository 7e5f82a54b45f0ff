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
//	a.promoteSpare(role) (bool, error)      move a spare into a missing/faulty role, rebuilding from 0
//	a.failMember(role, cause)               mark a member faulty in the other superblocks
//	a.repairStripe(s, fix) (stripeCheck, error) verify stripe s against parity and CRCs, rewrite bad chunks
//	a.used                                  the used map (usedmap.go): regions (whole stripes) holding data
//
// Locks, in the order they may be taken: a stripe lock, then a.sbMu (held
// across superblock I/O only), then a.mu (never held across I/O), then
// a.crcMu; the journal's own mutex is taken with a stripe lock held and
// never with a.mu held.

import (
	"errors"
	"fmt"
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
	recovery int64  // rows rebuilt, when state is MemberRebuilding
	err      string // why it was failed, when faulty
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
	dirtyMu sync.Mutex // serialises marking the array dirty (ensureDirty)

	mu     sync.Mutex  // guards master, roles[*].state/recovery, spares
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
// and nil, false otherwise.
func (a *Array) usable(r int, s int64) (Member, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sl := a.roles[r]
	if sl.m == nil {
		return nil, false
	}
	switch sl.state {
	case MemberInSync:
		return sl.m, true
	case MemberRebuilding:
		if s < sl.recovery {
			return sl.m, true
		}
	}
	return nil, false // never a member that must not be read
}

// writable returns the member of role r if writes should reach it: in sync
// or being rebuilt.
func (a *Array) writable(r int) Member {
	a.mu.Lock()
	defer a.mu.Unlock()
	sl := a.roles[r]
	if sl.m != nil && (sl.state == MemberInSync || sl.state == MemberRebuilding) {
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

// promoteSpare moves the first spare into role r, which must be missing or
// faulty; the member then rebuilds from row 0. It reports false when there
// is no spare.
func (a *Array) promoteSpare(r int) (bool, error) {
	a.mu.Lock()
	if len(a.spares) == 0 {
		a.mu.Unlock()
		return false, nil
	}
	old := a.roles[r]
	if old.m != nil && old.state != MemberFaulty {
		a.mu.Unlock()
		return false, fmt.Errorf("raid: role %d is %s, not missing or faulty", r, old.state)
	}
	sp := a.spares[0]
	a.spares = a.spares[1:]
	sp.state = MemberRebuilding
	sp.recovery = 0
	a.roles[r] = sp
	a.master.DevRoles[sp.devNumber] = uint16(r)
	if old.m != nil {
		old.m = nil // a faulty member leaves the array
	}
	a.mu.Unlock()
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
