package smtp_test

import (
	"testing"
)

func TestRcpt(t *testing.T) {
	tests := []struct {
		rcpt string
		want string
	}{
		{"<alice@example.org>", "250 "},
		{"<Alice@Example.ORG>", "250 "},
		{"<info@example.org>", "250 "},          // alias
		{"<anyone@example.net>", "250 "},        // catch-all
		{"<nobody@example.org>", "550 5.1.1 "},  // unknown user of a hosted domain
		{"<x@elsewhere.example>", "550 5.7.1 "}, // not hosted: no relaying
		{"<carol@example.org>", "550 5.2.1 "},   // disabled
		{"<dave@example.org>", "452 4.2.2 "},    // over quota
		{"<>", "501 "},                          // the null path is no recipient
	}
	for _, lmtp := range []bool{false, true} {
		e := newEnv(t, lmtp, nil, nil)
		e.be.AddUser("carol@example.org", 0)
		e.be.SetDisabled("carol@example.org", true)
		e.be.AddUser("dave@example.org", 10)
		e.be.SetUsage("dave@example.org", 10) // full
		c := e.hello(t, lmtp)
		c.cmd("MAIL FROM:<sender@example.com>", "250 ")
		for _, tt := range tests {
			c.cmd("RCPT TO:"+tt.rcpt, tt.want)
		}
	}
}

func TestRcptQuotaWithSize(t *testing.T) {
	e := newEnv(t, false, nil, nil) // bob has a 1 MiB quota
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<s@example.com> SIZE=2000000", "250 ")
	c.cmd("RCPT TO:<bob@example.org>", "552 5.2.2 ") // larger than the whole quota
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<s@example.com> SIZE=1000", "250 ")
	c.cmd("RCPT TO:<bob@example.org>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
}

func TestMaxRecipients(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	for i := 0; i < 100; i++ {
		c.cmd("RCPT TO:<alice@example.org>", "250 ")
	}
	c.cmd("RCPT TO:<alice@example.org>", "452 4.5.3 ")
}
