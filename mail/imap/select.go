package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/postvault/postvault/mail/store"
)

// Select opens a mailbox (SELECT and EXAMINE, RFC 9051 sections 6.3.2 and
// 6.3.3). The watcher starts before the listing, so no change falls between
// them; changes already in the listing are skipped when their events come.
func (s *session) Select(name string, opts *imap.SelectOptions) (*imap.SelectData, error) {
	s.closeSelected()
	name = normName(name)
	w := s.acct.Watch(name)
	msgs, st, err := s.acct.Messages(name, nil)
	var kws []string
	if err == nil {
		// Every keyword ever used here, not only those on a message now
		// (RFC 9051 section 7.3.5: FLAGS lists the defined flags).
		kws, err = s.acct.Keywords(name)
	}
	var mark uint32
	if err == nil {
		var top uint32
		if len(msgs) > 0 {
			top = msgs[len(msgs)-1].UID
		}
		rev2 := s.conn != nil && s.conn.EnabledCaps().Has(imap.CapIMAP4rev2)
		mark, err = s.selectRecent(name, top, !opts.ReadOnly && !rev2)
		if rev2 {
			mark = top // no \Recent in IMAP4rev2
		}
	}
	if err != nil {
		w.Close()
		return nil, s.fail("select", err)
	}
	v := &selected{
		srv:      s.srv,
		conn:     s.conn,
		acct:     s.acct,
		name:     name,
		readOnly: opts.ReadOnly,
		w:        w,
		uids:     make([]uint32, len(msgs)),
		modseq:   make([]uint64, len(msgs)),
		recent:   make(map[uint32]struct{}),
		keywords: make(map[string]struct{}),
	}
	for _, k := range kws {
		v.keywords[k] = struct{}{}
	}
	var firstUnseen uint32
	for i, m := range msgs {
		v.uids[i] = m.UID
		v.modseq[i] = m.ModSeq
		v.maxUID = m.UID
		v.learn(m.Flags)
		if m.UID > mark {
			v.recent[m.UID] = struct{}{}
		}
		if firstUnseen == 0 && !hasFlag(m.Flags, store.FlagSeen) {
			firstUnseen = uint32(i) + 1
		}
	}
	s.sel = v
	data := &imap.SelectData{
		Flags:             v.mailboxFlags(),
		PermanentFlags:    append(v.mailboxFlags(), imap.FlagWildcard),
		NumMessages:       uint32(len(msgs)),
		FirstUnseenSeqNum: firstUnseen,
		NumRecent:         uint32(len(v.recent)),
		UIDNext:           imap.UID(st.UIDNext),
		UIDValidity:       st.UIDValidity,
	}
	if opts.ReadOnly {
		data.PermanentFlags = []imap.Flag{}
	}
	return data, nil
}

// Unselect closes the mailbox (UNSELECT, RFC 3691; CLOSE has expunged
// first through Expunge).
func (s *session) Unselect() error {
	s.closeSelected()
	return nil
}

// normName spells INBOX, and the INBOX of a child's path, in capitals, as
// the store does (mailbox names are case-sensitive except INBOX, RFC 9051
// section 5.1).
func normName(name string) string {
	first, rest, found := strings.Cut(name, string(delim))
	if !strings.EqualFold(first, "INBOX") {
		return name
	}
	if found {
		return "INBOX" + string(delim) + rest
	}
	return "INBOX"
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if g == f {
			return true
		}
	}
	return false
}
