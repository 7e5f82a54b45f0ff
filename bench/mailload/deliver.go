package main

import (
	"sync/atomic"
	"time"
)

// msgSeq numbers every message the load generator sends.
var msgSeq atomic.Int64

// lmtpConn is one kept-open LMTP connection, as an MTA (Postfix's lmtp
// client) holds one per delivery agent process.
type lmtpConn struct {
	c *client
	// addr is the server's LMTP address.
	addr string
	lc   *lmtpClient
}

// deliver sends one message to rcpt and waits for the server's per-recipient
// answer: with LMTP a 250 means the server took the message (durably, for
// both servers measured here). A failed connection is dropped and redialled
// on the next call. The bytes on the wire are what go-smtp's client sent
// before (see lmtpClient).
func (l *lmtpConn) deliver(m *message, rcpt string) error {
	if l.lc == nil {
		conn, err := l.c.dial(l.addr)
		if err != nil {
			return err
		}
		lc, err := dialLMTP(conn, "load.bench.test")
		if err != nil {
			return err
		}
		l.lc = lc
	}
	err := l.lc.send("load@bench.test", rcpt, m.wire(rcpt, msgSeq.Add(1))...)
	if err != nil {
		l.close()
	}
	return err
}

func (l *lmtpConn) close() {
	if l.lc != nil {
		l.lc.close()
		l.lc = nil
	}
}

// deliveryLoad runs n LMTP clients delivering messages of one size as fast
// as the server answers; client i delivers to account i mod len(users).
func deliveryLoad(addr string, users []string, size, n int, d time.Duration, maxPerClient int) *result {
	m := newMessage(size)
	return runLoad(n, d, maxPerClient, func(c *client) {
		l := &lmtpConn{c: c, addr: addr}
		defer l.close()
		rcpt := users[c.id%len(users)]
		c.ready()
		for !c.done() {
			if c.op("lmtp", func() error { return l.deliver(m, rcpt) }) != nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}

// prefill delivers count 4 KiB messages to every user over LMTP, 16 at a
// time, and fails on the first error: the IMAP mix needs them there.
func prefill(addr string, users []string, count int) error {
	m := newMessage(4 << 10)
	const conc = 16
	errs := make(chan error, conc)
	for w := range conc {
		go func() {
			l := &lmtpConn{c: &client{id: 200 + w}, addr: addr}
			defer l.close()
			for i := w; i < len(users); i += conc {
				for range count {
					if err := l.deliver(m, users[i]); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range conc {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
