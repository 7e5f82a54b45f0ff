package store

import (
	"fmt"
	"sort"
)

// The checkpoint is the whole index, serialised (docs/store-format.md):
//
//	"PVCKPT01"
//	uv  next account id, uv next mailbox id
//	uv  settings count, then (str key, bytes value) each
//	uv  blob count, then per blob: sv record offset (-1: lost), uv record
//	    length (0: chunked), uv size, extents (uv count, (uv off, uv len)...)
//	uv  account count, then per account: uv id, str name, str hash,
//	    uv quota, u8 disabled, strs subscriptions, uv mailbox count, and per
//	    mailbox: uv id, str name, str special-use, uv UIDVALIDITY, uv UIDNEXT,
//	    uv HIGHESTMODSEQ, strs keywords, uv \Recent mark (not in
//	    PVCKPT01), uv message count, and per message:
//	    uv UID minus the previous UID, uv flags, uv keyword bits,
//	    sv internal date (Unix s), uv modseq, uv blob index
//	uv  alias count, then (str address, uv account id) each
//
// "PVCKPT01", written before the \Recent mark existed, is read too: its
// mailboxes get the mark UIDNEXT-1 (nothing recent).
const (
	ckptMagic   = "PVCKPT02"
	ckptMagicV1 = "PVCKPT01"
)

// encodeCheckpoint serialises the index; s.mu held (read) by the caller,
// s.ckptMu held (it owns blob.mark).
func (s *Store) encodeCheckpoint() []byte {
	st := s.st
	e := enc{b: make([]byte, 0, 1<<16)}
	e.b = append(e.b, ckptMagic...)
	e.uv(uint64(st.nextAcct))
	e.uv(uint64(st.nextMbox))
	keys := make([]string, 0, len(st.settings))
	for k := range st.settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.uv(uint64(len(keys)))
	for _, k := range keys {
		e.str(k)
		e.bytes(st.settings[k])
	}
	accts := make([]*account, 0, len(st.accounts))
	for _, a := range st.accounts {
		accts = append(accts, a)
	}
	sort.Slice(accts, func(i, j int) bool { return accts[i].id < accts[j].id })
	var blobs []*blob
	for _, a := range accts {
		for _, mb := range a.mailboxes {
			for i := range mb.msgs {
				mb.msgs[i].blob.mark = 0
			}
		}
	}
	for _, a := range accts {
		for _, mb := range a.mailboxes {
			for i := range mb.msgs {
				if b := mb.msgs[i].blob; b.mark == 0 {
					blobs = append(blobs, b)
					b.mark = uint32(len(blobs))
				}
			}
		}
	}
	e.uv(uint64(len(blobs)))
	for _, b := range blobs {
		e.sv(b.off)
		e.uv(uint64(b.reclen))
		e.uv(uint64(b.size))
		putExtents(&e, b.chunks)
	}
	e.uv(uint64(len(accts)))
	for _, a := range accts {
		e.uv(uint64(a.id))
		e.str(a.name)
		e.str(a.hash)
		e.uv(uint64(a.quota))
		e.u8(b2u(a.disabled))
		subs := make([]string, 0, len(a.subs))
		for n := range a.subs {
			subs = append(subs, n)
		}
		sort.Strings(subs)
		e.strs(subs)
		e.uv(uint64(len(a.mailboxes)))
		for _, mb := range a.mailboxes {
			e.uv(uint64(mb.id))
			e.str(mb.name)
			e.str(mb.special)
			e.uv(uint64(mb.uidValidity))
			e.uv(uint64(mb.uidNext))
			e.uv(mb.highestModSeq)
			e.strs(mb.keywords)
			e.uv(uint64(mb.recent))
			e.uv(uint64(len(mb.msgs)))
			prev := uint32(0)
			for i := range mb.msgs {
				m := &mb.msgs[i]
				e.uv(uint64(m.uid - prev))
				prev = m.uid
				e.uv(uint64(m.flags))
				e.uv(m.kw)
				e.sv(m.date)
				e.uv(m.modseq)
				e.uv(uint64(m.blob.mark - 1))
			}
		}
	}
	aliases := make([]string, 0, len(st.aliases))
	for k := range st.aliases {
		aliases = append(aliases, k)
	}
	sort.Strings(aliases)
	e.uv(uint64(len(aliases)))
	for _, k := range aliases {
		e.str(k)
		e.uv(uint64(st.aliases[k]))
	}
	return e.b
}

// decodeCheckpoint rebuilds an index from a checkpoint. It checks every
// reference and never panics on any input.
func decodeCheckpoint(data []byte) (*state, error) {
	bad := func(what string) (*state, error) {
		return nil, fmt.Errorf("store: checkpoint: %s: %w", what, ErrCorrupt)
	}
	if len(data) < len(ckptMagic) {
		return bad("magic")
	}
	v1 := string(data[:len(ckptMagicV1)]) == ckptMagicV1
	if !v1 && string(data[:len(ckptMagic)]) != ckptMagic {
		return bad("magic")
	}
	d := &dec{b: data[len(ckptMagic):]}
	st := newState()
	st.nextAcct, st.nextMbox = d.u32v(), d.u32v()
	for n := d.count(2); n > 0; n-- {
		st.settings[d.str()] = d.raw()
	}
	blobs := make([]*blob, d.count(4))
	var slab []blob // bodies are allocated 1024 at a time
	for i := range blobs {
		if len(slab) == 0 {
			slab = make([]blob, min(1024, len(blobs)-i))
		}
		b := &slab[0]
		slab = slab[1:]
		*b = blob{off: d.sv(), reclen: d.u32v(), size: d.u32v(), chunks: getExtents(d)}
		if b.off < -1 {
			return bad("blob offset")
		}
		blobs[i] = b
	}
	mboxIDs := map[uint32]bool{}
	for n := d.count(8); n > 0 && d.err == nil; n-- {
		a := &account{id: d.u32v(), name: d.str(), hash: d.str(), mailboxes: map[uint32]*mailbox{},
			byName: map[string]*mailbox{}, subs: map[string]bool{}}
		q := d.uv()
		if q > 1<<62 {
			return bad("quota")
		}
		a.quota = int64(q)
		a.disabled = d.u8() != 0
		for _, sub := range d.strs() {
			a.subs[sub] = true
		}
		if a.id == 0 || st.accounts[a.id] != nil || st.byName[a.name] != nil {
			return bad("duplicate account")
		}
		st.accounts[a.id] = a
		st.byName[a.name] = a
		st.domains[domainOf(a.name)]++
		for m := d.count(8); m > 0 && d.err == nil; m-- {
			mb := &mailbox{id: d.u32v(), acct: a, name: d.str(), special: d.str(),
				uidValidity: d.u32v(), uidNext: d.u32v(), highestModSeq: d.uv(), keywords: d.strs()}
			if v1 {
				mb.recent = mb.uidNext - 1
			} else {
				mb.recent = d.u32v()
			}
			if mb.uidNext == 0 || mb.recent >= mb.uidNext {
				return bad("UIDNEXT or \\Recent mark")
			}
			mb.recentRes = mb.recent
			if mb.id == 0 || mboxIDs[mb.id] || a.byName[mb.name] != nil || len(mb.keywords) > maxKeywords {
				return bad("duplicate mailbox")
			}
			mboxIDs[mb.id] = true
			st.maxUIDV = max(st.maxUIDV, mb.uidValidity)
			a.mailboxes[mb.id] = mb
			a.byName[mb.name] = mb
			mb.msgs = make([]msg, d.count(6))
			uid := uint32(0)
			for i := range mb.msgs {
				delta := d.u32v()
				if delta == 0 || uint64(uid)+uint64(delta) >= uint64(mb.uidNext) {
					return bad("message UIDs")
				}
				uid += delta
				m := msg{uid: uid, flags: d.u32v() & allBits, kw: d.uv(), date: d.sv(), modseq: d.uv()}
				bi := d.uv()
				if d.err != nil || bi >= uint64(len(blobs)) {
					return bad("blob reference")
				}
				m.blob = blobs[bi]
				mb.msgs[i] = m
				countMsg(mb, &mb.msgs[i], 1)
				if m.blob.refs++; m.blob.refs == 1 {
					st.blobs++
				}
			}
			mb.uidReserved = mb.uidNext
		}
	}
	for n := d.count(2); n > 0 && d.err == nil; n-- {
		addr, id := d.str(), d.u32v()
		if st.accounts[id] == nil {
			return bad("alias target")
		}
		st.aliases[addr] = id
	}
	if d.err != nil || len(d.b) != 0 {
		return bad("truncated or trailing bytes")
	}
	return st, nil
}

// checkpoint writes the index to the log, then points the superblock at it.
func (s *Store) checkpoint() error {
	s.ckptMu.Lock()
	defer s.ckptMu.Unlock()
	return s.checkpointLocked()
}

// checkpointLocked writes a checkpoint; s.ckptMu held.
func (s *Store) checkpointLocked() error {
	s.mu.RLock()
	data := s.encodeCheckpoint()
	pos := s.applied
	s.mu.RUnlock()
	s.metaSince.Store(0)

	var units []*unit
	for o := 0; o < len(data) || o == 0; o += blobChunk {
		u := newUnit(rec{typ: recCkptData, p: data[o:min(o+blobChunk, len(data))]})
		u.data = true
		if err := s.enqueue(u); err != nil {
			return err
		}
		units = append(units, u)
		if len(data) == 0 {
			break
		}
	}
	dir := &recCkptDirP{replay: pos, total: uint64(len(data)), dataCRC: crc(data)}
	if err := s.awaitData(units); err != nil {
		return err
	}
	for _, u := range units {
		dir.extents = append(dir.extents, extent{u.offs[0], uint32(u.size)})
	}
	typ, p := marshalRec(dir)
	u, err := s.commit(rec{typ: typ, p: p})
	if err != nil {
		return err
	}
	s.mu.RLock()
	sb := s.sb
	s.mu.RUnlock()
	sb.generation++
	sb.ckptOff, sb.ckptLen, sb.replay = u.offs[0], uint32(u.size), pos
	if _, err := s.v.WriteAt(sb.marshal(), int64(sb.generation%2)*superSize); err != nil {
		s.fail(err)
		return fmt.Errorf("store: write superblock: %w", err)
	}
	if err := s.v.Flush(); err != nil {
		s.fail(err)
		return fmt.Errorf("store: flush superblock: %w", err)
	}
	s.mu.Lock()
	for _, x := range s.ckptExt {
		s.addLive(x.off, -int64(x.n))
	}
	s.ckptExt = append([]extent{{u.offs[0], uint32(u.size)}}, dir.extents...)
	for _, x := range s.ckptExt {
		s.addLive(x.off, int64(x.n))
	}
	// The slot not just written holds the previous superblock: its log
	// stays until the next checkpoint overwrites that slot.
	s.keepFrom = min(s.sb.replay.segSeq, sb.replay.segSeq)
	s.sb = sb
	s.ckptSeq = pos.seq
	s.mu.Unlock()
	return nil
}
