// Package pop3test is an in-memory pop3.Backend for tests: accounts with
// passwords and INBOXes of messages, with switches to make the store fail.
// It stands beside the real store (mail/store through pop3's store adapter),
// never instead of it.
package pop3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/postvault/postvault/mail/pop3"
)

// Backend is an in-memory mail store.
type Backend struct {
	mu       sync.Mutex
	accounts map[string]*account // guarded by mu: by user name

	// FailLogin, FailOpen and FailExpunge, when set, are returned by the
	// matching operation (set before the session uses it).
	FailLogin, FailOpen, FailExpunge error
}

type account struct {
	name, password string
	uidValidity    uint32
	nextUID        uint32
	msgs           []msg // ascending UID
}

type msg struct {
	uid  uint32
	body []byte
}

var _ pop3.Backend = (*Backend)(nil)

// New returns an empty backend.
func New() *Backend {
	return &Backend{accounts: make(map[string]*account)}
}

// AddAccount adds an account with an empty INBOX.
func (b *Backend) AddAccount(name, password string, uidValidity uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts[name] = &account{name: name, password: password, uidValidity: uidValidity, nextUID: 1}
}

// Deliver appends a message to name's INBOX and returns its UID.
func (b *Backend) Deliver(name string, body []byte) uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.accounts[name]
	uid := a.nextUID
	a.nextUID++
	a.msgs = append(a.msgs, msg{uid: uid, body: bytes.Clone(body)})
	return uid
}

// UIDs returns the UIDs in name's INBOX.
func (b *Backend) UIDs(name string) []uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var uids []uint32
	for _, m := range b.accounts[name].msgs {
		uids = append(uids, m.uid)
	}
	return uids
}

// Login implements pop3.Backend.
func (b *Backend) Login(ctx context.Context, username, password, remote string) (pop3.Maildrop, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.FailLogin != nil {
		return nil, b.FailLogin
	}
	a, ok := b.accounts[username]
	if !ok || a.password != password {
		return nil, pop3.ErrAuthFailed
	}
	return &maildrop{b: b, a: a}, nil
}

type maildrop struct {
	b      *Backend
	a      *account
	closed bool
}

func (m *maildrop) Account() string { return m.a.name }

func (m *maildrop) List(ctx context.Context) ([]pop3.Message, uint32, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	var out []pop3.Message
	for _, x := range m.a.msgs {
		out = append(out, pop3.Message{UID: x.uid, Size: int64(len(x.body))})
	}
	return out, m.a.uidValidity, nil
}

func (m *maildrop) Open(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	if m.b.FailOpen != nil {
		return nil, m.b.FailOpen
	}
	for _, x := range m.a.msgs {
		if x.uid == uid {
			return io.NopCloser(bytes.NewReader(x.body)), nil
		}
	}
	return nil, fmt.Errorf("pop3test: uid %d: %w", uid, pop3.ErrNoMessage)
}

func (m *maildrop) Expunge(ctx context.Context, uids []uint32) error {
	m.b.mu.Lock()
	defer m.b.mu.Unlock()
	if m.b.FailExpunge != nil {
		return m.b.FailExpunge
	}
	gone := make(map[uint32]bool)
	for _, u := range uids {
		gone[u] = true
	}
	kept := m.a.msgs[:0]
	for _, x := range m.a.msgs {
		if !gone[x.uid] {
			kept = append(kept, x)
		}
	}
	m.a.msgs = kept
	return nil
}

func (m *maildrop) Close() error {
	if m.closed {
		return errors.New("pop3test: maildrop closed twice")
	}
	m.closed = true
	return nil
}

// Expunge removes a message from name's INBOX, as another protocol would.
func (b *Backend) Expunge(name string, uid uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.accounts[name]
	a.msgs = slices.DeleteFunc(a.msgs, func(m msg) bool { return m.uid == uid })
}

var _ pop3.Maildrop = (*maildrop)(nil)
