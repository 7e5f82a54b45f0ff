package store

import (
	"encoding/binary"
	"fmt"
)

// The volume layout (docs/store-format.md has the full description):
//
//	[0, 4096)          superblock slot 0
//	[4096, 8192)       superblock slot 1
//	[dataStart, ...)   segments of segSize bytes, dataStart = 8192 rounded up
//	                   to a whole stripe
//
// A segment starts with a 64-byte segment header, then batches of records.
// Each record is a 32-byte header and a payload, padded to 8 bytes. The
// first record of each batch (one group commit) carries the batch's record
// count and length; a batch is valid only as a whole, unless a later batch
// proves it was flushed (then single bad records are bit rot).

const (
	superSize  = 4096
	superMagic = "PVSTORE1"
	// superVersion is written into every superblock. Version 2 logs may
	// hold pad records (type 20) and overlapped batches (flag bit 1);
	// version 1 logs hold neither, so this code reads them as they are and
	// marks them 2 with the first superblock it writes. A binary that knows
	// only version 1 refuses a version 2 store instead of misreading it.
	superVersion    = 2
	superMinVersion = 1
	superLen        = 128 // bytes covered by the superblock checksum + 4

	segHeaderSize = 64
	segMagic      = "PVSEG001"

	recHeaderSize = 32
	recMagic      = 0x31525650 // "PVR1" little-endian
	recAlign      = 8

	flagBatchStart = 1 << 0
	// flagOverlap marks a batch (on its first record) written while the
	// batch before it in the same segment was still being flushed: its
	// presence does not prove that one durable (replayseg.go).
	flagOverlap = 1 << 1

	noSegment = ^uint32(0)

	// maxInline is the largest message stored inside its APPEND record;
	// larger ones are written as chunk records first.
	maxInline = 1 << 20
	// blobChunk is the size of one chunk record of a large message.
	blobChunk = 256 << 10
	// maxRecord bounds any record's payload (the decoder refuses more).
	maxRecord = 4 << 20
)

// Record types.
const (
	recSeal          = 1
	recAccountAdd    = 2
	recAccountDel    = 3
	recAccountSet    = 4
	recAlias         = 5
	recSetting       = 6
	recMailboxCreate = 7
	recMailboxDelete = 8
	recMailboxRename = 9
	recSubscribe     = 10
	recBlobChunk     = 11
	recAppend        = 12
	recCopy          = 13
	recFlags         = 14
	recExpunge       = 15
	recBlobMove      = 16
	recCkptData      = 17
	recCkptDir       = 18
	recRecent        = 19
	recPad           = 20
)

var recNames = map[uint8]string{
	recSeal: "seal", recAccountAdd: "account-add", recAccountDel: "account-del",
	recAccountSet: "account-set", recAlias: "alias", recSetting: "setting",
	recMailboxCreate: "mailbox-create", recMailboxDelete: "mailbox-delete",
	recMailboxRename: "mailbox-rename", recSubscribe: "subscribe",
	recBlobChunk: "blob-chunk", recAppend: "append", recCopy: "copy",
	recFlags: "flags", recExpunge: "expunge", recBlobMove: "blob-move",
	recCkptData: "checkpoint-data", recCkptDir: "checkpoint-dir",
	recRecent: "recent", recPad: "pad",
}

// recHeader is the 32-byte header in front of every record:
//
//	0  u32 magic "PVR1"
//	4  u8  type
//	5  u8  flags (bit 0: first record of a batch)
//	6  u16 records in the batch (first record only, else 0)
//	8  u32 payload length
//	12 u32 batch length in bytes, padding included (first record only)
//	16 u64 sequence number
//	24 u32 CRC32C of the payload
//	28 u32 CRC32C of bytes 0..27, the CRC seeded with the store UUID
type recHeader struct {
	typ      uint8
	flags    uint8
	count    uint16
	length   uint32
	batchLen uint32
	seq      uint64
	dataCRC  uint32
}

func padded(n int) int { return (n + recAlign - 1) &^ (recAlign - 1) }

// recSize is the space a record with an n-byte payload takes.
func recSize(n int) int { return recHeaderSize + padded(n) }

// headerCRC computes the keyed header checksum: message bodies cannot forge
// a record because they do not know the UUID.
func headerCRC(uuid [16]byte, h []byte) uint32 {
	c := crc(uuid[:])
	return crc32Update(c, h[:28])
}

func (h recHeader) put(b []byte, uuid [16]byte) {
	binary.LittleEndian.PutUint32(b[0:], recMagic)
	b[4] = h.typ
	b[5] = h.flags
	binary.LittleEndian.PutUint16(b[6:], h.count)
	binary.LittleEndian.PutUint32(b[8:], h.length)
	binary.LittleEndian.PutUint32(b[12:], h.batchLen)
	binary.LittleEndian.PutUint64(b[16:], h.seq)
	binary.LittleEndian.PutUint32(b[24:], h.dataCRC)
	binary.LittleEndian.PutUint32(b[28:], headerCRC(uuid, b))
}

// parseRecHeader decodes and verifies a record header.
func parseRecHeader(b []byte, uuid [16]byte) (recHeader, error) {
	if len(b) < recHeaderSize {
		return recHeader{}, fmt.Errorf("store: record header: %w", errShort)
	}
	if binary.LittleEndian.Uint32(b) != recMagic {
		return recHeader{}, fmt.Errorf("store: record header: bad magic")
	}
	if binary.LittleEndian.Uint32(b[28:]) != headerCRC(uuid, b) {
		return recHeader{}, fmt.Errorf("store: record header: checksum mismatch")
	}
	h := recHeader{
		typ:      b[4],
		flags:    b[5],
		count:    binary.LittleEndian.Uint16(b[6:]),
		length:   binary.LittleEndian.Uint32(b[8:]),
		batchLen: binary.LittleEndian.Uint32(b[12:]),
		seq:      binary.LittleEndian.Uint64(b[16:]),
		dataCRC:  binary.LittleEndian.Uint32(b[24:]),
	}
	if h.length > maxRecord {
		return recHeader{}, fmt.Errorf("store: record header: payload length %d too large", h.length)
	}
	if h.flags&flagBatchStart != 0 && (h.count == 0 || int(h.batchLen) < recSize(int(h.length))) {
		return recHeader{}, fmt.Errorf("store: record header: bad batch framing")
	}
	return h, nil
}

// superblock is the root of the store, kept in two slots; the valid one with
// the higher generation wins.
//
//	0   [8]  magic "PVSTORE1"
//	8   u32  version (2; 1 is read too)
//	12  u32  flags (0)
//	16  [16] store UUID
//	32  u64  generation
//	40  u64  segment size
//	48  u64  dataStart (offset of segment 0)
//	56  u64  segment count
//	64  u64  checkpoint directory record offset (0: no checkpoint, empty store)
//	72  u32  checkpoint directory record length (header included)
//	76  u32  replay segment index
//	80  u64  replay offset within that segment (0: at its header)
//	88  u64  replay segment sequence
//	96  u64  replay first record sequence
//	104 i64  creation time, Unix nanoseconds
//	112 [12] zero
//	124 u32  CRC32C of bytes 0..123
type superblock struct {
	uuid       [16]byte
	generation uint64
	segSize    int64
	dataStart  int64
	segCount   int64
	ckptOff    int64
	ckptLen    uint32
	replay     logPos
	created    int64
}

// logPos is a position in the log: where replay starts or the writer is.
type logPos struct {
	seg    uint32 // segment index
	off    int64  // offset within the segment; 0 means before its header
	segSeq uint64 // the segment's sequence number
	seq    uint64 // sequence number of the next record
}

func (s *superblock) marshal() []byte {
	b := make([]byte, superSize)
	copy(b, superMagic)
	binary.LittleEndian.PutUint32(b[8:], superVersion)
	copy(b[16:32], s.uuid[:])
	binary.LittleEndian.PutUint64(b[32:], s.generation)
	binary.LittleEndian.PutUint64(b[40:], uint64(s.segSize))
	binary.LittleEndian.PutUint64(b[48:], uint64(s.dataStart))
	binary.LittleEndian.PutUint64(b[56:], uint64(s.segCount))
	binary.LittleEndian.PutUint64(b[64:], uint64(s.ckptOff))
	binary.LittleEndian.PutUint32(b[72:], s.ckptLen)
	binary.LittleEndian.PutUint32(b[76:], s.replay.seg)
	binary.LittleEndian.PutUint64(b[80:], uint64(s.replay.off))
	binary.LittleEndian.PutUint64(b[88:], s.replay.segSeq)
	binary.LittleEndian.PutUint64(b[96:], s.replay.seq)
	binary.LittleEndian.PutUint64(b[104:], uint64(s.created))
	binary.LittleEndian.PutUint32(b[124:], crc(b[:124]))
	return b
}

func parseSuperblock(b []byte) (*superblock, error) {
	if len(b) < superLen || string(b[:8]) != superMagic {
		return nil, ErrNotFormatted
	}
	if binary.LittleEndian.Uint32(b[124:]) != crc(b[:124]) {
		return nil, fmt.Errorf("store: superblock: checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v < superMinVersion || v > superVersion {
		return nil, fmt.Errorf("store: superblock: version %d not supported", v)
	}
	s := &superblock{
		generation: binary.LittleEndian.Uint64(b[32:]),
		segSize:    int64(binary.LittleEndian.Uint64(b[40:])),
		dataStart:  int64(binary.LittleEndian.Uint64(b[48:])),
		segCount:   int64(binary.LittleEndian.Uint64(b[56:])),
		ckptOff:    int64(binary.LittleEndian.Uint64(b[64:])),
		ckptLen:    binary.LittleEndian.Uint32(b[72:]),
		replay: logPos{
			seg:    binary.LittleEndian.Uint32(b[76:]),
			off:    int64(binary.LittleEndian.Uint64(b[80:])),
			segSeq: binary.LittleEndian.Uint64(b[88:]),
			seq:    binary.LittleEndian.Uint64(b[96:]),
		},
		created: int64(binary.LittleEndian.Uint64(b[104:])),
	}
	copy(s.uuid[:], b[16:32])
	if s.segSize < 1<<20 || s.segSize > 1<<32 || s.dataStart < 2*superSize || s.segCount < 2 ||
		s.segCount > 1<<31 || int64(s.replay.seg) >= s.segCount || s.replay.off < 0 || s.replay.off > s.segSize {
		return nil, fmt.Errorf("store: superblock: geometry out of range")
	}
	return s, nil
}

// segHeader opens every segment:
//
//	0  [8]  magic "PVSEG001"
//	8  [16] store UUID
//	24 u32  segment index
//	28 u32  next segment index (0xffffffff: none reserved)
//	32 u64  segment sequence (one more than the previous segment's)
//	40 u64  sequence number of the first record
//	48 i64  time written, Unix nanoseconds
//	56 u32  zero
//	60 u32  CRC32C of bytes 0..59
type segHeader struct {
	uuid     [16]byte
	index    uint32
	next     uint32
	segSeq   uint64
	firstSeq uint64
	written  int64
}

func (h *segHeader) marshal() []byte {
	b := make([]byte, segHeaderSize)
	copy(b, segMagic)
	copy(b[8:24], h.uuid[:])
	binary.LittleEndian.PutUint32(b[24:], h.index)
	binary.LittleEndian.PutUint32(b[28:], h.next)
	binary.LittleEndian.PutUint64(b[32:], h.segSeq)
	binary.LittleEndian.PutUint64(b[40:], h.firstSeq)
	binary.LittleEndian.PutUint64(b[48:], uint64(h.written))
	binary.LittleEndian.PutUint32(b[60:], crc(b[:60]))
	return b
}

func parseSegHeader(b []byte) (*segHeader, error) {
	if len(b) < segHeaderSize || string(b[:8]) != segMagic {
		return nil, fmt.Errorf("store: segment header: bad magic")
	}
	if binary.LittleEndian.Uint32(b[60:]) != crc(b[:60]) {
		return nil, fmt.Errorf("store: segment header: checksum mismatch")
	}
	h := &segHeader{
		index:    binary.LittleEndian.Uint32(b[24:]),
		next:     binary.LittleEndian.Uint32(b[28:]),
		segSeq:   binary.LittleEndian.Uint64(b[32:]),
		firstSeq: binary.LittleEndian.Uint64(b[40:]),
		written:  int64(binary.LittleEndian.Uint64(b[48:])),
	}
	copy(h.uuid[:], b[8:24])
	return h, nil
}

// seal is the payload of the record that closes a full segment, the last
// record of its last batch (a batch of its own, or the one that filled the
// segment): the segment's record sequence range and a checksum of every
// byte before the record, so that a sealed segment can be verified (and
// shipped) on its own (checkSeals).
//
//	0  u64 first record sequence
//	8  u64 last record sequence before the seal
//	16 u32 next segment index
//	20 u32 CRC32C of the segment's bytes [0, seal record offset)
type seal struct {
	firstSeq, lastSeq uint64
	next              uint32
	dataCRC           uint32
}

const sealSize = 24

func (s seal) marshal() []byte {
	b := make([]byte, sealSize)
	binary.LittleEndian.PutUint64(b, s.firstSeq)
	binary.LittleEndian.PutUint64(b[8:], s.lastSeq)
	binary.LittleEndian.PutUint32(b[16:], s.next)
	binary.LittleEndian.PutUint32(b[20:], s.dataCRC)
	return b
}

func parseSeal(b []byte) (seal, error) {
	if len(b) != sealSize {
		return seal{}, errShort
	}
	return seal{
		firstSeq: binary.LittleEndian.Uint64(b),
		lastSeq:  binary.LittleEndian.Uint64(b[8:]),
		next:     binary.LittleEndian.Uint32(b[16:]),
		dataCRC:  binary.LittleEndian.Uint32(b[20:]),
	}, nil
}
