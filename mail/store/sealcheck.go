package store

import (
	"context"
	"fmt"
)

// checkSeals verifies every sealed segment the store still needs (live
// bytes, or records replay reads): that it describes itself, as the format
// promises, so that it could be copied elsewhere and verified alone. Its
// header names the store, this segment and its sequence; its batches are
// framed one after another up to a seal record; and the seal's checksum
// covers every byte before that record, its sequence range the records.
func (s *Store) checkSeals(ctx context.Context) ([]Problem, error) {
	var segs []uint32
	s.mu.RLock()
	for i, seq := range s.segSeq {
		n := uint32(i)
		if seq == 0 || n == s.headSeg || n == s.headNext || s.reserved[n] {
			continue
		}
		if s.segLive[n] != 0 || seq >= s.keepFrom {
			segs = append(segs, n)
		}
	}
	s.mu.RUnlock()
	var out []Problem
	var buf []byte
	for _, i := range segs {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if buf == nil {
			buf = make([]byte, s.segSize)
		}
		if _, err := s.v.ReadAt(buf, s.segOff(i)); err != nil {
			return out, fmt.Errorf("store: reading segment %d: %w", i, err)
		}
		if detail := s.verifySealed(i, buf); detail != "" {
			out = append(out, Problem{Offset: s.segOff(i), Detail: fmt.Sprintf("segment %d: %s", i, detail)})
		}
	}
	return out, nil
}

// verifySealed checks the sealed segment i, whose bytes are b, and says
// what is wrong with it ("" if nothing).
func (s *Store) verifySealed(i uint32, b []byte) string {
	sh, err := parseSegHeader(b)
	if err != nil {
		return err.Error()
	}
	if sh.uuid != s.uuid || sh.index != i {
		return fmt.Sprintf("header names segment %d of another store or place", sh.index)
	}
	off := segHeaderSize
	seq := sh.firstSeq
	for off+recHeaderSize <= len(b) {
		h, err := parseRecHeader(b[off:], s.uuid)
		if err != nil || h.flags&flagBatchStart == 0 || h.seq != seq || off+int(h.batchLen) > len(b) {
			return fmt.Sprintf("no intact batch at offset %d (record %d) before the seal", off, seq)
		}
		o := off
		for k := 0; k < int(h.count); k++ {
			rh, err := parseRecHeader(b[o:], s.uuid)
			if err != nil || rh.seq != seq || o+recSize(int(rh.length)) > off+int(h.batchLen) {
				return fmt.Sprintf("record %d at offset %d unreadable", seq, o)
			}
			if rh.typ == recSeal {
				p := b[o+recHeaderSize : o+recHeaderSize+int(rh.length)]
				sl, err := parseSeal(p)
				switch {
				case err != nil || crc(p) != rh.dataCRC:
					return fmt.Sprintf("seal record at offset %d damaged", o)
				case sl.dataCRC != crc(b[:o]):
					return fmt.Sprintf("seal at offset %d: checksum of the %d bytes before it does not match", o, o)
				case sl.firstSeq != sh.firstSeq || sl.lastSeq != seq-1:
					return fmt.Sprintf("seal at offset %d names records %d to %d, the segment holds %d to %d", o, sl.firstSeq, sl.lastSeq, sh.firstSeq, seq-1)
				case k != int(h.count)-1:
					return fmt.Sprintf("seal at offset %d is not its batch's last record", o)
				}
				return ""
			}
			o += recSize(int(rh.length))
			seq++
		}
		off += int(h.batchLen)
	}
	return "no seal record"
}
