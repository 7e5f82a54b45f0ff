package imap

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Move moves messages atomically (RFC 6851): an untagged OK [COPYUID],
// then an EXPUNGE per message moved.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	v := s.sel
	if v.readOnly {
		return errReadOnly
	}
	v.mu.Lock()
	idx, err := v.indices(numSet, s.searchRes)
	set := v.uidSetOf(idx)
	v.mu.Unlock()
	if err != nil || len(idx) == 0 {
		return err
	}
	if normName(dest) == v.name {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Source and destination are the same mailbox"}
	}
	res, err := s.acct.Move(s.ctx(), v.name, set, dest)
	if err != nil {
		return s.destFail("move", err)
	}
	if data := copyData(res); data != nil {
		if err := w.WriteCopyData(data); err != nil {
			return err
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.remove(res.SrcUIDs, w.WriteExpunge)
}
