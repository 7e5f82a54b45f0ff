package imap

import (
	"bufio"
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

// needs says what a FETCH must read of a message's body.
func needs(opts *imap.FetchOptions) (body, structure bool) {
	structure = opts.BodyStructure != nil || len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0
	for _, b := range opts.BodySection {
		if len(b.Part) > 0 || b.Specifier != imap.PartSpecifierNone {
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

// fetchOne writes one FETCH response. Everything that can fail for a
// reason the client should hear (an unknown encoding, a damaged message)
// is worked out before the response starts; a read error in the middle of
// a literal can only end the connection.
func (s *session) fetchOne(w *imapserver.FetchWriter, v *selected, seq uint32, m *store.Message, opts *imap.FetchOptions, seenChanged bool) error {
	wantBody, wantStructure := needs(opts)
	var (
		body *store.Body
		root *part
		hdr  textproto.Header
	)
	if wantBody {
		b, err := s.acct.Open(v.name, m.UID)
		if errors.Is(err, store.ErrNoSuchMessage) {
			return nil
		}
		if err != nil {
			return s.fail(fmt.Sprintf("fetch uid %d", m.UID), err)
		}
		defer b.Close()
		body = b
		if wantStructure {
			root = parseMessage(io.NewSectionReader(b, 0, b.Size()))
			hdr = root.header
		} else if opts.Envelope {
			hdr, _ = textproto.ReadHeader(bufio.NewReader(io.NewSectionReader(b, 0, min(b.Size(), maxHeader))))
		}
		if root == nil {
			root = &part{end: b.Size(), bodyStart: b.Size()}
		}
	}
	sections := make([]source, len(opts.BodySection))
	for i, sec := range opts.BodySection {
		src, err := bodySection(root, body, sec)
		if err != nil {
			return s.fail("fetch", err)
		}
		sections[i] = src
	}
	var binaries []binaryOut
	for _, sec := range opts.BinarySection {
		open, size, err := binarySection(root, body, sec.Part)
		if err != nil {
			return s.fail("fetch", err)
		}
		binaries = append(binaries, binaryOut{item: sec, open: open, size: size})
	}
	var binSizes []int64
	for _, sec := range opts.BinarySectionSize {
		_, size, err := binarySection(root, body, sec.Part)
		if err != nil {
			return s.fail("fetch", err)
		}
		binSizes = append(binSizes, size)
	}

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
		rw.WriteEnvelope(envelope(hdr))
	}
	if opts.BodyStructure != nil {
		rw.WriteBodyStructure(bodyStructure(root))
	}
	for i, sec := range opts.BodySection {
		if err := copyLiteral(rw.WriteBodySection(sec, sections[i].size()), sections[i].reader(body), sections[i].size()); err != nil {
			rw.Close()
			return s.broken(m.UID, err)
		}
	}
	for _, b := range binaries {
		open, size := b.open, b.size
		skip := int64(0)
		if p := b.item.Partial; p != nil {
			skip = min(size, p.Offset)
			size = min(size-skip, p.Size)
		}
		r := open()
		if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			rw.Close()
			return s.broken(m.UID, err)
		}
		if err := copyLiteral(rw.WriteBinarySection(b.item, size), r, size); err != nil {
			rw.Close()
			return s.broken(m.UID, err)
		}
	}
	for i, sec := range opts.BinarySectionSize {
		rw.WriteBinarySectionSize(sec, uint32(min(binSizes[i], 1<<32-1)))
	}
	return rw.Close()
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
