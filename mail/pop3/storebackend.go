package pop3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/postvault/postvault/mail/store"
)

// StoreBackend is the Backend on postvault's mail store: Login is
// store.Authenticate (the one password check of every protocol), and the
// maildrop is the account's INBOX, the same mailbox IMAP shows.
type StoreBackend struct {
	Store *store.Store
}

var (
	_ Backend  = (*StoreBackend)(nil)
	_ Maildrop = (*storeMaildrop)(nil)
)

// NewStoreBackend returns the Backend for s.
func NewStoreBackend(s *store.Store) *StoreBackend {
	return &StoreBackend{Store: s}
}

// Login implements Backend.
func (b *StoreBackend) Login(ctx context.Context, username, password, remote string) (Maildrop, error) {
	acct, err := b.Store.Authenticate(ctx, username, password, remote)
	if errors.Is(err, store.ErrAuthFailed) {
		return nil, fmt.Errorf("%w: %w", ErrAuthFailed, err)
	}
	if err != nil {
		return nil, err
	}
	return &storeMaildrop{acct: acct}, nil
}

// storeMaildrop is an account's INBOX.
type storeMaildrop struct {
	acct *store.Account
}

const inbox = "INBOX"

func (m *storeMaildrop) Account() string { return m.acct.Name() }

func (m *storeMaildrop) List(ctx context.Context) ([]Message, uint32, error) {
	msgs, st, err := m.acct.Messages(inbox, nil)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Message, len(msgs))
	for i, x := range msgs {
		out[i] = Message{UID: x.UID, Size: x.Size}
	}
	return out, st.UIDValidity, nil
}

func (m *storeMaildrop) Open(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	b, err := m.acct.Open(inbox, uid)
	if errors.Is(err, store.ErrNoSuchMessage) {
		return nil, fmt.Errorf("%w: %w", ErrNoMessage, err)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func (m *storeMaildrop) Expunge(ctx context.Context, uids []uint32) error {
	_, err := m.acct.Expunge(ctx, inbox, uidSet(uids))
	return err
}

func (m *storeMaildrop) Close() error { return nil }

// uidSet returns the ascending uids as ranges of consecutive UIDs.
func uidSet(uids []uint32) store.UIDSet {
	var set store.UIDSet
	for _, u := range uids {
		if n := len(set); n > 0 && set[n-1].Stop+1 == u {
			set[n-1].Stop = u
			continue
		}
		set = append(set, store.UIDRange{Start: u, Stop: u})
	}
	return set
}
