package imap

import (
	"context"
	"errors"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"github.com/postvault/postvault/mail/store"
)

// session is one client connection's state. The library calls its methods
// from the connection's goroutine, and Idle from a second goroutine while
// the first waits for DONE; sel has its own lock for that.
type session struct {
	srv    *Server
	conn   *imapserver.Conn
	guard  *guardConn // nil if the connection was not wrapped
	remote net.Addr

	acct *store.Account // nil until authenticated
	sel  *selected      // nil unless a mailbox is selected

	// searchRes is the result saved by SEARCH RETURN (SAVE), as UIDs
	// (RFC 5182); nil when none was saved.
	searchRes []uint32
}

var (
	_ imapserver.Session               = (*session)(nil)
	_ imapserver.SessionIMAP4rev2      = (*session)(nil)
	_ imapserver.SessionUnauthenticate = (*session)(nil)
	_ imapserver.SessionAppendLimit    = (*session)(nil)
)

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	nc := c.NetConn()
	sess := &session{srv: s, conn: c, remote: nc.RemoteAddr()}
	sess.guard, _ = nc.(*guardConn)
	return sess, nil, nil
}

// Close ends the session: it stops watching the selected mailbox.
func (s *session) Close() error {
	s.closeSelected()
	return nil
}

func (s *session) closeSelected() {
	if s.sel != nil {
		s.sel.close()
		s.sel = nil
	}
	s.searchRes = nil
}

// AppendLimit implements imapserver.SessionAppendLimit (RFC 7889).
func (s *session) AppendLimit() uint32 { return s.srv.opts.AppendLimit }

// Namespace answers NAMESPACE (RFC 2342): one personal namespace, no prefix.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: "", Delim: delim}}}, nil
}

// delim is the hierarchy separator, the store's.
const delim = '/'

// ctx is the context of store calls. The library gives none; a session's
// calls end when the store answers.
func (s *session) ctx() context.Context { return context.Background() }

// Protocol errors sent to clients verbatim (RFC 5530 response codes).
var (
	errNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	errTryCreate = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	errExists    = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox exists"}
	errBadName   = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid mailbox name or keyword"}
	errQuota     = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Over quota"}
	errKeywords  = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Too many keywords in this mailbox"}
	errReadOnly  = &imap.Error{Type: imap.StatusResponseTypeNo, Code: "READ-ONLY", Text: "Mailbox is read-only"}
	errTemporary = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Temporary failure, try again later"}
	errInbox     = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
)

// fail turns a store error into what the client sees. Conditions the
// client can act on get their response code; anything else is logged here
// with its context and answered as a temporary failure, since the store
// only fails that way when it cannot read or write (DESIGN.md: clients
// retry, nothing is lost).
func (s *session) fail(op string, err error) error {
	var ie *imap.Error
	switch {
	case errors.As(err, &ie):
		return err
	case errors.Is(err, store.ErrNoSuchMailbox):
		return errNoMailbox
	case errors.Is(err, store.ErrMailboxExists):
		return errExists
	case errors.Is(err, store.ErrBadName):
		return errBadName
	case errors.Is(err, store.ErrQuota):
		return errQuota
	case errors.Is(err, store.ErrTooManyKeywords):
		return errKeywords
	}
	user := ""
	if s.acct != nil {
		user = s.acct.Name()
	}
	s.srv.log.Error("imap: "+op, "user", user, "remote", s.remote.String(), "err", err)
	return errTemporary
}
