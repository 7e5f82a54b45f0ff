package raid

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// AssembleOptions tune Assemble. The zero value (or nil) assembles for
// writing and refuses an array that is both dirty and degraded.
type AssembleOptions struct {
	// ReadOnly assembles without ever writing to a member: the journal is
	// applied in memory only, stale members are left as they are.
	ReadOnly bool
	// Force starts an array that is dirty (not shut down cleanly) and
	// degraded for writing. See ErrDirtyDegraded for the risk. Read-only
	// assembly does not need it.
	Force bool
}

// ErrDirtyDegraded is returned (wrapped) by Assemble for an array that is
// dirty and degraded, unless forced.
var ErrDirtyDegraded = errors.New("raid: array is dirty and degraded")

// ErrForeign is returned (wrapped) by Assemble when a member belongs to
// another array; that member is never written.
var ErrForeign = errors.New("raid: member belongs to another array")

type found struct {
	m    Member
	name string
	sb   *superblock
}

// Assemble finds the array's members by their superblocks, whatever their
// order, and starts the array. Every member must carry the same array UUID
// (a member of another array is refused, ErrForeign, and never written). A
// member more than one event behind the newest is stale: it is not trusted,
// and (unless read-only) is rebuilt. A dirty and degraded array does not
// start without Force.
func Assemble(members []Member, opts *AssembleOptions) (*Array, error) {
	if opts == nil {
		opts = &AssembleOptions{}
	}
	if len(members) == 0 {
		return nil, errors.New("raid: no members given")
	}
	fs, err := readAll(members)
	if err != nil {
		return nil, err
	}
	newest := fs[0]
	for _, f := range fs[1:] {
		if f.sb.Events > newest.sb.Events {
			newest = f
		}
	}
	master := newest.sb.clone()
	if err := master.validateGeometry(); err != nil {
		return nil, err
	}
	chunk := int64(master.ChunkSize) * 512
	geo := newGeometry(int(master.Level), int(master.RaidDisks), chunk,
		int64(master.Size)*512/chunk, int64(master.DataOffset)*512)
	a := &Array{geo: geo, readOnly: opts.ReadOnly, master: master}
	if a.codec, err = newCodec(geo.data, geo.parity); err != nil {
		return nil, err
	}
	a.roles = make([]*slot, geo.disks)
	for r := range a.roles {
		a.roles[r] = &slot{state: MemberMissing, devNumber: ^uint32(0)}
	}
	for r, d := range master.DevRoles {
		if int(d) < geo.disks {
			a.roles[d].devNumber = uint32(r)
		}
	}
	if err := a.placeMembers(fs, master); err != nil {
		return nil, err
	}
	a.loadBadBlocks() // badblocks.go
	inSync, _ := a.working()
	if inSync < geo.data {
		return nil, fmt.Errorf("raid: only %d of %d members are in sync, RAID-%d needs %d: %w%s",
			inSync, geo.disks, geo.level, geo.data, ErrFailed, a.describeMissing())
	}
	dirty := master.ResyncOffset != maxSector
	a.dirty.Store(dirty)
	// A read-only assembly writes nothing and applies the journal in memory,
	// so it may look at a dirty, degraded array without being forced.
	if dirty && inSync < geo.disks && !opts.Force && !opts.ReadOnly {
		return nil, fmt.Errorf("%w: it was not shut down cleanly, so stripes written at that moment may "+
			"have parity that does not match their data, and %d member(s) are missing, whose chunks would "+
			"be rebuilt from that parity. postvault replays its journal, which covers every write it "+
			"acknowledged, but --force (AssembleOptions.Force) may still return wrong bytes for writes "+
			"that were in flight at the crash%s", ErrDirtyDegraded, geo.disks-inSync, a.describeMissing())
	}
	if err := a.loadMeta(); err != nil {
		return nil, err
	}
	return a, nil
}

// readAll reads every member's superblock and checks they are one array.
func readAll(members []Member) ([]found, error) {
	var fs []found
	for i, m := range members {
		name := memberName(m, i)
		sb, err := readSuperblock(m)
		if err != nil {
			if errors.Is(err, errNoSuperblock) {
				return nil, fmt.Errorf("raid: %s has no md superblock: it is not a member of any array", name)
			}
			return nil, fmt.Errorf("raid: %s: %w", name, err)
		}
		fs = append(fs, found{m, name, sb})
	}
	// The array is the UUID most members carry; ties go to the first member.
	count := map[[16]byte]int{}
	best := fs[0].sb.SetUUID
	for _, f := range fs {
		count[f.sb.SetUUID]++
		if count[f.sb.SetUUID] > count[best] {
			best = f.sb.SetUUID
		}
	}
	for _, f := range fs {
		if f.sb.SetUUID != best {
			return nil, fmt.Errorf("%w: %s carries array UUID %s, the others %s; refusing it (nothing was written)",
				ErrForeign, f.name, formatUUID(f.sb.SetUUID), formatUUID(best))
		}
	}
	for _, f := range fs {
		sb := f.sb
		if need := int64(sb.DataOffset+sb.Size) * 512; f.m.Size() < need {
			return nil, fmt.Errorf("raid: %s holds %d bytes, its superblock needs %d (data offset %d sectors + %d sectors of data): was it truncated?",
				f.name, f.m.Size(), need, sb.DataOffset, sb.Size)
		}
	}
	for _, f := range fs[1:] {
		a, b := f.sb, fs[0].sb
		if a.Level != b.Level || a.RaidDisks != b.RaidDisks || a.ChunkSize != b.ChunkSize ||
			a.Layout != b.Layout || a.Size != b.Size || a.DataOffset != b.DataOffset {
			return nil, fmt.Errorf("raid: %s has the array's UUID but another shape (level %d, %d devices, chunk %d, size %d, data offset %d): postvault needs one data offset on every member",
				f.name, a.Level, a.RaidDisks, a.ChunkSize, a.Size, a.DataOffset)
		}
	}
	return fs, nil
}

// placeMembers puts each member in its role (from the newest superblock's
// dev_roles), or among the spares; stale and duplicate members are not
// trusted.
func (a *Array) placeMembers(fs []found, master *superblock) error {
	for _, f := range fs {
		sb := f.sb
		sl := &slot{m: f.m, name: f.name, devNumber: sb.DevNumber, deviceUUID: sb.DeviceUUID, events: sb.Events}
		if int(sb.DevNumber) >= len(master.DevRoles) {
			return fmt.Errorf("raid: %s has device number %d beyond max_dev %d", f.name, sb.DevNumber, master.MaxDev)
		}
		role := master.DevRoles[sb.DevNumber]
		stale := sb.Events+1 < master.Events
		switch {
		case role == RoleSpare:
			sl.state = MemberSpare
			a.spares = append(a.spares, sl)
			continue
		case role == RoleFaulty || role == roleJournal || int(role) >= a.geo.disks:
			sl.state = MemberFaulty
			a.spares = append(a.spares, sl) // kept to be closed and reported; never used
			continue
		}
		old := a.roles[role]
		if old.m != nil {
			if old.events >= sb.Events {
				sl.state = MemberFaulty
				a.spares = append(a.spares, sl)
				continue
			}
			old.state = MemberFaulty
			a.spares = append(a.spares, old)
		}
		sl.state = MemberInSync
		if stale {
			sl.state = MemberRebuilding // not trusted: rebuilt from row 0
		} else if sb.FeatureMap&featRecoveryOffset != 0 {
			sl.state = MemberRebuilding
			sl.recovery = int64(sb.RecoveryOffset) * 512 / a.geo.chunk
		}
		a.roles[role] = sl
	}
	return nil
}

// describeMissing names the roles without a member in sync.
func (a *Array) describeMissing() string {
	var parts []string
	for r, s := range a.roles {
		switch {
		case s.m == nil:
			parts = append(parts, fmt.Sprintf("role %d missing", r))
		case s.state != MemberInSync:
			parts = append(parts, fmt.Sprintf("role %d %s (%s)", r, s.state, s.name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, ", ") + "]"
}

// loadMeta reads postvault's metadata (layout, checksums, used map) and
// replays the journal. An md-native array (no metadata) can only be read.
func (a *Array) loadMeta() error {
	usable := map[int]Member{}
	for r, s := range a.roles {
		if s.m != nil && s.state == MemberInSync {
			usable[r] = s.m
		}
	}
	for _, m := range usable {
		if l, err := readMetaLayout(m); err == nil && l.SetUUID == a.master.SetUUID {
			if err := l.validate(a.geo.dataOffset); err != nil {
				return err
			}
			a.meta = l
			break
		}
	}
	if a.meta == nil {
		if !a.readOnly {
			return errors.New("raid: this array has no postvault metadata (it was made by mdadm): " +
				"postvault can read it (assemble read-only) but not write it without a journal")
		}
		a.used, _ = newUsedMap(a.geo.size(), a.geo.stripeSize())
		a.used.setAll() // md keeps no used map: every stripe may hold data
		a.crcs = newCRCTable(a.geo.disks, a.geo.stripes, 0, nil)
		return nil
	}
	if rows := roundUp(a.geo.stripes*4, metaAlign); rows > a.meta.CRCSize {
		return fmt.Errorf("raid: checksum region of %d bytes cannot hold %d rows", a.meta.CRCSize, a.geo.stripes)
	}
	a.crcs = newCRCTable(a.geo.disks, a.geo.stripes, a.meta.CRCOffset, a.crcSource)
	var ms []Member
	for _, m := range usable {
		ms = append(ms, m)
	}
	u, err := readUsedMap(ms, a.meta.UsedOffset, a.meta.UsedSize)
	if err != nil || u.size != a.geo.size() || u.region%a.geo.stripeSize() != 0 {
		// No good copy: every stripe may hold data (journaled writes, full rebuilds).
		u, _ = newUsedMap(a.geo.size(), a.geo.stripeSize())
		u.setAll()
	}
	a.used = u
	if !a.readOnly {
		for r, s := range a.roles {
			if s.m != nil && s.state == MemberRebuilding && s.recovery == 0 {
				if err := a.crcs.zeroRegion(r, s.m); err != nil { // stale sums: rebuild records new ones
					return fmt.Errorf("raid: %s: clearing its checksums: %w", s.name, err)
				}
			}
		}
	}
	a.jr = newJournal(a, a.meta)
	a.cache = newStripeCache(int64(a.geo.disks)*a.geo.chunk, stripeCacheEntries)
	// Records may sit on members being rebuilt too (they take writes):
	// read their rings as well.
	rings := map[int]Member{}
	for r, s := range a.roles {
		if s.m != nil && (s.state == MemberInSync || s.state == MemberRebuilding) {
			rings[r] = s.m
		}
	}
	return a.replay(rings)
}

// replay applies the journal records above the newest checkpoint: in place
// when writable, in memory (overlay) when read-only.
func (a *Array) replay(rings map[int]Member) error {
	recs, ckpt, seen, err := scanJournal(rings, a.meta, a.master.SetUUID, a.geo.disks)
	if err != nil {
		return err
	}
	// New records number above every piece in the rings, replayed or not.
	a.jr.seq, a.jr.ckpt = max(ckpt, seen), ckpt
	var valid []*jrecord
	for _, r := range recs {
		if r.stripe >= a.geo.stripes {
			continue
		}
		ok := true
		for _, e := range r.entries {
			ok = ok && int(e.role) < a.geo.disks && e.hi <= a.geo.chunk
		}
		if ok {
			valid = append(valid, r)
		}
		a.jr.seq = max(a.jr.seq, r.seq)
	}
	if a.readOnly {
		a.overlay = &overlay{byStripe: map[int64][]*jrecord{}}
		for _, r := range valid {
			a.overlay.byStripe[r.stripe] = append(a.overlay.byStripe[r.stripe], r)
		}
		return nil
	}
	type hole struct {
		stripe int64
		e      jentry
	}
	var holes []hole
	for _, r := range valid {
		for i, e := range r.entries {
			if m := a.writable(int(e.role)); m != nil {
				if r.data[i] == nil {
					// Its ring could not be read: its chunk may be torn.
					holes = append(holes, hole{r.stripe, e})
				} else if _, err := m.WriteAt(r.data[i], a.geo.memberOffset(r.stripe, e.lo)); err != nil {
					a.failMember(int(e.role), err)
					continue
				}
			}
			a.crcs.set(int(e.role), r.stripe, e.crc)
		}
		a.used.markUsed(r.stripe*a.geo.stripeSize(), a.geo.stripeSize())
	}
	// Chunks of members whose piece could not be read are rebuilt from the
	// rest of their stripe, now that every record is in place.
	for _, h := range holes {
		r := int(h.e.role)
		shards, err := a.readShardsLocked(h.stripe, h.e.lo, h.e.hi, r)
		if err != nil {
			a.failMember(r, err)
			continue
		}
		for i := range a.geo.disks {
			if a.geo.roleOf(h.stripe, i) == r {
				if err := a.writeShardLocked(r, h.stripe, h.e.lo, shards[i]); err != nil {
					break // writeShardLocked failed the member
				}
			}
		}
	}
	if a.jr.seq == ckpt {
		return nil
	}
	if err := a.syncMeta(); err != nil {
		return err
	}
	return a.jr.checkpoint(a.jr.seq)
}

// writeSuperblocks rewrites the superblock (and its copy) of every member
// that is in sync, rebuilding or spare, from the master; bump increments
// events first. A member that fails the write is marked faulty and the rest
// are written again, with events bumped.
func (a *Array) writeSuperblocks(bump bool) error {
	if a.readOnly {
		return ErrReadOnly
	}
	a.sbMu.Lock()
	defer a.sbMu.Unlock()
	for attempt := 0; attempt < 1+len(a.roles)+8; attempt++ {
		type job struct {
			s  *slot
			sb *superblock
		}
		var jobs []job
		a.mu.Lock()
		if bump {
			a.master.Events++
		}
		a.master.UTime = toMDTime(time.Now())
		// As md does: a role with no member is no longer held by the device
		// that had it, so that device, if it returns, is not taken as in sync.
		for r, s := range a.roles {
			if s.m == nil && int(s.devNumber) < len(a.master.DevRoles) && a.master.DevRoles[s.devNumber] == uint16(r) {
				a.master.DevRoles[s.devNumber] = RoleSpare
			}
		}
		for _, s := range append(append([]*slot(nil), a.roles...), a.spares...) {
			if s.m == nil || s.state == MemberFaulty || s.state == MemberMissing {
				continue
			}
			sb := a.master.clone()
			sb.DevNumber, sb.DeviceUUID = s.devNumber, s.deviceUUID
			sb.FeatureMap &^= featRecoveryOffset
			sb.RecoveryOffset = 0
			if s.state == MemberRebuilding {
				sb.FeatureMap |= featRecoveryOffset
				sb.RecoveryOffset = uint64(s.recovery * a.geo.chunk / 512)
			}
			sb.FeatureMap = s.badBlockFeature(sb.FeatureMap) // only a member whose log lists entries
			jobs = append(jobs, job{s, sb})
		}
		a.mu.Unlock()
		// Members are written in parallel: each write is its own device's
		// two flushes, and a member's failure is handled after all are done.
		errs := make([]error, len(jobs))
		var wg sync.WaitGroup
		for i, j := range jobs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = writeSuperblock(j.s.m, j.sb, a.meta != nil)
			}()
		}
		wg.Wait()
		failed := false
		for i, j := range jobs {
			if errs[i] != nil {
				a.mu.Lock()
				j.s.state = MemberFaulty
				if int(j.s.devNumber) < len(a.master.DevRoles) {
					a.master.DevRoles[j.s.devNumber] = RoleFaulty
				}
				a.mu.Unlock()
				failed = true
			}
		}
		if !failed {
			return nil
		}
		bump = true
	}
	return ErrFailed
}

// writeSuperblock writes sb to m: first postvault's copy, flushed, then the
// primary, flushed. A torn primary leaves a good copy; a torn copy leaves
// the old primary.
func writeSuperblock(m Member, sb *superblock, withCopy bool) error {
	b := sb.encode()
	if withCopy {
		if _, err := m.WriteAt(b, sbCopyOffset); err != nil {
			return err
		}
		if err := m.Flush(); err != nil {
			return err
		}
	}
	if _, err := m.WriteAt(b, sbOffset); err != nil {
		return err
	}
	return m.Flush()
}
