package pop3_test

import (
	"slices"
	"testing"
)

func TestCapa(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t)
	c.cmd("CAPA", "+OK")
	before := c.multi()
	for _, want := range []string{"TOP", "UIDL", "USER", "SASL PLAIN", "STLS", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"} {
		if !slices.Contains(before, want) {
			t.Errorf("CAPA before login = %q, lacks %q", before, want)
		}
	}
	c.cmd("USER alice", "+OK")
	c.cmd("PASS secret", "+OK")
	c.cmd("CAPA", "+OK")
	after := c.multi()
	for _, gone := range []string{"USER", "SASL PLAIN", "STLS"} {
		if slices.Contains(after, gone) {
			t.Errorf("CAPA after login = %q, still lists %q", after, gone)
		}
	}
}

func TestCapaWithoutTLS(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(t)
	c.cmd("STLS", "+OK")
	c.startTLS(e.pool)
	c.cmd("CAPA", "+OK")
	if got := c.multi(); slices.Contains(got, "STLS") {
		t.Errorf("CAPA over TLS = %q, lists STLS", got)
	}
	c.cmd("STLS", "-ERR already using TLS")
}
