package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapLoad is the IMAP mix: each client, on its own account whose INBOX
// holds `kept` prefilled messages, logs in once (as mail clients do; LOGIN
// is timed but before the measured window opens, because with both
// servers' argon2id cost it is a password-hash benchmark of its own), then
// repeats rounds of
//
//	SELECT INBOX
//	FETCH 1:* (UID FLAGS)          the client syncs its view
//	FETCH k BODY[]                 reads one message (sets \Seen)
//	STORE k +FLAGS/-FLAGS.SILENT (\Flagged)
//	APPEND INBOX (4 KiB)           saves a draft or a sent message
//	UID STORE u +FLAGS.SILENT (\Deleted)
//	UID EXPUNGE u                  and removes it again
//
// until the window closes, then LOGOUT. Every command is one op; k is one
// of the kept messages, so sequence numbers stay valid, and u is the
// message just appended. A session that fails logs in again (in the window).
func imapLoad(addr string, users []string, password string, kept, n int, d time.Duration, maxPerClient int) *result {
	m := newMessage(4 << 10)
	return runLoad(n, d, maxPerClient, func(c *client) {
		user := users[c.id%len(users)]
		rnd := rand.New(rand.NewPCG(uint64(c.id), 7))
		var ic *imapclient.Client
		defer func() {
			if ic != nil {
				c.op("logout", func() error { return ic.Logout().Wait() })
				ic.Close()
			}
		}()
		for {
			if ic == nil {
				var err error
				if ic, err = imapLogin(c, addr, user, password); err != nil {
					c.ready()
					if c.done() {
						return
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			c.ready()
			if c.done() {
				return
			}
			if err := imapRound(c, ic, user, m, rnd, kept); err != nil {
				ic.Close()
				ic = nil
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}

// imapLogin connects and logs in (one op, "login").
func imapLogin(c *client, addr, user, password string) (*imapclient.Client, error) {
	var ic *imapclient.Client
	err := c.op("login", func() error {
		conn, err := c.dial(addr)
		if err != nil {
			return err
		}
		// A bound on the time: a LOGIN not answered in a minute fails.
		conn.SetDeadline(time.Now().Add(time.Minute))
		ic = imapclient.New(conn, nil)
		if err := ic.WaitGreeting(); err != nil {
			return err
		}
		err = ic.Login(user, password).Wait()
		conn.SetDeadline(time.Time{})
		return err
	})
	if err != nil && ic != nil {
		ic.Close()
		ic = nil
	}
	return ic, err
}

// imapRound is one round of the mix.
func imapRound(c *client, ic *imapclient.Client, user string, m *message, rnd *rand.Rand, kept int) error {
	err := c.op("select", func() error {
		sd, err := ic.Select("INBOX", nil).Wait()
		if err == nil && sd.NumMessages < uint32(kept) {
			err = fmt.Errorf("INBOX holds %d messages, want at least %d", sd.NumMessages, kept)
		}
		return err
	})
	if err != nil {
		return err
	}
	all := imap.SeqSet{}
	all.AddRange(1, 0)
	r := rnd.IntN(2)
	{
		k := uint32(1 + rnd.IntN(kept))
		steps := []struct {
			kind string
			fn   func() error
		}{
			{"fetch-flags", func() error {
				_, err := ic.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
				return err
			}},
			{"fetch-body", func() error {
				msgs, err := ic.Fetch(imap.SeqSetNum(k), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
				if err == nil && (len(msgs) != 1 || len(msgs[0].BodySection) != 1) {
					err = fmt.Errorf("FETCH %d BODY[]: %d messages", k, len(msgs))
				}
				return err
			}},
			{"store", func() error {
				op := imap.StoreFlagsAdd
				if r%2 == 1 {
					op = imap.StoreFlagsDel
				}
				return ic.Store(imap.SeqSetNum(k), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
			}},
		}
		for _, s := range steps {
			if err := c.op(s.kind, s.fn); err != nil {
				return err
			}
		}
		var uid imap.UID
		err := c.op("append", func() error {
			b := m.bytes(user, msgSeq.Add(1))
			cmd := ic.Append("INBOX", int64(len(b)), nil)
			if _, err := cmd.Write(b); err != nil {
				return err
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			ad, err := cmd.Wait()
			if err == nil {
				uid = ad.UID
				if uid == 0 {
					err = fmt.Errorf("APPEND: no APPENDUID")
				}
			}
			return err
		})
		if err != nil {
			return err
		}
		set := imap.UIDSetNum(uid)
		if err := c.op("store-deleted", func() error {
			return ic.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
		}); err != nil {
			return err
		}
		if err := c.op("expunge", func() error {
			seqs, err := ic.UIDExpunge(set).Collect()
			if err == nil && len(seqs) != 1 {
				err = fmt.Errorf("UID EXPUNGE %d removed %d messages", uid, len(seqs))
			}
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
