package imap

import (
	"github.com/emersion/go-imap/v2"
)

// Append stores a message streamed from the client's literal (RFC 9051
// section 6.3.12, APPENDUID from RFC 4315). The library refuses a literal
// larger than AppendLimit before reading it (RFC 7889); the store streams
// the rest, so memory stays bounded whatever the size.
func (s *session) Append(mailbox string, r imap.LiteralReader, opts *imap.AppendOptions) (*imap.AppendData, error) {
	mailbox = normName(mailbox)
	var flags []string
	for _, f := range opts.Flags {
		if f != flagRecent {
			flags = append(flags, canonicalFlag(string(f)))
		}
	}
	uid, validity, err := s.acct.Append(s.ctx(), mailbox, flags, opts.Time, r)
	if err != nil {
		return nil, s.destFail("append", err)
	}
	if s.sel != nil && s.sel.name == mailbox {
		s.expectOwn([]uint32{uid})
	}
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: validity}, nil
}
