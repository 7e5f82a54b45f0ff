// Package smtptest is an in-memory smtp.Backend for tests: accounts with
// quotas, aliases and catch-alls, the store's error sentinels, and a switch
// that makes deliveries fail the way a store that cannot write does. It
// stands beside the real store (mail/store through smtp.StoreBackend),
// never instead of it.
package smtptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/store"
)

// Backend is an in-memory store.
type Backend struct {
	mu       sync.Mutex
	accounts map[string]*account // guarded by mu
	aliases  map[string]string   // guarded by mu: address or "@domain" -> account
	// FailDeliver, when set, is returned by Deliver (after reading the
	// message, as a store whose flush fails would).
	FailDeliver error
	// Deliveries counts calls to Deliver.
	Deliveries int
}

type account struct {
	user store.User
	msgs []Message
	next uint32
}

// Message is one stored message.
type Message struct {
	UID  uint32
	Date time.Time
	Body []byte
}

var (
	_ smtp.Backend  = (*Backend)(nil)
	_ smtp.Reopener = (*Backend)(nil)
)

// New returns an empty store.
func New() *Backend {
	return &Backend{accounts: make(map[string]*account), aliases: make(map[string]string)}
}

// AddUser adds an account; quota 0 is no limit.
func (b *Backend) AddUser(name string, quota int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts[name] = &account{user: store.User{Name: name, Quota: quota}, next: 1}
}

// AddAlias makes address ("@domain" for a catch-all) deliver to account.
func (b *Backend) AddAlias(address, account string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.aliases[strings.ToLower(address)] = account
}

// SetDisabled disables or enables an account.
func (b *Backend) SetDisabled(name string, disabled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts[name].user.Disabled = disabled
}

// SetUsage sets the bytes an account is counted as using.
func (b *Backend) SetUsage(name string, usage int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.accounts[name].user.Usage = usage
}

// Messages returns the messages in an account's INBOX.
func (b *Backend) Messages(name string) []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.accounts[name].msgs...)
}

// ResolveRecipient implements smtp.Backend like store.Store's.
func (b *Backend) ResolveRecipient(address string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.resolve(address)
}

func (b *Backend) resolve(address string) (string, error) {
	address = strings.ToLower(address)
	if _, ok := b.accounts[address]; ok {
		return address, nil
	}
	if a, ok := b.aliases[address]; ok {
		return a, nil
	}
	_, domain, _ := strings.Cut(address, "@")
	if a, ok := b.aliases["@"+domain]; ok {
		return a, nil
	}
	for name := range b.accounts {
		if strings.HasSuffix(name, "@"+domain) {
			return "", store.ErrNoSuchUser
		}
	}
	return "", store.ErrNotHosted
}

// User implements smtp.Backend.
func (b *Backend) User(name string) (store.User, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.accounts[name]
	if !ok {
		return store.User{}, store.ErrNoSuchUser
	}
	return a.user, nil
}

// Deliver implements smtp.Backend: it reads the whole message, then stores
// a copy for each recipient that can take it, or nothing if r fails.
func (b *Backend) Deliver(ctx context.Context, to []store.Delivery, date time.Time, r io.Reader) ([]store.DeliveryResult, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("smtptest: reading message: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Deliveries++
	if b.FailDeliver != nil {
		return nil, b.FailDeliver
	}
	res := make([]store.DeliveryResult, len(to))
	for i, d := range to {
		name, err := b.resolve(d.Recipient)
		if err != nil {
			res[i].Err = err
			continue
		}
		a := b.accounts[name]
		switch {
		case a.user.Disabled:
			res[i].Err = store.ErrDisabled
		case a.user.Quota > 0 && a.user.Usage+int64(len(body)) > a.user.Quota:
			res[i].Err = store.ErrQuota
		default:
			a.msgs = append(a.msgs, Message{UID: a.next, Date: date, Body: body})
			a.user.Usage += int64(len(body))
			a.user.Messages++
			res[i] = store.DeliveryResult{Account: name, Mailbox: "INBOX", UID: a.next, UIDValidity: 1}
			a.next++
		}
	}
	return res, nil
}

// OpenDelivered implements smtp.Reopener.
func (b *Backend) OpenDelivered(account, mailbox string, uid uint32) (io.ReadSeekCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.accounts[account]
	if !ok || mailbox != "INBOX" {
		return nil, store.ErrNoSuchMailbox
	}
	for _, m := range a.msgs {
		if m.UID == uid {
			return nopCloser{bytes.NewReader(m.Body)}, nil
		}
	}
	return nil, store.ErrNoSuchMessage
}

type nopCloser struct{ io.ReadSeeker }

func (nopCloser) Close() error { return nil }

// Shared is b without OpenDelivered, for testing the path without
// smtp.Reopener.
func Shared(b *Backend) smtp.Backend { return shared{b} }

type shared struct{ b *Backend }

func (s shared) ResolveRecipient(address string) (string, error) {
	return s.b.ResolveRecipient(address)
}
func (s shared) User(name string) (store.User, error) { return s.b.User(name) }
func (s shared) Deliver(ctx context.Context, to []store.Delivery, date time.Time, r io.Reader) ([]store.DeliveryResult, error) {
	return s.b.Deliver(ctx, to, date, r)
}
