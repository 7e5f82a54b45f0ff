package raid

import (
	"errors"
	"fmt"
	"time"
)

// Examination is what one member's metadata says, as `postvault raid
// examine` (and mdadm --examine) shows it. Sizes are in 512-byte sectors, as
// md stores them.
type Examination struct {
	ArrayUUID, DeviceUUID string
	Name                  string
	FeatureMap            uint32
	Created, Updated      time.Time
	Level                 int
	Layout                int // 2: left-symmetric
	RaidDisks             int
	ChunkSize             int64  // bytes
	UsedSectors           uint64 // md's size: sectors of each member the array uses
	DataOffset, DataSize  uint64 // sectors
	SuperOffset           uint64 // sectors
	RecoveryOffset        uint64 // sectors; meaningful with feature bit 2
	ResyncOffset          uint64 // all ones: clean
	DevNumber             int
	Role                  uint16 // 0.. active role, RoleSpare, RoleFaulty
	Events                uint64
	Checksum              uint32
	BadBlockLogOffset     int32  // sectors from the superblock
	BadBlockLogSectors    uint16 // log size
	DevRoles              []uint16
	// FromCopy says the primary superblock at byte 4096 was damaged and
	// postvault's copy (byte 16384) was read instead.
	FromCopy bool
	// Postvault is postvault's metadata layout, nil on a member mdadm made.
	Postvault *MetaRegions
}

// MetaRegions is where postvault keeps its own metadata on a member, in
// bytes from the member's start.
type MetaRegions struct {
	JournalOffset, JournalSize int64
	CRCOffset, CRCSize         int64
	UsedOffset, UsedSize       int64
	CheckpointOffset           int64
	CheckpointSize             int64
}

// Clean reports whether the superblock says the array was shut down cleanly.
func (e *Examination) Clean() bool { return e.ResyncOffset == maxSector }

// ArrayState is mdadm's "Array State" string: per role, 'A' when a device
// holds it, '.' when none does.
func (e *Examination) ArrayState() string {
	b := make([]byte, e.RaidDisks)
	for i := range b {
		b[i] = '.'
	}
	for _, r := range e.DevRoles {
		if int(r) < e.RaidDisks {
			b[r] = 'A'
		}
	}
	return string(b)
}

// Examine reads one member's md superblock (or postvault's copy of it when
// the primary is damaged) and postvault's metadata header. It never writes.
func Examine(m Member) (*Examination, error) {
	sb, err := readSuperblock(m)
	if err != nil {
		if errors.Is(err, errNoSuperblock) {
			return nil, errors.New("raid: no md superblock at byte 4096: this is not a member of any md or postvault array")
		}
		return nil, err
	}
	e := &Examination{ArrayUUID: formatUUID(sb.SetUUID), DeviceUUID: formatUUID(sb.DeviceUUID),
		Name: sb.name(), FeatureMap: sb.FeatureMap, Created: mdTime(sb.CTime), Updated: mdTime(sb.UTime),
		Level: int(sb.Level), Layout: int(sb.Layout), RaidDisks: int(sb.RaidDisks),
		ChunkSize: int64(sb.ChunkSize) * 512, UsedSectors: sb.Size, DataOffset: sb.DataOffset,
		DataSize: sb.DataSize, SuperOffset: sb.SuperOffset, RecoveryOffset: sb.RecoveryOffset,
		ResyncOffset: sb.ResyncOffset, DevNumber: int(sb.DevNumber), Role: sb.role(), Events: sb.Events,
		Checksum: sb.Csum, BadBlockLogOffset: sb.BBLogOffset, BadBlockLogSectors: sb.BBLogSize,
		DevRoles: append([]uint16(nil), sb.DevRoles...), FromCopy: sb.decodedFromCopy}
	if l, err := readMetaLayout(m); err == nil && l.SetUUID == sb.SetUUID {
		e.Postvault = &MetaRegions{l.JournalOffset, l.JournalSize, l.CRCOffset, l.CRCSize,
			l.UsedOffset, l.UsedSize, l.CkptOffset, l.CkptSize}
	}
	return e, nil
}

// Fail marks member m faulty, as `mdadm --fail` does: the other members'
// superblocks record it (role 0xfffe, events bumped) and the array carries
// on without it. Failing a member that the array cannot do without is
// refused.
func (a *Array) Fail(m Member) error {
	if a.readOnly {
		return ErrReadOnly
	}
	a.mu.Lock()
	role := -1
	for r, s := range a.roles {
		if sameMember(s.m, m) {
			role = r
		}
	}
	if role < 0 {
		for _, s := range a.spares {
			if sameMember(s.m, m) {
				a.mu.Unlock()
				return errors.New("raid: that member is a spare or already faulty, not an active member")
			}
		}
		a.mu.Unlock()
		return errors.New("raid: that member is not part of this array")
	}
	state := a.roles[role].state
	a.mu.Unlock()
	if state == MemberFaulty {
		return fmt.Errorf("raid: role %d is already faulty", role)
	}
	if inSync, _ := a.working(); state == MemberInSync && inSync-1 < a.geo.data {
		return fmt.Errorf("raid: failing role %d would leave %d members in sync, RAID-%d needs %d: refused",
			role, inSync-1, a.geo.level, a.geo.data)
	}
	a.failMember(role, errors.New("failed by request"))
	return nil
}

// sameMember reports whether held (possibly wrapped for latency statistics,
// maint.go) is m.
func sameMember(held, m Member) bool {
	if w, ok := held.(*watchedMember); ok {
		held = w.Member
	}
	return held != nil && held == m
}
