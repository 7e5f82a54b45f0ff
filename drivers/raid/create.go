package raid

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"time"
)

// CreateOptions tune Create.
type CreateOptions struct {
	// Level is 5 or 6 (required).
	Level int
	// Chunk is the chunk size in bytes: a power of two from 4 KiB to 64 MiB.
	// Zero means 512 KiB, mdadm's default.
	Chunk int64
	// Spares are hot spares: they get a superblock with role 0xffff.
	Spares []Member
	// Name is md's set_name (at most 32 bytes); empty means "postvault:0".
	Name string
	// Force writes over members that hold an md superblock or non-zero
	// bytes where we look (the first MiB and the last 64 KiB).
	Force bool
}

// DefaultChunk is the chunk size of arrays made without one (mdadm's own
// default is 512 KiB). The mail store appends its log in commits of a few
// KiB to a few MiB: with 64 KiB chunks (a 192 KiB stripe on five RAID-6
// members) most of a large commit lands in whole stripes that hold nothing
// yet and go in place once, where 512 KiB chunks (1.5 MiB stripes) put most
// of it through the journal (written twice) or zero-fill a fresh stripe for
// a fraction of it. Measured (BenchmarkStoreOnRAID in firmware/appliance):
// 1 MiB deliveries into the store on RAID-6 of five files, 1.10-1.36x as
// many per second with 64 KiB chunks as with 512 KiB.
const DefaultChunk = 64 << 10

// Create writes a new array onto members (in role order) and spares and
// returns it assembled for writing. Every member gets md's v1.2 superblock
// and postvault's metadata; the data area is not touched (stripes hold
// nothing until written, so no initial resync is needed).
func Create(members []Member, opts *CreateOptions) (*Array, error) {
	if opts == nil {
		return nil, errors.New("raid: create needs options with a level")
	}
	chunk := opts.Chunk
	if chunk == 0 {
		chunk = DefaultChunk
	}
	if err := checkCreate(members, opts, chunk); err != nil {
		return nil, err
	}
	all := append(append([]Member(nil), members...), opts.Spares...)
	if !opts.Force {
		for i, m := range all {
			if err := checkBlank(m); err != nil {
				return nil, fmt.Errorf("raid: %s: %w; pass --force (CreateOptions.Force) to overwrite it", memberName(m, i), err)
			}
		}
	}
	minSize := all[0].Size()
	for _, m := range all {
		minSize = min(minSize, m.Size())
	}
	l, dataOff := planLayout(minSize, len(members), chunk)
	stripes := (minSize - dataOff) / chunk
	if stripes < 1 {
		return nil, fmt.Errorf("raid: members of %d bytes are too small: data starts at %d and a chunk is %d", minSize, dataOff, chunk)
	}
	sb := &superblock{Level: int32(opts.Level), Layout: layoutLeftSymmetric,
		Size: uint64(stripes * chunk / 512), ChunkSize: uint32(chunk / 512),
		RaidDisks: uint32(len(members)), DataOffset: uint64(dataOff / 512), SuperOffset: sbOffset / 512,
		BBLogSize: 8, BBLogOffset: 16, Events: 1, ResyncOffset: maxSector, MaxDev: 128,
		CTime: toMDTime(time.Now())}
	sb.UTime = sb.CTime
	if len(all) > 128 {
		sb.MaxDev = uint32(roundUp(int64(len(all)), 2))
	}
	name := opts.Name
	if name == "" {
		name = "postvault:0"
	}
	copy(sb.SetName[:], name)
	if err := randomUUID(&sb.SetUUID); err != nil {
		return nil, err
	}
	l.SetUUID = sb.SetUUID
	if err := randomUUID(&l.JournalKey); err != nil {
		return nil, err
	}
	sb.DevRoles = make([]uint16, sb.MaxDev)
	for i := range sb.DevRoles {
		switch {
		case i < len(members):
			sb.DevRoles[i] = uint16(i)
		default:
			sb.DevRoles[i] = RoleSpare
		}
	}
	stripeSize := chunk * int64(len(members)-(opts.Level-4))
	region, err := usedRegionSize(stripes*stripeSize, stripeSize, l.UsedSize)
	if err != nil {
		return nil, err
	}
	used, err := newUsedMap(stripes*stripeSize, region)
	if err != nil {
		return nil, err
	}
	usedEnc := used.encode()
	for i, m := range all {
		msb := sb.clone()
		msb.DevNumber = uint32(i)
		msb.DataSize = uint64((m.Size() - dataOff) / 512)
		if err := randomUUID(&msb.DeviceUUID); err != nil {
			return nil, err
		}
		if err := initMeta(m, &l); err != nil {
			return nil, fmt.Errorf("raid: %s: %w", memberName(m, i), err)
		}
		if err := writeUsedMap(m, l.UsedOffset, l.UsedSize, usedEnc); err != nil {
			return nil, fmt.Errorf("raid: %s: %w", memberName(m, i), err)
		}
		if err := writeSuperblock(m, msb, true); err != nil {
			return nil, fmt.Errorf("raid: %s: writing the superblock: %w", memberName(m, i), err)
		}
	}
	return Assemble(all, nil)
}

func checkCreate(members []Member, opts *CreateOptions, chunk int64) error {
	switch {
	case opts.Level != 5 && opts.Level != 6:
		return fmt.Errorf("raid: level %d is not supported: use 5 or 6", opts.Level)
	case opts.Level == 5 && len(members) < 3:
		return fmt.Errorf("raid: RAID-5 needs at least 3 members, got %d", len(members))
	case opts.Level == 6 && len(members) < 4:
		return fmt.Errorf("raid: RAID-6 needs at least 4 members, got %d", len(members))
	case len(members)+len(opts.Spares) > sbMaxDevLimit:
		return fmt.Errorf("raid: %d members exceed md's limit", len(members)+len(opts.Spares))
	case chunk < 4096 || chunk > 64<<20 || chunk&(chunk-1) != 0:
		return fmt.Errorf("raid: chunk of %d bytes must be a power of two from 4 KiB to 64 MiB", chunk)
	case len(opts.Name) > 32:
		return fmt.Errorf("raid: name %q is longer than 32 bytes", opts.Name)
	}
	return nil
}

// checkBlank refuses a member that holds an md superblock or non-zero bytes
// in its first MiB or last 64 KiB (partition tables, file systems, md).
func checkBlank(m Member) error {
	if sb, err := readSuperblock(m); err == nil {
		return fmt.Errorf("it holds an md superblock of array %s", formatUUID(sb.SetUUID))
	}
	size := m.Size()
	for _, r := range [][2]int64{{0, min(size, mib)}, {max(0, size-64<<10), size}} {
		b := make([]byte, r[1]-r[0])
		if _, err := m.ReadAt(b, r[0]); err != nil {
			return fmt.Errorf("reading it: %w", err)
		}
		if i := bytes.IndexFunc(b, func(c rune) bool { return c != 0 }); i >= 0 {
			return fmt.Errorf("it holds data (a non-zero byte at offset %d)", r[0]+int64(i))
		}
	}
	return nil
}

// initMeta writes postvault's metadata header (two copies) and clears the
// journal checkpoints, checksum table and used map on m.
func initMeta(m Member, l *metaLayout) error {
	h := l.encode()
	for i := int64(0); i < 2; i++ {
		if _, err := m.WriteAt(h, metaHdrOffset+i*metaHdrSize); err != nil {
			return fmt.Errorf("writing postvault metadata: %w", err)
		}
	}
	zero := make([]byte, mib)
	for _, r := range [][2]int64{{l.JournalOffset, journalHdrSize + jhdrSize}, {l.CRCOffset, l.CRCSize},
		{l.UsedOffset, l.UsedSize}, {l.CkptOffset, l.CkptSize}} {
		for off := r[0]; off < r[0]+r[1]; off += mib {
			n := min(mib, r[0]+r[1]-off)
			if _, err := m.WriteAt(zero[:n], off); err != nil {
				return fmt.Errorf("clearing postvault metadata: %w", err)
			}
		}
	}
	return m.Flush()
}

func randomUUID(u *[16]byte) error {
	if _, err := rand.Read(u[:]); err != nil {
		return fmt.Errorf("raid: random UUID: %w", err)
	}
	return nil
}
