package raid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// postvault's own metadata lives in the gap md never reads: after md's
// bad-block log (which ends at byte 4096 + 16*512 + 8*512 = 16384) and before
// data_offset. See docs/raid-format.md for the byte-by-byte layout.
const (
	sbCopyOffset    = 16384 // second copy of the md superblock (4 KiB)
	metaHdrOffset   = 20480 // postvault metadata header, two copies
	metaHdrSize     = 4096
	ckptAreaOffset  = 28672 // 4 KiB for rebuild/scrub checkpoints (RAID-B)
	ckptAreaSize    = 4096
	regionsStart    = 32768 // journal header, journal ring, CRC table, used map
	journalHdrSize  = 8192  // two 4 KiB journal checkpoint slots
	metaAlign       = 4096
	mib             = 1 << 20
	metaMagic       = "PVRAIDM1"
	metaVersion     = 1
	minJournalBytes = 256 << 10
	maxJournalBytes = 64 * mib
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// metaLayout says where each of postvault's regions sits on a member, in
// bytes from the member's start. It is recorded in the metadata header so
// a later version can move regions.
type metaLayout struct {
	SetUUID       [16]byte
	JournalOffset int64 // journal header (2 x 4 KiB) then the ring
	JournalSize   int64 // header included
	CRCOffset     int64 // CRC32C of each chunk on this member, 4 bytes per row
	CRCSize       int64
	UsedOffset    int64 // the used map (usedmap.go): volume regions in use
	UsedSize      int64
	CkptOffset    int64 // rebuild/scrub checkpoint area
	CkptSize      int64
	End           int64 // first byte after our regions (<= data_offset)
	// JournalKey is a random secret, made at create and never shown, that
	// every journal piece's checksum starts with: bytes of mail that land
	// in a ring (a piece's payload) can never pass for a piece, even when
	// someone crafts them knowing the array's UUIDs. Zero in headers written
	// before it existed.
	JournalKey [16]byte
}

func roundUp(v, a int64) int64 { return (v + a - 1) / a * a }

// mdadmDataOffset is the data_offset mdadm 4.2 picks for a member of size
// bytes: a headroom of 128 MiB halved while headroom*1024 exceeds the size,
// plus 1 MiB, rounded down to 1 MiB.
func mdadmDataOffset(size int64) int64 {
	h := int64(128 * mib)
	for h > 4096 && h<<10 > size {
		h >>= 1
	}
	return (h + mib) / mib * mib
}

// planLayout chooses our regions and data_offset for members of memberSize
// bytes in an array of disks members with chunk bytes per chunk.
func planLayout(memberSize int64, disks int, chunk int64) (metaLayout, int64) {
	rows := memberSize / chunk
	maxRecord := journalRecordMax(disks, chunk)
	j := memberSize / 64
	j = max(j, 2*maxRecord, minJournalBytes)
	j = min(j, max(maxJournalBytes, 2*maxRecord))
	j = roundUp(j, metaAlign) + journalHdrSize
	var l metaLayout
	l.CkptOffset, l.CkptSize = ckptAreaOffset, ckptAreaSize
	l.JournalOffset, l.JournalSize = regionsStart, j
	l.CRCOffset = l.JournalOffset + l.JournalSize
	l.CRCSize = roundUp(rows*4, metaAlign)
	l.UsedOffset = l.CRCOffset + l.CRCSize
	l.UsedSize = roundUp((rows+7)/8+usedHeader+4, metaAlign) // a bit per stripe, raw
	l.End = l.UsedOffset + l.UsedSize
	off := max(mdadmDataOffset(memberSize), roundUp(l.End, mib))
	return l, off
}

func (l *metaLayout) encode() []byte {
	b := make([]byte, metaHdrSize)
	copy(b, metaMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], metaVersion)
	le.PutUint32(b[12:], metaHdrSize)
	copy(b[16:32], l.SetUUID[:])
	for i, v := range []int64{l.JournalOffset, l.JournalSize, l.CRCOffset, l.CRCSize,
		l.UsedOffset, l.UsedSize, l.CkptOffset, l.CkptSize, l.End} {
		le.PutUint64(b[32+8*i:], uint64(v))
	}
	copy(b[104:120], l.JournalKey[:])
	le.PutUint32(b[metaHdrSize-4:], crc32c(b[:metaHdrSize-4]))
	return b
}

var errNoMeta = errors.New("raid: no postvault metadata header")

func decodeMetaLayout(b []byte) (*metaLayout, error) {
	if len(b) < metaHdrSize || !bytes.Equal(b[:8], []byte(metaMagic)) {
		return nil, errNoMeta
	}
	le := binary.LittleEndian
	if got, want := crc32c(b[:metaHdrSize-4]), le.Uint32(b[metaHdrSize-4:]); got != want {
		return nil, fmt.Errorf("raid: postvault metadata header checksum %08x, want %08x", got, want)
	}
	if v := le.Uint32(b[8:]); v != metaVersion {
		return nil, fmt.Errorf("raid: postvault metadata version %d, this build reads %d", v, metaVersion)
	}
	l := &metaLayout{}
	copy(l.SetUUID[:], b[16:32])
	f := []*int64{&l.JournalOffset, &l.JournalSize, &l.CRCOffset, &l.CRCSize,
		&l.UsedOffset, &l.UsedSize, &l.CkptOffset, &l.CkptSize, &l.End}
	for i, p := range f {
		*p = int64(le.Uint64(b[32+8*i:]))
		if *p < 0 || *p > 1<<50 {
			return nil, fmt.Errorf("raid: postvault metadata field %d out of range", i)
		}
	}
	copy(l.JournalKey[:], b[104:120])
	return l, nil
}

// validate checks the layout against a member's data_offset.
func (l *metaLayout) validate(dataOffset int64) error {
	regions := [][2]int64{{l.JournalOffset, l.JournalSize}, {l.CRCOffset, l.CRCSize},
		{l.UsedOffset, l.UsedSize}, {l.CkptOffset, l.CkptSize}}
	for _, r := range regions {
		if r[0] < sbCopyOffset+sbSlotSize || r[0]%512 != 0 || r[0]+r[1] > dataOffset {
			return fmt.Errorf("raid: postvault metadata region at %d+%d is outside the gap before data_offset %d", r[0], r[1], dataOffset)
		}
	}
	if l.JournalSize <= journalHdrSize {
		return fmt.Errorf("raid: postvault journal of %d bytes is too small", l.JournalSize)
	}
	return nil
}

// readMetaLayout reads either copy of the header from m.
func readMetaLayout(m Member) (*metaLayout, error) {
	var firstErr error
	for i := int64(0); i < 2; i++ {
		b := make([]byte, metaHdrSize)
		if _, err := m.ReadAt(b, metaHdrOffset+i*metaHdrSize); err != nil {
			firstErr = orErr(firstErr, err)
			continue
		}
		l, err := decodeMetaLayout(b)
		if err == nil {
			return l, nil
		}
		firstErr = orErr(firstErr, err)
	}
	return nil, firstErr
}

func orErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func crc32Update(c uint32, b []byte) uint32 { return crc32.Update(c, castagnoli, b) }
