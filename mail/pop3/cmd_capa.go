package pop3

// handleCapa answers CAPA (RFC 2449 section 5), in either state. Plaintext
// mechanisms are listed only where they may be used (RFC 2595 section 4).
func (c *conn) handleCapa(cmd command) error {
	lines := []string{"+OK capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"}
	if c.state == stateAuthorization {
		if c.insecureAuthAllowed() {
			lines = append(lines, "USER", "SASL PLAIN")
		}
		if c.s.opts.TLSConfig != nil && !c.tls {
			lines = append(lines, "STLS")
		}
	}
	lines = append(lines, "EXPIRE NEVER", "LOGIN-DELAY 0", "IMPLEMENTATION postvault", ".")
	for _, l := range lines {
		c.bw.WriteString(l)
		c.bw.WriteString("\r\n")
	}
	return c.flush()
}
