package store

import (
	"encoding/binary"
	"fmt"
)

// Payloads that carry message bytes: the append record (meta, then the
// body inline or the extents of its chunks), blob moves of compaction, and
// the extents both use (docs/store-format.md, "Record types and payloads").

func putExtents(e *enc, xs []extent) {
	e.uv(uint64(len(xs)))
	for _, x := range xs {
		e.uv(uint64(x.off))
		e.uv(uint64(x.n))
	}
}

func getExtents(d *dec) []extent {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	xs := make([]extent, n)
	for i := range xs {
		off := d.uv()
		if off > 1<<62 {
			d.fail()
		}
		xs[i] = extent{int64(off), d.u32v()}
	}
	return xs
}

// blobPayload frames a message body record: u32 meta length, u32 CRC32C of
// the meta, the meta, then the body bytes. The separate meta checksum lets
// the store name the messages of a record whose body has rotted.
func blobPayload(meta, data []byte) []byte {
	b := make([]byte, 8, 8+len(meta)+len(data))
	binary.LittleEndian.PutUint32(b, uint32(len(meta)))
	binary.LittleEndian.PutUint32(b[4:], crc(meta))
	b = append(b, meta...)
	return append(b, data...)
}

// splitBlob undoes blobPayload; ok is false when the meta is damaged.
func splitBlob(p []byte) (meta, data []byte, ok bool) {
	if len(p) < 8 {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(p)
	if uint64(n) > uint64(len(p)-8) {
		return nil, nil, false
	}
	meta = p[8 : 8+n]
	if crc(meta) != binary.LittleEndian.Uint32(p[4:]) {
		return nil, nil, false
	}
	return meta, p[8+n:], true
}

func (r *recAppendP) marshal() []byte {
	pre, data := r.parts()
	return append(pre, data...)
}

// parts returns the payload as its framed meta and the body bytes.
func (r *recAppendP) parts() (pre, data []byte) {
	var e enc
	e.uv(uint64(r.size))
	putExtents(&e, r.chunks)
	e.uv(uint64(len(r.targets)))
	for _, t := range r.targets {
		e.uv(uint64(t.acct))
		e.uv(uint64(t.mbox))
		e.uv(uint64(t.uid))
		e.sv(t.date)
		e.uv(uint64(t.flags))
		e.strs(t.kws)
	}
	return blobPayload(e.b, nil), r.data
}

// decodeAppendMeta decodes the meta of an append record.
func decodeAppendMeta(meta []byte) (*recAppendP, error) {
	d := dec{b: meta}
	r := &recAppendP{size: d.u32v(), chunks: getExtents(&d)}
	n := d.count(5)
	r.targets = make([]target, n)
	for i := range r.targets {
		t := &r.targets[i]
		t.acct, t.mbox, t.uid = d.u32v(), d.u32v(), d.u32v()
		t.date = d.sv()
		t.flags = d.u32v() & allBits
		t.kws = d.strs()
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, fmt.Errorf("store: append record: %w", errShort)
	}
	return r, nil
}

func (r *recBlobMoveP) marshal() []byte {
	var e enc
	e.uv(uint64(r.size))
	putExtents(&e, r.chunks)
	e.sv(r.from)
	e.uv(uint64(r.acct))
	e.uv(uint64(r.mbox))
	e.uv(uint64(r.uid))
	return blobPayload(e.b, r.data)
}

func decodeBlobMoveMeta(meta []byte) (*recBlobMoveP, error) {
	d := dec{b: meta}
	r := &recBlobMoveP{size: d.u32v(), chunks: getExtents(&d)}
	r.from = d.sv()
	r.acct, r.mbox, r.uid = d.u32v(), d.u32v(), d.u32v()
	if d.err != nil || len(d.b) != 0 {
		return nil, fmt.Errorf("store: blob-move record: %w", errShort)
	}
	return r, nil
}

// bodyData checks that an inline body has the promised size.
func bodyData(size uint32, chunks []extent, data []byte) ([]byte, error) {
	if len(chunks) == 0 && uint32(len(data)) != size {
		return nil, fmt.Errorf("store: body of %d bytes, record says %d: %w", len(data), size, errShort)
	}
	if len(chunks) > 0 && len(data) != 0 {
		return nil, fmt.Errorf("store: chunked body with inline bytes: %w", errShort)
	}
	return data, nil
}
