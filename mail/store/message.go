package store

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
)

// body is a message body read from a client: inline bytes in pooled
// buffers (owned by the caller until it hands them to the writer in an
// append record), or its chunk records, queued (and perhaps written).
type body struct {
	size   uint32
	parts  []part
	chunks []*unit
}

// release gives back the buffers of a body that will not be written.
func (b *body) release() {
	releaseParts(b.parts)
	b.parts = nil
}

// readBody streams r into the store. It reads into pooled buffers of
// blobChunk bytes (readPart): up to maxInline bytes stay in them and go
// inline into the append record; a larger body is queued as chunk records
// as it arrives (never held whole), which the append record then names
// (store): so a chunked message can be one commit.
// The chunk boundaries are those of the stream cut every blobChunk bytes.
func (s *Store) readBody(ctx context.Context, r io.Reader) (*body, error) {
	var held []part // read, not yet handed to the writer
	var units []*unit
	total := int64(0)
	fail := func(err error) (*body, error) {
		releaseParts(held)
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		pt, end, err := readPart(r, total == 0)
		if err != nil {
			return fail(err)
		}
		if pt.buf != nil {
			held = append(held, pt)
			total += int64(len(pt.b))
		}
		if total > math.MaxUint32 {
			return fail(fmt.Errorf("store: message larger than 4 GiB"))
		}
		if total > maxInline {
			// Not inline: every chunk read goes to the writer now.
			for i, pt := range held {
				u := newUnit(rec{typ: recBlobChunk, body: []part{pt}})
				u.data, u.delivery = true, true
				if err := s.enqueue(u); err != nil {
					held = held[i:]
					return fail(err)
				}
				units = append(units, u)
			}
			clear(held)
			held = held[:0]
		}
		if end {
			break
		}
	}
	return &body{size: uint32(total), parts: held, chunks: units}, nil
}

// newAppendUnit makes the unit of an append record for body b: the body
// inline, after the meta, or the meta naming b's chunks (fixed by the
// writer, unit.resolve).
func newAppendUnit(ap *recAppendP, b *body) *unit {
	if len(b.chunks) == 0 {
		r := mkrec(ap)
		r.body = b.parts
		u := newUnit(r)
		u.delivery = true
		return u
	}
	u := &unit{delivery: true, after: b.chunks, done: make(chan struct{})}
	u.fix = func(offs []int64) rec {
		ap.chunks = ap.chunks[:0]
		for i, c := range b.chunks {
			ap.chunks = append(ap.chunks, extent{offs[i], uint32(c.size)})
		}
		return mkrec(ap)
	}
	// A size for now; the writer fixes the offsets.
	u.fixed = make([]int64, len(b.chunks))
	u.recs = []rec{u.fix(u.fixed)}
	u.size = recSize(u.recs[0].len())
	return u
}

// resolve gives u's fix the offsets of the units it names: where they
// were written, or for those not yet written (taken in the same batch,
// before u), where they are planned.
func (u *unit) resolve() {
	u.fixed = u.fixed[:0]
	for _, d := range u.after {
		if len(d.offs) > 0 {
			u.fixed = append(u.fixed, d.offs[0])
		} else {
			u.fixed = append(u.fixed, d.at)
		}
	}
	r := u.fix(u.fixed)
	u.recs = append(u.recs[:0], r)
	u.size = recSize(r.len())
}

// checkAfter verifies, as u is laid out, that the units it names are where
// its record says.
func (u *unit) checkAfter() error {
	for i, d := range u.after {
		if len(d.offs) == 0 || d.offs[0] != u.fixed[i] {
			return fmt.Errorf("store: internal: a record names offset %d, its chunk is at %v", u.fixed[i], d.offs)
		}
	}
	return nil
}

// Append stores a message read from r (streamed, never held whole) into a
// mailbox and returns its UID once durable. A zero date means now.
func (a *Account) Append(ctx context.Context, mailbox string, flags []string, date time.Time, r io.Reader) (uid, uidValidity uint32, err error) {
	s := a.s
	if err := s.writable(); err != nil {
		return 0, 0, err
	}
	s.mu.RLock()
	mb, err := a.mailbox(mailbox)
	s.mu.RUnlock()
	if err != nil {
		return 0, 0, err
	}
	bits, kws, err := checkFlags(flags)
	if err != nil {
		return 0, 0, err
	}
	b, err := s.readBody(ctx, r)
	if err != nil {
		return 0, 0, err
	}
	res, err := s.store(b, date, []pendingTarget{{acct: a.id, mbox: mb.id, flags: bits, kws: kws, strict: true}})
	if err != nil {
		return 0, 0, err
	}
	return res[0].UID, res[0].UIDValidity, res[0].Err
}

func checkFlags(flags []string) (uint32, []string, error) {
	bits, kws := splitFlags(flags)
	for _, k := range kws {
		if !validKeyword(k) {
			return 0, nil, fmt.Errorf("%w: keyword %q", ErrBadName, k)
		}
	}
	return bits, kws, nil
}

type pendingTarget struct {
	acct, mbox uint32
	flags      uint32
	kws        []string
	strict     bool // the named mailbox or nothing (no INBOX fallback)
	err        error
}

// store writes one append record for the targets and returns, once it is
// durable, where each copy went. It takes b's buffers: the writer releases
// them once written, store itself if nothing is written. A chunked body's
// append record is queued right behind its chunks, naming them by the
// offsets the writer gives them, so that one commit can take both.
func (s *Store) store(b *body, date time.Time, ts []pendingTarget) ([]DeliveryResult, error) {
	queued := false
	defer func() {
		if !queued {
			b.release()
			// Nothing names the chunks: let the writer have them now
			// rather than wait for company, as before any failure.
			_ = s.awaitData(b.chunks)
		}
	}()
	if date.IsZero() {
		date = s.now()
	}
	res := make([]DeliveryResult, len(ts))
	s.mu.RLock()
	s.resMu.Lock()
	if !s.freeAtLeastLocked(s.reserveLocked()) {
		// Already inside the compaction reserve (metadata and compaction
		// may use it): refuse before handing out a UID.
		s.resMu.Unlock()
		s.mu.RUnlock()
		return nil, ErrFull
	}
	ap := &recAppendP{size: b.size}
	var idx []int
	for i, t := range ts {
		if t.err != nil {
			res[i].Err = t.err
			continue
		}
		ac := s.st.accounts[t.acct]
		if ac == nil {
			res[i].Err = ErrNoSuchUser
			continue
		}
		res[i].Account = ac.name
		mb := ac.mailboxes[t.mbox]
		if mb == nil && !t.strict {
			mb = ac.byName["INBOX"]
		}
		switch {
		case mb == nil:
			res[i].Err = ErrNoSuchMailbox
		case ac.quota > 0 && ac.usage+int64(b.size) > ac.quota:
			res[i].Err = ErrQuota
		case mb.newKeywords(t.kws)+len(mb.keywords) > maxKeywords:
			res[i].Err = ErrTooManyKeywords
		}
		if res[i].Err != nil {
			continue
		}
		res[i].Mailbox, res[i].UIDValidity, res[i].UID = mb.name, mb.uidValidity, mb.uidReserved
		mb.uidReserved++
		ap.targets = append(ap.targets, target{acct: t.acct, mbox: mb.id, uid: res[i].UID,
			date: date.Unix(), flags: t.flags, kws: t.kws})
		idx = append(idx, i)
	}
	if len(ap.targets) == 0 {
		s.resMu.Unlock()
		s.mu.RUnlock()
		return res, nil
	}
	u := newAppendUnit(ap, b)
	err := s.enqueue(u)
	queued = err == nil
	s.resMu.Unlock()
	s.mu.RUnlock()
	if err == nil {
		err = u.wait()
	}
	if err != nil {
		return nil, err
	}
	errs := u.results[0].([]error)
	for j, i := range idx {
		if errs[j] != nil {
			res[i].Err, res[i].UID = errs[j], 0
		}
	}
	return res, nil
}

// Deliver stores one message, read from r, for every recipient: the body is
// written once and shared. It returns when the message is durable, with one
// result per delivery; err is for failures of the whole delivery (I/O,
// nobody could take it).
func (s *Store) Deliver(ctx context.Context, to []Delivery, date time.Time, r io.Reader) ([]DeliveryResult, error) {
	if err := s.writable(); err != nil {
		return nil, err
	}
	ts := make([]pendingTarget, len(to))
	ok := 0
	s.mu.RLock()
	for i, d := range to {
		ac, err := s.resolveLocked(d.Recipient)
		if err == nil && ac.disabled {
			err = ErrDisabled
		}
		if err != nil {
			ts[i].err = err
			continue
		}
		ts[i].acct = ac.id
		if d.Mailbox != "" {
			if n, err := normalizeMailbox(d.Mailbox); err == nil && ac.byName[n] != nil {
				ts[i].mbox = ac.byName[n].id
			}
		}
		if ts[i].mbox == 0 && ac.byName["INBOX"] != nil {
			ts[i].mbox = ac.byName["INBOX"].id
		}
		if ts[i].flags, ts[i].kws, err = checkFlags(d.Flags); err != nil {
			ts[i].err = err
			continue
		}
		ok++
	}
	s.mu.RUnlock()
	if ok == 0 {
		res := make([]DeliveryResult, len(to))
		for i := range ts {
			res[i].Err = ts[i].err
		}
		if len(to) > 0 {
			return res, fmt.Errorf("store: no recipient can take the message: %w", ts[0].err)
		}
		return res, fmt.Errorf("store: no recipients")
	}
	b, err := s.readBody(ctx, r)
	if err != nil {
		return nil, err
	}
	return s.store(b, date, ts)
}

// Messages lists the messages of a mailbox whose UIDs are in uids (nil: all),
// in UID order, with the mailbox's status at the same instant.
func (a *Account) Messages(mailbox string, uids UIDSet) ([]Message, Status, error) {
	a.s.mu.RLock()
	defer a.s.mu.RUnlock()
	mb, err := a.mailbox(mailbox)
	if err != nil {
		return nil, Status{}, err
	}
	var out []Message
	mb.each(uids, func(i int) { out = append(out, mb.message(&mb.msgs[i])) })
	return out, mb.status(), nil
}

// SetFlags changes the flags of the messages in uids. With unchangedSince > 0
// (CONDSTORE), messages whose modseq is higher are left alone and returned in
// failed. It returns the changed messages with their new flags and modseq.
func (a *Account) SetFlags(ctx context.Context, mailbox string, uids UIDSet, op FlagOp, flags []string, unchangedSince uint64) (changed []Message, failed []uint32, err error) {
	s := a.s
	if err := s.writable(); err != nil {
		return nil, nil, err
	}
	if op > FlagsReplace || op < FlagsAdd {
		return nil, nil, fmt.Errorf("store: bad flag operation %d", op)
	}
	bits, kws, err := checkFlags(flags)
	if err != nil {
		return nil, nil, err
	}
	s.mu.RLock()
	mb, err := a.mailbox(mailbox)
	if err == nil && op != FlagsRemove && mb.newKeywords(kws)+len(mb.keywords) > maxKeywords {
		err = ErrTooManyKeywords
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	u, err := s.commit(mkrec(&recFlagsP{acct: a.id, mbox: mb.id, op: op, bits: bits, kws: kws,
		unchangedSince: unchangedSince, uids: uids}))
	if err != nil {
		return nil, nil, err
	}
	r := u.results[0].(*flagsResult)
	return r.changed, r.failed, nil
}

// Copy copies messages to another mailbox (sharing their bodies).
func (a *Account) Copy(ctx context.Context, mailbox string, uids UIDSet, dest string) (CopyResult, error) {
	return a.copy(mailbox, uids, dest, false)
}

// Move moves messages to another mailbox atomically.
func (a *Account) Move(ctx context.Context, mailbox string, uids UIDSet, dest string) (CopyResult, error) {
	return a.copy(mailbox, uids, dest, true)
}

func (a *Account) copy(from string, uids UIDSet, dest string, move bool) (CopyResult, error) {
	s := a.s
	if err := s.writable(); err != nil {
		return CopyResult{}, err
	}
	s.mu.RLock()
	s.resMu.Lock()
	var u *unit
	var res CopyResult
	src, err := a.mailbox(from)
	var dst *mailbox
	if err == nil {
		dst, err = a.mailbox(dest)
	}
	if err == nil && move && src == dst {
		err = fmt.Errorf("%w: move into the same mailbox", ErrBadName)
	}
	if err == nil {
		var size int64
		cp := &recCopyP{acct: a.id, src: src.id, dst: dst.id, move: move}
		src.each(uids, func(i int) {
			cp.pairs = append(cp.pairs, uidPair{src.msgs[i].uid, dst.uidReserved})
			dst.uidReserved++
			size += int64(src.msgs[i].blob.size)
		})
		ac := src.acct
		switch {
		case len(cp.pairs) == 0:
			s.resMu.Unlock()
			s.mu.RUnlock()
			return CopyResult{UIDValidity: dst.uidValidity}, nil
		case !move && ac.quota > 0 && ac.usage+size > ac.quota:
			err = ErrQuota
		case len(src.keywords)+len(dst.keywords) > maxKeywords && dst.newKeywords(src.keywords)+len(dst.keywords) > maxKeywords:
			err = ErrTooManyKeywords
		}
		if err == nil {
			res.UIDValidity = dst.uidValidity
			u = newUnit(mkrec(cp))
			err = s.enqueue(u)
		}
	}
	s.resMu.Unlock()
	s.mu.RUnlock()
	if err != nil {
		return CopyResult{}, err
	}
	if err := u.wait(); err != nil {
		return CopyResult{}, err
	}
	for _, p := range u.results[0].([]uidPair) {
		res.SrcUIDs = append(res.SrcUIDs, p.src)
		res.DstUIDs = append(res.DstUIDs, p.dst)
	}
	return res, nil
}

// Expunge removes exactly the messages in uids (POP3 DELE + QUIT) and returns
// the UIDs removed.
func (a *Account) Expunge(ctx context.Context, mailbox string, uids UIDSet) ([]uint32, error) {
	if uids == nil {
		uids = UIDSet{}
	}
	return a.expunge(mailbox, uids, false)
}

// ExpungeDeleted removes the messages in uids (nil: all) that have \Deleted
// (IMAP EXPUNGE, UID EXPUNGE) and returns the UIDs removed.
func (a *Account) ExpungeDeleted(ctx context.Context, mailbox string, uids UIDSet) ([]uint32, error) {
	return a.expunge(mailbox, uids, true)
}

func (a *Account) expunge(mailbox string, uids UIDSet, onlyDeleted bool) ([]uint32, error) {
	s := a.s
	if err := s.writable(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	mb, err := a.mailbox(mailbox)
	any := false
	if err == nil {
		mb.each(uids, func(i int) { any = any || !onlyDeleted || mb.msgs[i].flags&bitDeleted != 0 })
	}
	s.mu.RUnlock()
	if err != nil || !any {
		return nil, err
	}
	u, err := s.commit(mkrec(&recExpungeP{acct: a.id, mbox: mb.id, onlyDeleted: onlyDeleted, uids: uids}))
	if err != nil {
		return nil, err
	}
	gone, _ := u.results[0].([]uint32)
	return gone, nil
}
