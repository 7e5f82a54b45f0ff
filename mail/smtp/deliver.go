package smtp

import (
	"errors"
	"fmt"
	"io"
	"strings"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/postvault/postvault/mail/store"
)

// Data delivers an SMTP message: one answer for all recipients.
func (ss *session) Data(r io.Reader) error {
	r, finish := ss.messageReader(r)
	defer finish()
	errs := ss.deliver(r)
	var failed, ok int
	var first error
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		} else {
			ok++
		}
	}
	switch {
	case failed == 0:
		return nil
	case ok == 0:
		return first
	default:
		// Some copies are stored, some not: one SMTP answer cannot say so.
		// A 4xx makes the sender retry all (duplicates), a 250 would lose
		// mail; RCPT already refused what it could foresee.
		ss.log.Warn("partial delivery answered 451", "delivered", ok, "failed", failed)
		return errPartial
	}
}

// LMTPData delivers an LMTP message and answers per recipient
// (RFC 2033 section 4.2).
func (ss *session) LMTPData(r io.Reader, status gosmtp.StatusCollector) error {
	r, finish := ss.messageReader(r)
	defer finish()
	errs := ss.deliver(r)
	for i, rc := range ss.rcpt {
		status.SetStatus(rc.addr, errs[i])
	}
	return nil
}

// deliver stores the message for every recipient and returns one answer
// (nil or an *SMTPError) per entry of ss.rcpt.
func (ss *session) deliver(r io.Reader) []error {
	id := newID()
	errs := make([]error, len(ss.rcpt))
	data := &countingReader{r: r}
	ro, perRecipient := ss.s.be.(Reopener)
	if !perRecipient || len(ss.rcpt) == 1 {
		ss.deliverShared(id, data, errs)
		if streamFailed(data) {
			fillFrom(errs, 0, smtpError(data.err)) // e.g. 552 too large: nothing was stored
		}
		ss.drain(data)
		return errs
	}
	done := make(map[string]int) // address -> index of its first RCPT: one copy per address
	var stored *storedCopy
	for i, rc := range ss.rcpt {
		key := strings.ToLower(rc.addr)
		if j, dup := done[key]; dup {
			errs[i] = errs[j]
			continue
		}
		done[key] = i
		prefix := ss.trace(rc.addr, id)
		var src io.Reader
		var body io.Closer
		switch {
		case stored != nil:
			b, err := stored.open(ro)
			if err != nil {
				ss.log.Error("reopen delivered copy", "id", id, "err", err)
				errs[i] = errTemporary
				continue
			}
			src, body = io.MultiReader(strings.NewReader(prefix), b), b
		case data.n == 0 && data.err == nil:
			src = io.MultiReader(strings.NewReader(prefix), data)
		default:
			// An earlier attempt took part of the stream and failed.
			errs[i] = errDataLost
			continue
		}
		res, err := ss.deliverOne(id, rc, src)
		if body != nil {
			body.Close()
		}
		errs[i] = err
		if err == nil && stored == nil {
			stored = &storedCopy{account: res.Account, mailbox: res.Mailbox, uid: res.UID, skip: int64(len(prefix))}
		}
		if stored == nil && streamFailed(data) {
			fillFrom(errs, i, smtpError(data.err)) // e.g. 552 too large: nothing was stored
			break
		}
	}
	ss.drain(data)
	return errs
}

// deliverShared stores one copy for all recipients in one store.Deliver
// (one shared body). The trace fields name the recipient only when there is
// one.
func (ss *session) deliverShared(id string, data io.Reader, errs []error) {
	rcpt := ""
	if len(ss.rcpt) == 1 {
		rcpt = ss.rcpt[0].addr
	}
	var to []store.Delivery
	index := make(map[string]int) // address -> its entry in to: one copy per address
	for _, rc := range ss.rcpt {
		key := strings.ToLower(rc.addr)
		if _, dup := index[key]; !dup {
			index[key] = len(to)
			to = append(to, store.Delivery{Recipient: rc.addr})
		}
	}
	src := io.MultiReader(strings.NewReader(ss.trace(rcpt, id)), data)
	res, err := ss.s.be.Deliver(ss.s.ctx, to, ss.s.opts.Now(), src)
	for i, rc := range ss.rcpt {
		j := index[strings.ToLower(rc.addr)]
		switch {
		case err != nil:
			errs[i] = ss.failed(id, rc, err)
		case len(res) != len(to):
			errs[i] = ss.failed(id, rc, fmt.Errorf("smtp: store returned %d results for %d recipients", len(res), len(to)))
		case res[j].Err != nil:
			errs[i] = ss.failed(id, rc, res[j].Err)
		default:
			ss.log.Info("delivered", "id", id, "from", ss.from, "rcpt", rc.addr, "account", res[j].Account, "uid", res[j].UID)
		}
	}
}

// deliverOne stores one copy for rc, read from src.
func (ss *session) deliverOne(id string, rc recipient, src io.Reader) (store.DeliveryResult, error) {
	res, err := ss.s.be.Deliver(ss.s.ctx, []store.Delivery{{Recipient: rc.addr}}, ss.s.opts.Now(), src)
	switch {
	case err != nil:
		return store.DeliveryResult{}, ss.failed(id, rc, err)
	case len(res) != 1:
		return store.DeliveryResult{}, ss.failed(id, rc, fmt.Errorf("smtp: store returned %d results for 1 recipient", len(res)))
	case res[0].Err != nil:
		return store.DeliveryResult{}, ss.failed(id, rc, res[0].Err)
	}
	ss.log.Info("delivered", "id", id, "from", ss.from, "rcpt", rc.addr, "account", res[0].Account, "uid", res[0].UID)
	return res[0], nil
}

// failed logs a failed delivery and returns the client's answer.
func (ss *session) failed(id string, rc recipient, err error) error {
	se := smtpError(err)
	lvl := ss.log.Warn
	if se.Code/100 == 4 && !errors.Is(err, store.ErrQuota) {
		lvl = ss.log.Error // the store cannot take writes
	}
	lvl("not delivered", "id", id, "from", ss.from, "rcpt", rc.addr, "code", se.Code, "err", err)
	return se
}

// drain reads what is left of the DATA stream so that its error, if any
// (552 too large), is seen; go-smtp discards the rest itself.
func (ss *session) drain(data *countingReader) {
	io.Copy(io.Discard, data)
}

// fillFrom sets every answer from index i on to err.
func fillFrom(errs []error, i int, err error) {
	for ; i < len(errs); i++ {
		errs[i] = err
	}
}

// storedCopy is the first delivered copy, read back for later recipients
// without its trace fields.
type storedCopy struct {
	account, mailbox string
	uid              uint32
	skip             int64 // length of that copy's trace fields
}

func (c *storedCopy) open(ro Reopener) (io.ReadSeekCloser, error) {
	b, err := ro.OpenDelivered(c.account, c.mailbox, c.uid)
	if err != nil {
		return nil, err
	}
	if _, err := b.Seek(c.skip, io.SeekStart); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// countingReader counts what was read and keeps the first error.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// streamFailed reports whether the DATA stream ended in an error (too
// large, connection lost) rather than at its end.
func streamFailed(c *countingReader) bool {
	return c.err != nil && !errors.Is(c.err, io.EOF)
}
