package imap

import (
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-message/textproto"

	"github.com/postvault/postvault/mail/store"
)

// Fetch answers FETCH and UID FETCH (RFC 9051 section 6.4.5; BINARY from
// RFC 3516). Bodies are streamed from the store: a section is a byte range
// of the stored message located by one scan of its structure, so a 50 MiB
// message is never held in memory. A non-PEEK body section sets \Seen
// first, in one store call for the whole set, and the FETCH then carries
// the new FLAGS. Messages expunged by another session since the client
// learnt of them are left out (RFC 9051 section 7.5.1 lets the server send
// nothing for them).
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, opts *imap.FetchOptions) error {
	v := s.sel
	v.mu.Lock()
	defer v.mu.Unlock()
	v.begin()
	idx, err := v.indices(numSet, s.searchRes)
	if err != nil || len(idx) == 0 {
		return err
	}
	msgs, _, err := s.acct.Messages(v.name, v.uidSetOf(idx))
	if err != nil {
		return s.fail("fetch", err)
	}
	byUID := make(map[uint32]*store.Message, len(msgs))
	for i := range msgs {
		byUID[msgs[i].UID] = &msgs[i]
	}
	seen, err := s.markSeen(v, msgs, opts)
	if err != nil {
		return err
	}
	for _, i := range idx {
		m, ok := byUID[v.uids[i]]
		if !ok {
			continue
		}
		if err := s.fetchOne(w, v, uint32(i)+1, m, opts, seen[m.UID]); err != nil {
			return err
		}
	}
	return nil
}

// markSeen sets \Seen on the messages a non-PEEK section reads (RFC 9051
// section 6.4.5) and returns the UIDs it changed; their entries in msgs
// get the new flags.
func (s *session) markSeen(v *selected, msgs []store.Message, opts *imap.FetchOptions) (map[uint32]bool, error) {
	if v.readOnly || !setsSeen(opts) {
		return nil, nil
	}
	var set store.UIDSet
	for _, m := range msgs {
		if !hasFlag(m.Flags, store.FlagSeen) {
			set = append(set, store.UIDRange{Start: m.UID, Stop: m.UID})
		}
	}
	if len(set) == 0 {
		return nil, nil
	}
	changed, _, err := s.acct.SetFlags(s.ctx(), v.name, set, store.FlagsAdd, []string{store.FlagSeen}, 0)
	if err != nil {
		return nil, s.fail("fetch", err)
	}
	out := make(map[uint32]bool, len(changed))
	byUID := make(map[uint32]int, len(msgs))
	for i, m := range msgs {
		byUID[m.UID] = i
	}
	for _, c := range changed {
		out[c.UID] = true
		if i, ok := byUID[c.UID]; ok {
			msgs[i].Flags = c.Flags
		}
		if i := v.index(c.UID); i >= 0 && c.ModSeq > v.modseq[i] {
			v.modseq[i] = c.ModSeq
		}
	}
	return out, nil
}

func setsSeen(opts *imap.FetchOptions) bool {
	for _, b := range opts.BodySection {
		if !b.Peek {
			return true
		}
	}
	for _, b := range opts.BinarySection {
		if !b.Peek {
			return true
		}
	}
	return false
}

// needs says what a FETCH must read of a message's body: the whole MIME
// structure (part numbers, BODYSTRUCTURE, BINARY) or only the top header
// (ENVELOPE, BODY[HEADER...], BODY[TEXT], BODY[]), which is what clients
// ask of every message when they open a mailbox.
func needs(opts *imap.FetchOptions) (body, structure bool) {
	structure = opts.BodyStructure != nil || len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0
	for _, b := range opts.BodySection {
		if len(b.Part) > 0 {
			structure = true
		}
	}
	body = structure || opts.Envelope || len(opts.BodySection) > 0
	return body, structure
}

// binaryOut is one BINARY item ready to be written.
type binaryOut struct {
	item *imap.FetchItemBinarySection
	open func() io.Reader
	size int64
}

// fetchData is what one FETCH response needs of a message's body, worked
// out before the response starts.
type fetchData struct {
	body     *store.Body // nil if the body is not needed
	root     *part
	hdr      textproto.Header
	sections []source
	binaries []binaryOut
	binSizes []int64
}

func (d *fetchData) close() {
	if d.body != nil {
		d.body.Close()
	}
}

// prepare opens and scans the message as far as opts needs. Everything
// that can fail for a reason the client should hear (an unknown encoding, a
// damaged message) fails here, before the response starts; nil data means
// the message is gone.
func (s *session) prepare(v *selected, m *store.Message, opts *imap.FetchOptions) (*fetchData, error) {
	wantBody, wantStructure := needs(opts)
	d := &fetchData{}
	if wantBody {
		b, err := s.acct.Open(v.name, m.UID)
		if errors.Is(err, store.ErrNoSuchMessage) {
			return nil, nil
		}
		if err != nil {
			return nil, s.fail(fmt.Sprintf("fetch uid %d", m.UID), err)
		}
		d.body = b
		if wantStructure {
			d.root = parseMessage(io.NewSectionReader(b, 0, b.Size()))
		} else {
			d.root = parseTop(io.NewSectionReader(b, 0, b.Size()), b.Size())
		}
		d.hdr = d.root.header
	}
	for _, sec := range opts.BodySection {
		src, err := bodySection(d.root, d.body, sec)
		if err != nil {
			d.close()
			return nil, s.fail("fetch", err)
		}
		d.sections = append(d.sections, src)
	}
	for _, sec := range opts.BinarySection {
		open, size, err := binarySection(d.root, d.body, sec.Part)
		if err != nil {
			d.close()
			return nil, s.fail("fetch", err)
		}
		d.binaries = append(d.binaries, binaryOut{item: sec, open: open, size: size})
	}
	for _, sec := range opts.BinarySectionSize {
		_, size, err := binarySection(d.root, d.body, sec.Part)
		if err != nil {
			d.close()
			return nil, s.fail("fetch", err)
		}
		d.binSizes = append(d.binSizes, size)
	}
	return d, nil
}

// fetchOne writes one FETCH response. A read error in the middle of a
// literal can only end the connection.
func (s *session) fetchOne(w *imapserver.FetchWriter, v *selected, seq uint32, m *store.Message, opts *imap.FetchOptions, seenChanged bool) error {
	d, err := s.prepare(v, m, opts)
	if err != nil || d == nil {
		return err
	}
	defer d.close()
	rw := w.CreateMessage(seq)
	if opts.UID {
		rw.WriteUID(imap.UID(m.UID))
	}
	if opts.Flags || seenChanged {
		rw.WriteFlags(v.imapFlags(m.UID, m.Flags))
	}
	if opts.InternalDate {
		rw.WriteInternalDate(m.InternalDate)
	}
	if opts.RFC822Size {
		rw.WriteRFC822Size(m.Size)
	}
	if opts.Envelope {
		rw.WriteEnvelope(envelope(d.hdr))
	}
	if opts.BodyStructure != nil {
		rw.WriteBodyStructure(bodyStructure(d.root))
	}
	for i, sec := range opts.BodySection {
		src := d.sections[i]
		if err := copyLiteral(rw.WriteBodySection(sec, src.size()), src.reader(d.body), src.size()); err != nil {
			rw.Close()
			return s.broken(m.UID, err)
		}
	}
	for _, b := range d.binaries {
		if err := writeBinary(rw, b); err != nil {
			rw.Close()
			return s.broken(m.UID, err)
		}
	}
	for i, sec := range opts.BinarySectionSize {
		rw.WriteBinarySectionSize(sec, uint32(min(d.binSizes[i], 1<<32-1)))
	}
	return rw.Close()
}

// writeBinary sends one BINARY item, narrowed to its partial range.
func writeBinary(rw *imapserver.FetchResponseWriter, b binaryOut) error {
	size, skip := b.size, int64(0)
	if p := b.item.Partial; p != nil {
		skip = min(size, p.Offset)
		size = min(size-skip, p.Size)
	}
	r := b.open()
	if _, err := io.CopyN(io.Discard, r, skip); err != nil {
		return err
	}
	return copyLiteral(rw.WriteBinarySection(b.item, size), r, size)
}

// copyLiteral sends exactly n bytes of r into a literal.
func copyLiteral(lw io.WriteCloser, r io.Reader, n int64) error {
	_, err := io.CopyN(lw, r, n)
	if cerr := lw.Close(); err == nil {
		err = cerr
	}
	return err
}

// broken logs a read that failed inside a literal: the response cannot be
// completed, so the connection ends.
func (s *session) broken(uid uint32, err error) error {
	s.srv.log.Error("imap: fetch: reading message failed in mid-response", "user", s.acct.Name(), "uid", uid, "err", err)
	return fmt.Errorf("imap: fetch uid %d: %w", uid, err)
}
