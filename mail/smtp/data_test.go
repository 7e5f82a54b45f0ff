package smtp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/smtp/smtptest"
	"github.com/postvault/postvault/mail/store"
)

// A message in Russian with an attachment whose name is Cyrillic, and lines
// that start with dots.
const cyrillicMsg = "From: Иван Петров <ivan@example.com>\r\n" +
	"To: alice@example.org\r\n" +
	"Subject: =?UTF-8?B?0J/RgNC40LLQtdGCLCDQvNC40YAh?=\r\n" +
	"X-Raw-Subject: Привет, мир!\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Здравствуйте! Это тело письма.\r\n" +
	".Строка с точкой в начале\r\n" +
	"..две точки\r\n" +
	"--b1\r\n" +
	"Content-Type: application/octet-stream; name*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf\r\n" +
	"Content-Disposition: attachment; filename=\"отчёт.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"JVBERi0xLjQK\r\n" +
	"--b1--\r\n"

func TestDataOneRecipient(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<ivan@example.com>", "250 ")
	c.cmd("RCPT TO:<info@example.org>", "250 ")
	c.data(cyrillicMsg)
	c.expect("250 ")
	msgs := e.be.Messages("alice@example.org")
	if len(msgs) != 1 {
		t.Fatalf("alice has %d messages, want 1", len(msgs))
	}
	trace, rest := split(t, msgs[0].Body)
	if rest != cyrillicMsg {
		t.Errorf("stored message differs from the one sent:\n got %q\nwant %q", rest, cyrillicMsg)
	}
	want := "Return-Path: <ivan@example.com>\r\n" +
		"Delivered-To: info@example.org\r\n" +
		"Received: from client.example.com ([127.0.0.1])\r\n" +
		"\tby mx.example.org (postvault) with ESMTP id "
	if !strings.HasPrefix(trace, want) {
		t.Errorf("trace fields =\n%s\nwant prefix\n%s", trace, want)
	}
	if !strings.HasSuffix(trace, "\tfor <info@example.org>; Sat, 28 Nov 2026 19:30:00 +0000\r\n") {
		t.Errorf("trace fields =\n%s\nwant the for clause and date", trace)
	}
	if !strings.Contains(e.logs.String(), "delivered") {
		t.Errorf("delivery not logged:\n%s", e.logs.String())
	}
}

func TestDataNullSender(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.data("Subject: bounce\r\n\r\nreport\r\n")
	c.expect("250 ")
	if b := string(e.be.Messages("alice@example.org")[0].Body); !strings.HasPrefix(b, "Return-Path: <>\r\n") {
		t.Errorf("stored = %q, want Return-Path: <>", b)
	}
}

func TestDataSeveralRecipients(t *testing.T) {
	tests := []struct {
		name        string
		wrap        func(*smtptest.Backend) smtp.Backend
		deliveries  int
		deliveredTo bool
	}{
		{"per recipient (Reopener)", nil, 2, true},
		{"shared body", smtptest.Shared, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, false, nil, tt.wrap)
			c := e.hello(t, false)
			c.cmd("MAIL FROM:<ivan@example.com>", "250 ")
			c.cmd("RCPT TO:<alice@example.org>", "250 ")
			c.cmd("RCPT TO:<bob@example.org>", "250 ")
			c.cmd("RCPT TO:<alice@example.org>", "250 ") // the same address twice: one copy
			c.data(cyrillicMsg)
			c.expect("250 ")
			if e.be.Deliveries != tt.deliveries {
				t.Errorf("store.Deliver called %d times, want %d", e.be.Deliveries, tt.deliveries)
			}
			for _, who := range []string{"alice@example.org", "bob@example.org"} {
				msgs := e.be.Messages(who)
				if len(msgs) != 1 {
					t.Fatalf("%s has %d messages, want 1", who, len(msgs))
				}
				trace, rest := split(t, msgs[0].Body)
				if rest != cyrillicMsg {
					t.Errorf("%s: stored message differs:\n got %q\nwant %q", who, rest, cyrillicMsg)
				}
				if got := strings.Contains(trace, "Delivered-To: "+who+"\r\n"); got != tt.deliveredTo {
					t.Errorf("%s: trace has its Delivered-To = %v, want %v:\n%s", who, got, tt.deliveredTo, trace)
				}
				if strings.Count(trace, "Delivered-To") > 1 || strings.Count(trace, "Received:") != 1 {
					t.Errorf("%s: trace fields repeated:\n%s", who, trace)
				}
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	e := newEnv(t, false, func(o *smtp.Options) { o.MaxMessageBytes = 1000 }, nil)
	c := e.dial(t)
	if r := c.cmd("EHLO client.example.com", "250"); !strings.Contains(r, "SIZE 1000") {
		t.Errorf("EHLO = %q, want SIZE 1000 advertised", r)
	}
	c.cmd("MAIL FROM:<s@example.com> SIZE=5000", "552 ")
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.data("Subject: big\r\n\r\n" + strings.Repeat("0123456789\r\n", 200))
	c.expect("552 5.3.4 ")
	if n := len(e.be.Messages("alice@example.org")); n != 0 {
		t.Errorf("a too large message was stored (%d messages)", n)
	}
	// The session goes on.
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.data("Subject: small\r\n\r\nok\r\n")
	c.expect("250 ")
}

func TestStoreCannotWrite(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{store.ErrReadOnly, "451 4.3.0 "},
		{store.ErrClosed, "451 4.3.0 "},
		{fmt.Errorf("store: flush: %w", errors.New("input/output error")), "451 4.3.0 "},
		{store.ErrCorrupt, "451 4.3.0 "},
		{store.ErrFull, "452 4.3.1 "},
		{store.ErrQuota, "452 4.2.2 "},
	}
	for _, lmtp := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("lmtp=%v/%v", lmtp, tt.err), func(t *testing.T) {
				e := newEnv(t, lmtp, nil, nil)
				e.be.FailDeliver = tt.err
				c := e.hello(t, lmtp)
				c.cmd("MAIL FROM:<s@example.com>", "250 ")
				c.cmd("RCPT TO:<alice@example.org>", "250 ")
				c.data("Subject: x\r\n\r\ny\r\n")
				c.expect(tt.want)
				e.be.FailDeliver = nil
				c.cmd("MAIL FROM:<s@example.com>", "250 ")
				c.cmd("RCPT TO:<alice@example.org>", "250 ")
				c.data("Subject: x\r\n\r\ny\r\n")
				c.expect("250 ")
			})
		}
	}
}

func TestLMTPPerRecipient(t *testing.T) {
	e := newEnv(t, true, nil, nil)
	e.be.AddUser("small@example.org", 200)
	c := e.hello(t, true)
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.cmd("RCPT TO:<small@example.org>", "250 ") // empty now, but the message will not fit
	c.cmd("RCPT TO:<bob@example.org>", "250 ")
	c.data("Subject: per recipient\r\n\r\n" + strings.Repeat("x", 300) + "\r\n")
	c.expect("250 2.0.0 <alice@example.org>")
	c.expect("452 4.2.2 <small@example.org>")
	c.expect("250 2.0.0 <bob@example.org>")
	if n := len(e.be.Messages("small@example.org")); n != 0 {
		t.Errorf("small@ got %d messages over its quota", n)
	}
	if n := len(e.be.Messages("bob@example.org")); n != 1 {
		t.Errorf("bob@ got %d messages, want 1", n)
	}
}

// SMTP has one answer: a partial delivery is answered 451, so that the
// sender retries rather than loses the message for some recipients.
func TestSMTPPartialIsTemporary(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	e.be.AddUser("small@example.org", 200)
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.cmd("RCPT TO:<small@example.org>", "250 ")
	c.data("Subject: partial\r\n\r\n" + strings.Repeat("x", 300) + "\r\n")
	c.expect("451 4.3.0 ")
}

func TestStartTLSReceived(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	c := e.hello(t, false)
	c.cmd("STARTTLS", "220 ")
	c.startTLS(e.pool)
	c.cmd("EHLO client.example.com", "250")
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.data("Subject: tls\r\n\r\nsecret\r\n")
	c.expect("250 ")
	trace, _ := split(t, e.be.Messages("alice@example.org")[0].Body)
	if !strings.Contains(trace, "with ESMTPS id ") || !strings.Contains(trace, "(using TLSv1.3 with cipher TLS_") {
		t.Errorf("Received after STARTTLS lacks the TLS details:\n%s", trace)
	}
}
