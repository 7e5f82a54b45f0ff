package store

import "fmt"

// Decoded record payloads. Every field is described in docs/store-format.md;
// integers are unsigned LEB128 varints (uv), zig-zag varints (sv) or fixed
// little-endian (u8/u32/u64); strings and byte strings are a uv length and
// the bytes.

type recAccountAddP struct {
	id         uint32
	name, hash string
}

const (
	fieldPassword = 1
	fieldQuota    = 2
	fieldDisabled = 3
)

type recAccountDelP struct{ id uint32 }

type recAccountSetP struct {
	id       uint32
	field    uint8
	hash     string
	quota    int64
	disabled bool
}

type recAliasP struct {
	address string
	account uint32 // 0 removes
}

type recSettingP struct {
	key     string
	present bool
	value   []byte
}

type recMailboxCreateP struct {
	acct, id      uint32
	name, special string
	uidValidity   uint32
}

type recMailboxDeleteP struct{ acct, id uint32 }

type renameEntry struct {
	id   uint32
	name string
}

type recMailboxRenameP struct {
	acct    uint32
	entries []renameEntry
}

type recSubscribeP struct {
	acct uint32
	name string
	on   bool
}

type target struct {
	acct, mbox, uid uint32
	date            int64
	flags           uint32
	kws             []string
}

// recAppendP is a new message for one or more mailboxes (its body inline or
// in chunk records). recBlobMove reuses the body part with from/acct/mbox/uid
// naming the message whose body moves.
type recAppendP struct {
	size    uint32
	chunks  []extent
	targets []target
	data    []byte // inline body (len == size) when chunks is empty
}

type recBlobMoveP struct {
	size   uint32
	chunks []extent
	from   int64 // the body's offset before the move
	acct   uint32
	mbox   uint32
	uid    uint32
	data   []byte
}

type uidPair struct{ src, dst uint32 }

type recCopyP struct {
	acct, src, dst uint32
	move           bool
	pairs          []uidPair
}

type recFlagsP struct {
	acct, mbox     uint32
	op             FlagOp
	bits           uint32
	kws            []string
	unchangedSince uint64
	uids           UIDSet
}

type recExpungeP struct {
	acct, mbox  uint32
	onlyDeleted bool
	uids        UIDSet
}

// recRecentP raises a mailbox's \Recent mark: the highest UID that some
// session has claimed as recent (IMAP4rev1, RFC 3501 section 2.3.2).
type recRecentP struct {
	acct, mbox uint32
	mark       uint32
}

type recCkptDirP struct {
	replay  logPos
	total   uint64
	dataCRC uint32
	extents []extent
}

// putSet writes a UID set: uv count+1 (0 for a nil set, meaning all), then
// (uv start, uv stop) per range.
func putSet(e *enc, s UIDSet) {
	if s == nil {
		e.uv(0)
		return
	}
	e.uv(uint64(len(s)) + 1)
	for _, r := range s {
		e.uv(uint64(r.Start))
		e.uv(uint64(r.Stop))
	}
}

func getSet(d *dec) UIDSet {
	if len(d.b) > 0 && d.b[0] == 0 {
		d.b = d.b[1:]
		return nil
	}
	v := d.uv()
	if v == 0 || v-1 > uint64(len(d.b)/2) {
		d.fail()
		return nil
	}
	s := make(UIDSet, v-1)
	for i := range s {
		s[i] = UIDRange{d.u32v(), d.u32v()}
	}
	return s
}

// marshalRec encodes any record payload value.
func marshalRec(v any) (typ uint8, p []byte) {
	var e enc
	switch r := v.(type) {
	case *recAccountAddP:
		e.uv(uint64(r.id))
		e.str(r.name)
		e.str(r.hash)
		return recAccountAdd, e.b
	case *recAccountDelP:
		e.uv(uint64(r.id))
		return recAccountDel, e.b
	case *recAccountSetP:
		e.uv(uint64(r.id))
		e.u8(r.field)
		switch r.field {
		case fieldPassword:
			e.str(r.hash)
		case fieldQuota:
			e.uv(uint64(r.quota))
		case fieldDisabled:
			e.u8(b2u(r.disabled))
		}
		return recAccountSet, e.b
	case *recAliasP:
		e.str(r.address)
		e.uv(uint64(r.account))
		return recAlias, e.b
	case *recSettingP:
		e.str(r.key)
		e.u8(b2u(r.present))
		e.bytes(r.value)
		return recSetting, e.b
	case *recMailboxCreateP:
		e.uv(uint64(r.acct))
		e.uv(uint64(r.id))
		e.str(r.name)
		e.str(r.special)
		e.uv(uint64(r.uidValidity))
		return recMailboxCreate, e.b
	case *recMailboxDeleteP:
		e.uv(uint64(r.acct))
		e.uv(uint64(r.id))
		return recMailboxDelete, e.b
	case *recMailboxRenameP:
		e.uv(uint64(r.acct))
		e.uv(uint64(len(r.entries)))
		for _, x := range r.entries {
			e.uv(uint64(x.id))
			e.str(x.name)
		}
		return recMailboxRename, e.b
	case *recSubscribeP:
		e.uv(uint64(r.acct))
		e.str(r.name)
		e.u8(b2u(r.on))
		return recSubscribe, e.b
	case *recAppendP:
		return recAppend, r.marshal()
	case *recBlobMoveP:
		return recBlobMove, r.marshal()
	case *recCopyP:
		e.uv(uint64(r.acct))
		e.uv(uint64(r.src))
		e.uv(uint64(r.dst))
		e.u8(b2u(r.move))
		e.uv(uint64(len(r.pairs)))
		for _, p := range r.pairs {
			e.uv(uint64(p.src))
			e.uv(uint64(p.dst))
		}
		return recCopy, e.b
	case *recFlagsP:
		e.uv(uint64(r.acct))
		e.uv(uint64(r.mbox))
		e.u8(uint8(r.op))
		e.uv(uint64(r.bits))
		e.strs(r.kws)
		e.uv(r.unchangedSince)
		putSet(&e, r.uids)
		return recFlags, e.b
	case *recExpungeP:
		e.uv(uint64(r.acct))
		e.uv(uint64(r.mbox))
		e.u8(b2u(r.onlyDeleted))
		putSet(&e, r.uids)
		return recExpunge, e.b
	case *recRecentP:
		e.uv(uint64(r.acct))
		e.uv(uint64(r.mbox))
		e.uv(uint64(r.mark))
		return recRecent, e.b
	case *recCkptDirP:
		putPos(&e, r.replay)
		e.uv(r.total)
		e.u32(r.dataCRC)
		putExtents(&e, r.extents)
		return recCkptDir, e.b
	}
	panic(fmt.Sprintf("store: marshalRec: unknown %T", v))
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func putPos(e *enc, p logPos) {
	e.uv(uint64(p.seg))
	e.uv(uint64(p.off))
	e.uv(p.segSeq)
	e.uv(p.seq)
}

func getPos(d *dec) logPos {
	p := logPos{seg: d.u32v()}
	off := d.uv()
	if off > 1<<40 {
		d.fail()
	}
	p.off = int64(off)
	p.segSeq = d.uv()
	p.seq = d.uv()
	return p
}

// decodeRec decodes a verified payload of type typ. Chunk and checkpoint
// data records decode to their bytes. It never panics on any input.
func decodeRec(typ uint8, p []byte) (any, error) {
	d := dec{b: p}
	var v any
	switch typ {
	case recSeal:
		s, err := parseSeal(p)
		return s, err
	case recBlobChunk, recCkptData, recPad:
		return p, nil
	case recAppend, recBlobMove:
		meta, data, ok := splitBlob(p)
		if !ok {
			return nil, fmt.Errorf("store: %s record: meta %w", recNames[typ], errShort)
		}
		if typ == recAppend {
			r, err := decodeAppendMeta(meta)
			if err != nil {
				return nil, err
			}
			if r.data, err = bodyData(r.size, r.chunks, data); err != nil {
				return nil, err
			}
			return r, nil
		}
		r, err := decodeBlobMoveMeta(meta)
		if err != nil {
			return nil, err
		}
		if r.data, err = bodyData(r.size, r.chunks, data); err != nil {
			return nil, err
		}
		return r, nil
	case recAccountAdd:
		v = &recAccountAddP{id: d.u32v(), name: d.str(), hash: d.str()}
	case recAccountDel:
		v = &recAccountDelP{id: d.u32v()}
	case recAccountSet:
		r := &recAccountSetP{id: d.u32v(), field: d.u8()}
		switch r.field {
		case fieldPassword:
			r.hash = d.str()
		case fieldQuota:
			q := d.uv()
			if q > 1<<62 {
				d.fail()
			}
			r.quota = int64(q)
		case fieldDisabled:
			r.disabled = d.u8() != 0
		default:
			d.fail()
		}
		v = r
	case recAlias:
		v = &recAliasP{address: d.str(), account: d.u32v()}
	case recSetting:
		v = &recSettingP{key: d.str(), present: d.u8() != 0, value: d.raw()}
	case recMailboxCreate:
		v = &recMailboxCreateP{acct: d.u32v(), id: d.u32v(), name: d.str(), special: d.str(), uidValidity: d.u32v()}
	case recMailboxDelete:
		v = &recMailboxDeleteP{acct: d.u32v(), id: d.u32v()}
	case recMailboxRename:
		r := &recMailboxRenameP{acct: d.u32v()}
		r.entries = make([]renameEntry, d.count(2))
		for i := range r.entries {
			r.entries[i] = renameEntry{d.u32v(), d.str()}
		}
		v = r
	case recSubscribe:
		v = &recSubscribeP{acct: d.u32v(), name: d.str(), on: d.u8() != 0}
	case recCopy:
		r := &recCopyP{acct: d.u32v(), src: d.u32v(), dst: d.u32v(), move: d.u8() != 0}
		r.pairs = make([]uidPair, d.count(2))
		for i := range r.pairs {
			r.pairs[i] = uidPair{d.u32v(), d.u32v()}
		}
		v = r
	case recFlags:
		r := &recFlagsP{acct: d.u32v(), mbox: d.u32v(), op: FlagOp(d.u8())}
		r.bits = d.u32v() & allBits
		r.kws = d.strs()
		r.unchangedSince = d.uv()
		r.uids = getSet(&d)
		if r.op > FlagsReplace {
			d.fail()
		}
		v = r
	case recExpunge:
		v = &recExpungeP{acct: d.u32v(), mbox: d.u32v(), onlyDeleted: d.u8() != 0, uids: getSet(&d)}
	case recRecent:
		v = &recRecentP{acct: d.u32v(), mbox: d.u32v(), mark: d.u32v()}
	case recCkptDir:
		r := &recCkptDirP{replay: getPos(&d), total: d.uv(), dataCRC: d.u32()}
		r.extents = getExtents(&d)
		v = r
	default:
		return nil, fmt.Errorf("store: unknown record type %d", typ)
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, fmt.Errorf("store: %s record: %w", recNames[typ], errShort)
	}
	return v, nil
}
