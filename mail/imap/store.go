package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/store"
)

// Store changes flags (RFC 9051 section 6.4.6). Unless .SILENT, every
// message of the set gets a FETCH FLAGS with its flags after the change,
// changed or not. \Recent cannot be set or cleared by a client and is
// dropped from the list. A new keyword is announced by a FLAGS response at
// the end of the command (see the package comment for why not before).
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) error {
	v := s.sel
	if v.readOnly {
		return errReadOnly
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.begin()
	idx, err := v.indices(numSet, s.searchRes)
	if err != nil || len(idx) == 0 {
		return err
	}
	set := v.uidSetOf(idx)
	var l []string
	for _, f := range flags.Flags {
		if f != flagRecent {
			l = append(l, canonicalFlag(string(f)))
		}
	}
	op := map[imap.StoreFlagsOp]store.FlagOp{
		imap.StoreFlagsAdd: store.FlagsAdd,
		imap.StoreFlagsDel: store.FlagsRemove,
		imap.StoreFlagsSet: store.FlagsReplace,
	}[flags.Op]
	changed, _, err := s.acct.SetFlags(s.ctx(), v.name, set, op, l, 0)
	if err != nil {
		return s.fail("store", err)
	}
	for _, m := range changed {
		if i := v.index(m.UID); i >= 0 && m.ModSeq > v.modseq[i] {
			v.modseq[i] = m.ModSeq
		}
		if v.learn(m.Flags) {
			v.flagsDue = true
		}
	}
	if flags.Silent {
		return nil
	}
	msgs, _, err := s.acct.Messages(v.name, set)
	if err != nil {
		return s.fail("store", err)
	}
	for _, m := range msgs {
		i := v.index(m.UID)
		if i < 0 {
			continue
		}
		rw := w.CreateMessage(uint32(i) + 1)
		rw.WriteUID(imap.UID(m.UID))
		rw.WriteFlags(v.imapFlags(m.UID, m.Flags))
		if err := rw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// canonicalFlag spells system flags the way the store does; flags are
// case-insensitive (RFC 9051 section 2.3.2), keywords are kept as given.
func canonicalFlag(f string) string {
	for _, sf := range systemFlags {
		if len(f) == len(sf) && equalFold(f, string(sf)) {
			return string(sf)
		}
	}
	return f
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
