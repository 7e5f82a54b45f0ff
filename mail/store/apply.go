package store

import "slices"

// flagsResult is what applying a flags record did.
type flagsResult struct {
	changed []Message
	failed  []uint32
}

// apply applies one durable record to the index; s.mu is held. Replay and
// the writer call it alike, so that the index after a restart is the index
// before it. Conflicts (a mailbox deleted meanwhile, a UID already used) are
// resolved here, the same way every time. With live set it also returns the
// events to publish.
func (s *Store) apply(r rec, seq uint64, off int64, live bool) (any, []Event) {
	v := r.v
	if v == nil {
		var err error
		if v, err = decodeRec(r.typ, r.p); err != nil {
			return err, nil
		}
	}
	size := int64(recSize(r.len()))
	switch r.typ {
	case recBlobChunk, recCkptData, recCkptDir, recSeal, recPad:
	default:
		s.metaSince.Add(size)
	}
	var ev []Event
	var res any
	switch x := v.(type) {
	case *recAccountAddP:
		res = s.applyAccountAdd(x)
	case *recAccountDelP:
		if a := s.st.accounts[x.id]; a != nil {
			s.deleteAccount(a)
		}
	case *recAccountSetP:
		if a := s.st.accounts[x.id]; a != nil {
			switch x.field {
			case fieldPassword:
				a.hash = x.hash
			case fieldQuota:
				a.quota = x.quota
			case fieldDisabled:
				a.disabled = x.disabled
			}
		}
	case *recAliasP:
		if x.account == 0 {
			delete(s.st.aliases, x.address)
		} else if s.st.accounts[x.account] != nil {
			s.st.aliases[x.address] = x.account
		}
	case *recSettingP:
		if x.present {
			s.st.settings[x.key] = x.value
		} else {
			delete(s.st.settings, x.key)
		}
	case *recMailboxCreateP:
		res, ev = s.applyMailboxCreate(x, seq)
	case *recMailboxDeleteP:
		if a := s.st.accounts[x.acct]; a != nil {
			if mb := a.mailboxes[x.id]; mb != nil {
				ev = append(ev, Event{Kind: EventMailboxDeleted, Mailbox: mb.name, ModSeq: seq, acct: a.id})
				s.deleteMailbox(mb)
			}
		}
	case *recMailboxRenameP:
		res, ev = s.applyRename(x, seq)
	case *recSubscribeP:
		if a := s.st.accounts[x.acct]; a != nil {
			if x.on {
				a.subs[x.name] = true
			} else {
				delete(a.subs, x.name)
			}
		}
	case *recAppendP:
		b := &blob{off: off, reclen: uint32(size), size: x.size, chunks: x.chunks}
		if len(x.chunks) > 0 {
			b.reclen = 0
		}
		res, ev = s.applyAppend(x, b, seq, live)
	case *recCopyP:
		res, ev = s.applyCopy(x, seq, live)
	case *recFlagsP:
		res, ev = s.applyFlags(x, seq, live)
	case *recExpungeP:
		res, ev = s.applyExpunge(x, seq)
	case *recBlobMoveP:
		res = s.applyBlobMove(x, off, uint32(size))
	case *recRecentP:
		// No modseq: \Recent is not a flag CONDSTORE tracks (RFC 7162
		// section 3), and a claim changes nothing another session sees.
		if mb := s.mailboxOf(x.acct, x.mbox); mb != nil {
			mb.recent = max(mb.recent, min(x.mark, mb.uidNext-1))
			mb.recentRes = max(mb.recentRes, mb.recent)
		}
	}
	return res, ev
}

func (s *Store) applyAccountAdd(x *recAccountAddP) error {
	if s.st.byName[x.name] != nil || s.st.accounts[x.id] != nil || x.id == 0 {
		return ErrUserExists
	}
	a := &account{id: x.id, name: x.name, hash: x.hash, mailboxes: map[uint32]*mailbox{},
		byName: map[string]*mailbox{}, subs: map[string]bool{}}
	s.st.accounts[a.id] = a
	s.st.byName[a.name] = a
	s.st.domains[domainOf(a.name)]++
	s.st.nextAcct = max(s.st.nextAcct, a.id+1)
	return nil
}

func (s *Store) deleteAccount(a *account) {
	for _, mb := range a.mailboxes {
		s.deleteMailbox(mb)
	}
	for addr, id := range s.st.aliases {
		if id == a.id {
			delete(s.st.aliases, addr)
		}
	}
	d := domainOf(a.name)
	if s.st.domains[d]--; s.st.domains[d] <= 0 {
		delete(s.st.domains, d)
	}
	delete(s.st.accounts, a.id)
	delete(s.st.byName, a.name)
}

func (s *Store) applyMailboxCreate(x *recMailboxCreateP, seq uint64) (error, []Event) {
	a := s.st.accounts[x.acct]
	if a == nil {
		return ErrNoSuchUser, nil
	}
	if a.byName[x.name] != nil || x.id == 0 {
		return ErrMailboxExists, nil
	}
	for _, other := range s.st.accounts {
		if other.mailboxes[x.id] != nil {
			return ErrMailboxExists, nil
		}
	}
	mb := &mailbox{id: x.id, acct: a, name: x.name, special: x.special, uidValidity: x.uidValidity,
		uidNext: 1, uidReserved: 1, highestModSeq: seq}
	a.mailboxes[mb.id] = mb
	a.byName[mb.name] = mb
	s.st.nextMbox = max(s.st.nextMbox, mb.id+1)
	s.st.maxUIDV = max(s.st.maxUIDV, mb.uidValidity)
	return nil, []Event{{Kind: EventMailboxCreated, Mailbox: mb.name, ModSeq: seq, Status: mb.status(), acct: a.id}}
}

func (s *Store) deleteMailbox(mb *mailbox) {
	for i := len(mb.msgs) - 1; i >= 0; i-- {
		s.removeMsg(mb, i)
	}
	delete(mb.acct.mailboxes, mb.id)
	delete(mb.acct.byName, mb.name)
}

func (s *Store) applyRename(x *recMailboxRenameP, seq uint64) (error, []Event) {
	a := s.st.accounts[x.acct]
	if a == nil {
		return ErrNoSuchUser, nil
	}
	moving := map[uint32]bool{}
	for _, e := range x.entries {
		if a.mailboxes[e.id] == nil {
			return ErrNoSuchMailbox, nil
		}
		moving[e.id] = true
	}
	for _, e := range x.entries {
		if o := a.byName[e.name]; o != nil && !moving[o.id] {
			return ErrMailboxExists, nil
		}
	}
	var ev []Event
	for _, e := range x.entries {
		delete(a.byName, a.mailboxes[e.id].name)
	}
	for _, e := range x.entries {
		mb := a.mailboxes[e.id]
		ev = append(ev, Event{Kind: EventMailboxRenamed, Mailbox: mb.name, NewName: e.name, ModSeq: seq, acct: a.id})
		mb.name = e.name
		mb.highestModSeq = seq
		a.byName[e.name] = mb
	}
	return nil, ev
}

// mailboxOf finds a mailbox by ids.
func (s *Store) mailboxOf(acct, id uint32) *mailbox {
	a := s.st.accounts[acct]
	if a == nil {
		return nil
	}
	return a.mailboxes[id]
}

// insertMsg adds m to mb; false if its UID is taken or below UIDNEXT.
func (s *Store) insertMsg(mb *mailbox, m msg) bool {
	if m.uid == 0 || m.uid < mb.uidNext {
		return false
	}
	i, found := mb.find(m.uid)
	if found {
		return false
	}
	mb.msgs = slices.Insert(mb.msgs, i, m)
	countMsg(mb, &mb.msgs[i], 1)
	if m.blob.refs++; m.blob.refs == 1 {
		s.st.blobs++
		s.blobLive(m.blob, 1)
	}
	mb.uidNext = m.uid + 1
	mb.uidReserved = max(mb.uidReserved, mb.uidNext)
	mb.highestModSeq = max(mb.highestModSeq, m.modseq)
	return true
}

// countMsg adds (sign 1) or removes (-1) a message from the counters.
func countMsg(mb *mailbox, m *msg, sign int) {
	size := int64(m.blob.size)
	mb.size += int64(sign) * size
	mb.acct.usage += int64(sign) * size
	mb.acct.nmsgs += sign
	if m.flags&bitSeen == 0 {
		mb.unseen += sign
	}
	if m.flags&bitDeleted != 0 {
		mb.deleted += sign
	}
}

func (s *Store) removeMsg(mb *mailbox, i int) {
	m := &mb.msgs[i]
	countMsg(mb, m, -1)
	if m.blob.refs--; m.blob.refs == 0 {
		s.st.blobs--
		s.blobLive(m.blob, -1)
		s.freedBodies = true
	}
	mb.msgs = slices.Delete(mb.msgs, i, i+1)
}

func (s *Store) applyAppend(x *recAppendP, b *blob, seq uint64, live bool) ([]error, []Event) {
	errs := make([]error, len(x.targets))
	var ev []Event
	for i, t := range x.targets {
		mb := s.mailboxOf(t.acct, t.mbox)
		if mb == nil {
			errs[i] = ErrNoSuchMailbox
			continue
		}
		m := msg{uid: t.uid, flags: t.flags, kw: mb.kwBits(t.kws), date: t.date, modseq: seq, blob: b}
		if !s.insertMsg(mb, m) {
			errs[i] = ErrCorrupt
			continue
		}
		if live {
			ev = append(ev, Event{Kind: EventNew, Mailbox: mb.name, Message: mb.message(&m),
				ModSeq: seq, Status: mb.status(), acct: t.acct})
		}
	}
	return errs, ev
}

func (s *Store) applyCopy(x *recCopyP, seq uint64, live bool) ([]uidPair, []Event) {
	src, dst := s.mailboxOf(x.acct, x.src), s.mailboxOf(x.acct, x.dst)
	if src == nil || dst == nil {
		return nil, nil
	}
	var done []uidPair
	var ev []Event
	var gone []uint32
	for _, p := range x.pairs {
		i, ok := src.find(p.src)
		if !ok {
			continue
		}
		m := src.msgs[i]
		m.uid, m.modseq = p.dst, seq
		if len(src.keywords) > 0 {
			m.kw = dst.kwBits(kwNames(src, m.kw))
		}
		if !s.insertMsg(dst, m) {
			continue
		}
		done = append(done, p)
		if live {
			ev = append(ev, Event{Kind: EventNew, Mailbox: dst.name, Message: dst.message(&m),
				ModSeq: seq, Status: dst.status(), acct: x.acct})
		}
		if x.move {
			i, _ = src.find(p.src)
			s.removeMsg(src, i)
			gone = append(gone, p.src)
		}
	}
	if len(gone) > 0 {
		src.highestModSeq = seq
		ev = append(ev, Event{Kind: EventExpunge, Mailbox: src.name, UIDs: gone, ModSeq: seq,
			Status: src.status(), acct: x.acct})
	}
	return done, ev
}

func kwNames(mb *mailbox, bits uint64) []string {
	var out []string
	for i, k := range mb.keywords {
		if bits&(1<<uint(i)) != 0 {
			out = append(out, k)
		}
	}
	return out
}

func (s *Store) applyFlags(x *recFlagsP, seq uint64, live bool) (*flagsResult, []Event) {
	mb := s.mailboxOf(x.acct, x.mbox)
	res := &flagsResult{}
	if mb == nil {
		return res, nil
	}
	// Removing a keyword does not define it; adding or replacing does.
	var kw uint64
	if x.op == FlagsRemove {
		kw = mb.kwKnown(x.kws)
	} else {
		kw = mb.kwBits(x.kws)
	}
	var ev []Event
	mb.each(x.uids, func(i int) {
		m := &mb.msgs[i]
		if x.unchangedSince > 0 && m.modseq > x.unchangedSince {
			res.failed = append(res.failed, m.uid)
			return
		}
		f, k := m.flags, m.kw
		switch x.op {
		case FlagsAdd:
			f, k = f|x.bits, k|kw
		case FlagsRemove:
			f, k = f&^x.bits, k&^kw
		case FlagsReplace:
			f, k = x.bits, kw
		}
		if f == m.flags && k == m.kw {
			return
		}
		countMsg(mb, m, -1)
		m.flags, m.kw, m.modseq = f, k, seq
		countMsg(mb, m, 1)
		mb.highestModSeq = seq
		if live {
			msg := mb.message(m)
			res.changed = append(res.changed, msg)
			ev = append(ev, Event{Kind: EventFlags, Mailbox: mb.name, Message: msg, ModSeq: seq, acct: x.acct})
		}
	})
	for i := range ev {
		ev[i].Status = mb.status()
	}
	return res, ev
}

func (s *Store) applyExpunge(x *recExpungeP, seq uint64) ([]uint32, []Event) {
	mb := s.mailboxOf(x.acct, x.mbox)
	if mb == nil {
		return nil, nil
	}
	var gone []uint32
	var idx []int
	mb.each(x.uids, func(i int) {
		if !x.onlyDeleted || mb.msgs[i].flags&bitDeleted != 0 {
			idx = append(idx, i)
		}
	})
	for j := len(idx) - 1; j >= 0; j-- {
		gone = append(gone, mb.msgs[idx[j]].uid)
		s.removeMsg(mb, idx[j])
	}
	if len(gone) == 0 {
		return nil, nil
	}
	slices.Reverse(gone)
	mb.highestModSeq = seq
	return gone, []Event{{Kind: EventExpunge, Mailbox: mb.name, UIDs: gone, ModSeq: seq, Status: mb.status(), acct: x.acct}}
}

// applyBlobMove points a body at its new copy, if it still is where the
// move found it.
func (s *Store) applyBlobMove(x *recBlobMoveP, off int64, reclen uint32) bool {
	mb := s.mailboxOf(x.acct, x.mbox)
	if mb == nil {
		return false
	}
	i, ok := mb.find(x.uid)
	if !ok {
		return false
	}
	b := mb.msgs[i].blob
	if b.where() != x.from || b.size != x.size {
		return false
	}
	s.blobLive(b, -1)
	b.off, b.reclen, b.chunks = off, reclen, x.chunks
	if len(x.chunks) > 0 {
		b.reclen = 0
	}
	s.blobLive(b, 1)
	return true
}

// where is the offset that names a body's current location: its record, or
// its first chunk.
func (b *blob) where() int64 {
	if len(b.chunks) > 0 {
		return b.chunks[0].off
	}
	return b.off
}
