package imap

import (
	"errors"

	"github.com/emersion/go-imap/v2"

	"github.com/postvault/postvault/mail/store"
)

// Copy copies messages to another mailbox (RFC 9051 section 6.4.7) and
// answers COPYUID (RFC 4315). A missing destination gets [TRYCREATE].
func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	v := s.sel
	v.mu.Lock()
	idx, err := v.indices(numSet, s.searchRes)
	set := v.uidSetOf(idx)
	v.mu.Unlock()
	if err != nil || len(idx) == 0 {
		return nil, err
	}
	res, err := s.acct.Copy(s.ctx(), v.name, set, dest)
	if err != nil {
		return nil, s.destFail("copy", err)
	}
	if normName(dest) == v.name {
		s.expectOwn(res.DstUIDs)
	}
	return copyData(res), nil
}

// destFail is fail for commands whose missing mailbox is the destination
// (RFC 9051 section 7.1: TRYCREATE).
func (s *session) destFail(op string, err error) error {
	if errors.Is(err, store.ErrNoSuchMailbox) {
		return errTryCreate
	}
	return s.fail(op, err)
}

// copyData is the COPYUID data of res, or nil if nothing was copied (an
// empty set cannot be written).
func copyData(res store.CopyResult) *imap.CopyData {
	if len(res.SrcUIDs) == 0 {
		return nil
	}
	return &imap.CopyData{
		UIDValidity: res.UIDValidity,
		SourceUIDs:  imapUIDSet(res.SrcUIDs),
		DestUIDs:    imapUIDSet(res.DstUIDs),
	}
}

// expectOwn makes the next poll announce messages this session put into
// its own selected mailbox.
func (s *session) expectOwn(uids []uint32) {
	if len(uids) == 0 || s.sel == nil {
		return
	}
	var set store.UIDSet
	for _, u := range uids {
		set = append(set, store.UIDRange{Start: u, Stop: u})
	}
	msgs, _, err := s.acct.Messages(s.sel.name, set)
	if err != nil {
		return // the store's own event will announce them
	}
	s.sel.expect(msgs)
}
