package pop3

import "fmt"

// handleStls answers STLS (RFC 2595 section 4): "+OK", then a TLS handshake;
// the session starts over in the AUTHORIZATION state with nothing learnt
// before (no USER is kept).
func (c *conn) handleStls(cmd command) error {
	if c.s.opts.TLSConfig == nil {
		return &Error{Text: "STLS not available"}
	}
	if c.tls {
		return &Error{Text: "already using TLS"}
	}
	if c.br.Buffered() > 0 {
		// Commands pipelined after STLS were sent in the clear and must not
		// be run as if they came over TLS (the STARTTLS injection attack).
		c.writeErr(&Error{Text: "commands sent after STLS, closing"})
		c.bw.Flush()
		return errQuit
	}
	if err := c.writeOK("begin TLS negotiation"); err != nil {
		return err
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if err := c.startTLS(); err != nil {
		c.log.Info("STLS handshake failed", "err", err)
		return abort(fmt.Errorf("stls: %w", err))
	}
	c.user = ""
	return nil
}
