package smtp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/limits"
	"github.com/postvault/postvault/mail/smtp"
)

func TestConnectionsPerAddress(t *testing.T) {
	e := newEnv(t, false, func(o *smtp.Options) { o.Conns = limits.NewConns(1) }, nil)
	c1 := e.dial(t)
	c2 := &client{t: t}
	c2.nc, c2.br = mustDial(t, e.addr)
	c2.expect("421 4.7.0 too many connections")
	c1.cmd("QUIT", "221 ")
	c1.nc.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c3 := &client{t: t}
		c3.nc, c3.br = mustDial(t, e.addr)
		if r := c3.reply(); strings.HasPrefix(r, "220 ") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("after the first connection closed: %q", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, false, func(o *smtp.Options) { o.Timeout = 200 * time.Millisecond }, nil)
	c := e.hello(t, false)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	for {
		if _, err := c.br.ReadString('\n'); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle client dropped after %v, want about 200ms", d)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := smtp.New(nil, nil); err == nil {
		t.Error("New(nil) = nil error")
	}
	e := newEnv(t, false, nil, nil)
	if _, err := smtp.New(e.be, &smtp.Options{MaxMessageBytes: -1}); err == nil {
		t.Error("New(MaxMessageBytes -1) = nil error")
	}
}

func TestCloseRefusesServe(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	c := e.hello(t, false)
	e.srv.Close()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.br.ReadString('\n'); err == nil {
		// go-smtp may say 421 before closing; the next read must fail.
		if _, err := c.br.ReadString('\n'); err == nil {
			t.Fatal("connection still open after Close")
		}
	}
}
