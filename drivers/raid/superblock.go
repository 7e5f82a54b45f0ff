package raid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// md v1.2 superblock constants (include/uapi/linux/raid/md_p.h).
const (
	sbMagic       = 0xa92b4efc
	sbOffset      = 4096 // byte offset of the v1.2 superblock in a member
	sbSlotSize    = 4096 // bytes reserved for it
	sbFixedSize   = 256  // bytes before dev_roles
	sbMaxDevLimit = (sbSlotSize - sbFixedSize) / 2

	// RoleSpare and RoleFaulty are the special dev_roles values.
	RoleSpare  = 0xffff
	RoleFaulty = 0xfffe
	// RoleJournal marks an md journal device (never used by postvault).
	roleJournal = 0xfffd

	// Feature-map bits.
	featBitmap         = 1
	featRecoveryOffset = 2
	featReshape        = 4
	featBadBlocks      = 8
	featReplacement    = 16
	featPPL            = 1024

	// maxSector is md's "all ones": resync_offset = maxSector means in sync.
	maxSector = ^uint64(0)
)

// superblock is every field of md's struct mdp_superblock_1, decoded.
// Sizes and offsets are in 512-byte sectors as on disk.
type superblock struct {
	FeatureMap   uint32
	SetUUID      [16]byte
	SetName      [32]byte
	CTime        uint64 // low 40 bits seconds, high 24 bits microseconds
	Level        int32
	Layout       uint32
	Size         uint64 // sectors of each member used by the array
	ChunkSize    uint32 // sectors
	RaidDisks    uint32
	BitmapOffset uint32 // or PPL offset/size when featPPL

	NewLevel        uint32
	ReshapePosition uint64
	DeltaDisks      uint32
	NewLayout       uint32
	NewChunk        uint32
	NewOffset       uint32

	DataOffset      uint64
	DataSize        uint64
	SuperOffset     uint64
	RecoveryOffset  uint64
	DevNumber       uint32
	CntCorrectedRd  uint32
	DeviceUUID      [16]byte
	DevFlags        uint8
	BBLogShift      uint8
	BBLogSize       uint16
	BBLogOffset     int32
	UTime           uint64
	Events          uint64
	ResyncOffset    uint64
	Csum            uint32 // as read; encode computes it afresh
	MaxDev          uint32
	Pad3            [32]byte // bytes 224..255, zero in every md we know
	DevRoles        []uint16
	csumWasCorrect  bool
	decodedFromCopy bool
}

var errNoSuperblock = errors.New("raid: no md superblock (magic a92b4efc) at byte 4096")

// sbLen is the number of bytes the superblock covers on disk.
func (sb *superblock) sbLen() int { return sbFixedSize + 2*int(sb.MaxDev) }

// sbChecksum computes md's sb_csum over b (which covers 256+2*max_dev bytes)
// with the csum field taken as zero.
func sbChecksum(b []byte) uint32 {
	var sum uint64
	n := len(b)
	for i := 0; i+4 <= n; i += 4 {
		w := binary.LittleEndian.Uint32(b[i:])
		if i == 216 {
			w = 0
		}
		sum += uint64(w)
	}
	if n%4 == 2 {
		sum += uint64(binary.LittleEndian.Uint16(b[n-2:]))
	}
	return uint32(sum&0xffffffff) + uint32(sum>>32)
}

// decodeSuperblock parses a v1.2 superblock from b (at least 256 bytes).
// A checksum mismatch is reported as an error wrapping errBadChecksum, with
// the decoded superblock still returned for diagnostics.
func decodeSuperblock(b []byte) (*superblock, error) {
	if len(b) < sbFixedSize {
		return nil, fmt.Errorf("raid: superblock truncated: %d bytes", len(b))
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != sbMagic {
		return nil, errNoSuperblock
	}
	if v := le.Uint32(b[4:]); v != 1 {
		return nil, fmt.Errorf("raid: md superblock major version %d, want 1", v)
	}
	sb := &superblock{
		FeatureMap: le.Uint32(b[8:]),
		CTime:      le.Uint64(b[64:]), Level: int32(le.Uint32(b[72:])),
		Layout: le.Uint32(b[76:]), Size: le.Uint64(b[80:]), ChunkSize: le.Uint32(b[88:]),
		RaidDisks: le.Uint32(b[92:]), BitmapOffset: le.Uint32(b[96:]),
		NewLevel: le.Uint32(b[100:]), ReshapePosition: le.Uint64(b[104:]),
		DeltaDisks: le.Uint32(b[112:]), NewLayout: le.Uint32(b[116:]),
		NewChunk: le.Uint32(b[120:]), NewOffset: le.Uint32(b[124:]),
		DataOffset: le.Uint64(b[128:]), DataSize: le.Uint64(b[136:]),
		SuperOffset: le.Uint64(b[144:]), RecoveryOffset: le.Uint64(b[152:]),
		DevNumber: le.Uint32(b[160:]), CntCorrectedRd: le.Uint32(b[164:]),
		DevFlags: b[184], BBLogShift: b[185], BBLogSize: le.Uint16(b[186:]),
		BBLogOffset: int32(le.Uint32(b[188:])), UTime: le.Uint64(b[192:]),
		Events: le.Uint64(b[200:]), ResyncOffset: le.Uint64(b[208:]),
		Csum: le.Uint32(b[216:]), MaxDev: le.Uint32(b[220:]),
	}
	copy(sb.SetUUID[:], b[16:32])
	copy(sb.SetName[:], b[32:64])
	copy(sb.DeviceUUID[:], b[168:184])
	copy(sb.Pad3[:], b[224:256])
	if sb.MaxDev > sbMaxDevLimit {
		return nil, fmt.Errorf("raid: md superblock max_dev %d exceeds %d", sb.MaxDev, sbMaxDevLimit)
	}
	if len(b) < sb.sbLen() {
		return nil, fmt.Errorf("raid: superblock truncated: %d bytes, max_dev %d needs %d", len(b), sb.MaxDev, sb.sbLen())
	}
	sb.DevRoles = make([]uint16, sb.MaxDev)
	for i := range sb.DevRoles {
		sb.DevRoles[i] = le.Uint16(b[256+2*i:])
	}
	if got := sbChecksum(b[:sb.sbLen()]); got != sb.Csum {
		return sb, fmt.Errorf("%w: stored %08x, computed %08x", errBadChecksum, sb.Csum, got)
	}
	sb.csumWasCorrect = true
	return sb, nil
}

var errBadChecksum = errors.New("raid: md superblock checksum mismatch")

// encode returns the superblock as the sbSlotSize bytes written at byte 4096,
// with sb_csum computed.
func (sb *superblock) encode() []byte {
	b := make([]byte, sbSlotSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], sbMagic)
	le.PutUint32(b[4:], 1)
	le.PutUint32(b[8:], sb.FeatureMap)
	copy(b[16:32], sb.SetUUID[:])
	copy(b[32:64], sb.SetName[:])
	le.PutUint64(b[64:], sb.CTime)
	le.PutUint32(b[72:], uint32(sb.Level))
	le.PutUint32(b[76:], sb.Layout)
	le.PutUint64(b[80:], sb.Size)
	le.PutUint32(b[88:], sb.ChunkSize)
	le.PutUint32(b[92:], sb.RaidDisks)
	le.PutUint32(b[96:], sb.BitmapOffset)
	le.PutUint32(b[100:], sb.NewLevel)
	le.PutUint64(b[104:], sb.ReshapePosition)
	le.PutUint32(b[112:], sb.DeltaDisks)
	le.PutUint32(b[116:], sb.NewLayout)
	le.PutUint32(b[120:], sb.NewChunk)
	le.PutUint32(b[124:], sb.NewOffset)
	le.PutUint64(b[128:], sb.DataOffset)
	le.PutUint64(b[136:], sb.DataSize)
	le.PutUint64(b[144:], sb.SuperOffset)
	le.PutUint64(b[152:], sb.RecoveryOffset)
	le.PutUint32(b[160:], sb.DevNumber)
	le.PutUint32(b[164:], sb.CntCorrectedRd)
	copy(b[168:184], sb.DeviceUUID[:])
	b[184] = sb.DevFlags
	b[185] = sb.BBLogShift
	le.PutUint16(b[186:], sb.BBLogSize)
	le.PutUint32(b[188:], uint32(sb.BBLogOffset))
	le.PutUint64(b[192:], sb.UTime)
	le.PutUint64(b[200:], sb.Events)
	le.PutUint64(b[208:], sb.ResyncOffset)
	le.PutUint32(b[220:], sb.MaxDev)
	copy(b[224:256], sb.Pad3[:])
	for i, r := range sb.DevRoles {
		if i >= int(sb.MaxDev) {
			break
		}
		le.PutUint16(b[256+2*i:], r)
	}
	le.PutUint32(b[216:], sbChecksum(b[:sb.sbLen()]))
	return b
}

// clone returns a deep copy.
func (sb *superblock) clone() *superblock {
	c := *sb
	c.DevRoles = append([]uint16(nil), sb.DevRoles...)
	return &c
}

// role returns this member's role (dev_roles[dev_number]).
func (sb *superblock) role() uint16 {
	if int(sb.DevNumber) >= len(sb.DevRoles) {
		return RoleSpare
	}
	return sb.DevRoles[sb.DevNumber]
}

// name returns set_name as a string.
func (sb *superblock) name() string {
	n := 0
	for n < len(sb.SetName) && sb.SetName[n] != 0 {
		n++
	}
	return string(sb.SetName[:n])
}

// mdTime converts md's 40-bit seconds / 24-bit microseconds time.
func mdTime(v uint64) time.Time {
	return time.Unix(int64(v&0xffffffffff), int64(v>>40)*1000).UTC()
}

// toMDTime is the inverse of mdTime.
func toMDTime(t time.Time) uint64 {
	return uint64(t.Unix())&0xffffffffff | uint64(t.Nanosecond()/1000)<<40
}

// formatUUID prints a UUID the way mdadm does: four groups of 8 hex digits.
func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x:%x:%x:%x", u[0:4], u[4:8], u[8:12], u[12:16])
}

// readSuperblock reads the primary superblock of m and, when it is missing a
// valid checksum, postvault's copy in the metadata area (see meta.go). It
// reports which one it used.
func readSuperblock(m Member) (*superblock, error) {
	b := make([]byte, sbSlotSize)
	if _, err := m.ReadAt(b, sbOffset); err != nil {
		return nil, fmt.Errorf("raid: reading superblock: %w", err)
	}
	sb, err := decodeSuperblock(b)
	if err == nil {
		return sb, nil
	}
	c := make([]byte, sbSlotSize)
	if _, cerr := m.ReadAt(c, sbCopyOffset); cerr == nil {
		if csb, cerr := decodeSuperblock(c); cerr == nil {
			csb.decodedFromCopy = true
			return csb, nil
		}
	}
	return sb, err
}

// validateGeometry checks what postvault needs of an md superblock to run
// the array.
func (sb *superblock) validateGeometry() error {
	switch {
	case sb.Level != 5 && sb.Level != 6:
		return fmt.Errorf("raid: md level %d is not supported (only 5 and 6)", sb.Level)
	case sb.Layout != layoutLeftSymmetric:
		return fmt.Errorf("raid: md layout %d is not supported (only left-symmetric, 2)", sb.Layout)
	case sb.FeatureMap&(featReshape|featPPL|featBitmap|featReplacement) != 0:
		return fmt.Errorf("raid: md feature map %#x has features postvault does not run (bitmap, reshape, PPL or replacement)", sb.FeatureMap)
	case sb.ChunkSize == 0 || sb.ChunkSize%8 != 0:
		return fmt.Errorf("raid: chunk of %d sectors is not a multiple of 4 KiB", sb.ChunkSize)
	case sb.RaidDisks < uint32(sb.Level-2) || sb.RaidDisks > sbMaxDevLimit:
		return fmt.Errorf("raid: %d raid devices is not possible for RAID-%d", sb.RaidDisks, sb.Level)
	case sb.Size < uint64(sb.ChunkSize):
		return fmt.Errorf("raid: member size %d sectors is below one chunk", sb.Size)
	case sb.SuperOffset != sbOffset/512:
		return fmt.Errorf("raid: super_offset %d is not v1.2's 8", sb.SuperOffset)
	}
	return nil
}
