package raid

// Adding and replacing members, and rebuilding one member's chunks onto a
// device outside the array.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Add adds m to the array as a hot spare; if a role is missing or faulty,
// a spare takes it at once (state rebuilding, from row 0). It returns that
// role, or -1 when m stays a spare. Rebuild or StartRebuild then does the
// work. m must be at least as large as the other members and is written
// only after these checks.
func (a *Array) Add(m Member) (int, error) {
	if a.readOnly {
		return -1, ErrReadOnly
	}
	if a.closed.Load() {
		return -1, errClosed
	}
	if _, err := readSuperblock(m); err == nil {
		return -1, fmt.Errorf("raid: %s holds an md superblock already; wipe it first if it may be overwritten", memberName(m, -1))
	}
	mt := a.maint()
	mt.mu.Lock()
	busy := mt.rebuild != nil && mt.rebuild.progress().Running
	mt.mu.Unlock()
	if err := a.addSpare(m); err != nil {
		return -1, err
	}
	mt.wrapMembers()
	if busy {
		return -1, nil // the running rebuild must finish before a new role starts
	}
	before := a.rebuildTargets()
	if err := a.promoteSpares(); err != nil {
		return -1, err
	}
	for _, r := range a.rebuildTargets() {
		if !slices.Contains(before, r) {
			return r, nil
		}
	}
	return -1, nil
}

// Replace puts newMember in the place of old, an active member in sync,
// while old still serves as the source: each chunk is copied from it when its
// checksum agrees and reconstructed from the others otherwise. The old
// member is marked faulty at the start (so the array reads that role by
// reconstruction meanwhile, as when degraded); it stays listed as faulty
// until the array is closed, which closes it. It
// runs in the calling goroutine; opts as for Rebuild.
func (a *Array) Replace(ctx context.Context, old, newMember Member, opts *RebuildOptions) error {
	if a.readOnly {
		return ErrReadOnly
	}
	role := a.roleOfMember(old)
	if role < 0 {
		return errors.New("raid: the member to replace is not an active member of this array")
	}
	old, st := a.memberAt(role)
	if old == nil || st != MemberInSync {
		return fmt.Errorf("raid: role %d is %s: only a member in sync can be replaced (use add and rebuild)", role, st)
	}
	if targets := a.rebuildTargets(); len(targets) > 0 {
		return fmt.Errorf("raid: role %v is being rebuilt: finish that first: %w", targets, ErrBusy)
	}
	if _, err := readSuperblock(newMember); err == nil {
		return fmt.Errorf("raid: %s holds an md superblock already; wipe it first if it may be overwritten", memberName(newMember, -1))
	}
	if err := a.addSpare(newMember); err != nil {
		return err
	}
	a.maint().wrapMembers()
	a.failMember(role, errors.New("replaced"))
	a.mu.Lock()
	if s := a.roles[role]; s.m != nil {
		// Listed as faulty and kept open, as the rebuild's source, until
		// the array is closed, which closes it (promoteMember sees it held
		// and leaves it open).
		kept := *s
		a.spares = append(a.spares, &kept)
	}
	a.mu.Unlock()
	if ok, err := a.promoteMember(role, newMember); err != nil || !ok {
		return errors.Join(fmt.Errorf("raid: could not move the new member into role %d", role), err)
	}
	j, err := a.beginRebuild(ctx, "replace", nil)
	if err != nil {
		return err
	}
	return a.runRebuild(ctx, j, opts.withDefaults(), map[int]Member{role: old})
}

// roleOfMember returns the role m holds, or -1.
func (a *Array) roleOfMember(m Member) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for r, s := range a.roles {
		if s.m != nil && (s.m == m || unwrap(s.m) == unwrap(m)) {
			return r
		}
	}
	return -1
}

// RebuildInto writes the chunks of role, reconstructed from the other
// members, onto dst at the same offsets (its data area), without changing
// the array or dst's superblock. It works on arrays assembled read-only: it
// makes a copy of a missing member, for recovery or to check a rebuild
// against the original. Every stripe is written, in use or not. It returns
// a *LostDataError when some ranges could not be reconstructed.
func (a *Array) RebuildInto(ctx context.Context, role int, dst Member, opts *RebuildOptions) error {
	g := a.geo
	if role < 0 || role >= g.disks {
		return fmt.Errorf("raid: no role %d in an array of %d members", role, g.disks)
	}
	if dst.Size() < g.dataOffset+g.stripes*g.chunk {
		return fmt.Errorf("raid: %s holds %d bytes, role %d needs %d", memberName(dst, -1), dst.Size(), role, g.dataOffset+g.stripes*g.chunk)
	}
	o := opts.withDefaults()
	mt := a.maint()
	th := newThrottle(mt, o.MinRate, o.MaxRate, o.Idle)
	buf := make([]byte, int64(g.disks)*g.chunk)
	var lost []Range
	start := time.Now()
	p := Progress{Job: "rebuild", Roles: []int{role}, Devices: []string{memberName(dst, -1)},
		Running: true, Started: start, Rows: g.stripes, Total: g.stripes * g.chunk}
	for s := int64(0); s < g.stripes; s++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		unlock := a.locks.rlock(s)
		shards, l, _, err := a.gatherStripe(s, []int{role}, nil, buf)
		unlock()
		if err != nil {
			return err
		}
		lost = append(lost, l...)
		for i := range g.disks {
			if g.roleOf(s, i) == role {
				if _, err := dst.WriteAt(shards[i], g.memberOffset(s, 0)); err != nil {
					return fmt.Errorf("raid: writing %s: %w", memberName(dst, -1), err)
				}
			}
		}
		p.Row, p.Done = s+1, (s+1)*g.chunk
		if o.Progress != nil && (s%64 == 63 || s == g.stripes-1) {
			p.Rate = float64(p.Done) / max(time.Since(start).Seconds(), 1e-9)
			o.Progress(p)
		}
		if !th.wait(ctx.Done(), g.chunk) {
			return ctx.Err()
		}
	}
	if err := dst.Flush(); err != nil {
		return fmt.Errorf("raid: flushing %s: %w", memberName(dst, -1), err)
	}
	if len(lost) > 0 {
		return &LostDataError{Ranges: mergeRanges(lost)}
	}
	return nil
}
