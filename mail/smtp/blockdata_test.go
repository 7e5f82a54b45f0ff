package smtp_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/smtp/smtptest"
	"github.com/postvault/postvault/mail/store"
)

// rawSession sends one whole session's bytes at once (pipelined, as a
// fuzzer or a hurried client would) and returns every reply.
func rawSession(t *testing.T, addr string, in string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		io.WriteString(nc, in)
		nc.(*net.TCPConn).CloseWrite()
	}()
	out, _ := io.ReadAll(nc)
	return string(out)
}

// TestBlockDataSameAsGoSMTP: the block reader stores the same bytes and
// answers the same as go-smtp's own reader, for SMTP and LMTP, across the
// size limit (except at exactly the limit, see below), with stuffed dots, pipelined commands after the message, and
// STARTTLS sessions (which use go-smtp's reader).
func TestBlockDataSameAsGoSMTP(t *testing.T) {
	const limit = 2000
	rnd := rand.New(rand.NewPCG(7, 7))
	line := func() string {
		var b strings.Builder
		if rnd.IntN(4) == 0 {
			b.WriteString(strings.Repeat(".", 1+rnd.IntN(3)))
		}
		for range rnd.IntN(90) {
			b.WriteByte("abcЖ \t.x"[rnd.IntN(8)])
		}
		b.WriteString("\r\n")
		return b.String()
	}
	stuff := func(msg string) string {
		var b strings.Builder
		for _, l := range strings.SplitAfter(msg, "\r\n") {
			if strings.HasPrefix(l, ".") {
				b.WriteString(".")
			}
			b.WriteString(l)
		}
		return b.String()
	}
	for _, lmtp := range []bool{false, true} {
		quiet := func(o *smtp.Options) {
			o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			o.MaxMessageBytes = limit
		}
		fast := newEnv(t, lmtp, quiet, nil)
		slow := newEnv(t, lmtp, func(o *smtp.Options) { quiet(o); smtp.ByteData(o) }, nil)
		verb := map[bool]string{false: "EHLO", true: "LHLO"}[lmtp]
		extra := 0
		for i := range 40 {
			var msg strings.Builder
			msg.WriteString("Subject: test\r\n\r\n") // the test's split wants no tab first
			target := limit - 200 + rnd.IntN(400)
			if i%10 == 0 {
				target = limit + 100
			}
			for msg.Len() < target {
				msg.WriteString(line())
			}
			m := msg.String()
			if i%10 == 0 {
				m = m[:limit-2] + "\r\n" // exactly at the limit
			}
			in := verb + " c\r\nMAIL FROM:<s@example.com>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n" +
				stuff(m) + ".\r\nNOOP\r\nRSET\r\nQUIT\r\n"
			name := fmt.Sprintf("lmtp=%v/%d", lmtp, i)
			outF, outS := rawSession(t, fast.addr, in), rawSession(t, slow.addr, in)
			if len(m) == limit {
				// go-smtp refuses a message of exactly the limit (its
				// reader fails when asked for more after the limit, even
				// for the end line); RFC 1870 section 4 accepts it, and so
				// does the block reader.
				outS = tooLargeRe.ReplaceAllString(outS, "250 2.0.0 ${1}OK: queued")
				if !strings.Contains(outF, "OK: queued") {
					t.Fatalf("%s: message of exactly the limit refused: %q", name, outF)
				}
			}
			if norm(outF) != norm(outS) {
				t.Fatalf("%s: replies differ:\nblock:  %q\ngo-smtp: %q", name, outF, outS)
			}
			gotF, gotS := fast.be.Messages("alice@example.org"), slow.be.Messages("alice@example.org")
			if len(m) == limit {
				extra++
			}
			if len(gotF) != len(gotS)+extra {
				t.Fatalf("%s: %d messages stored, go-smtp's reader %d (+%d at exactly the limit)", name, len(gotF), len(gotS), extra)
			}
			if len(m) < limit {
				_, restF := split(t, gotF[len(gotF)-1].Body)
				_, restS := split(t, gotS[len(gotS)-1].Body)
				if restF != restS {
					t.Fatalf("%s: stored bodies differ", name)
				}
				if len(m) <= limit && strings.Contains(outF, "OK: queued") && restF != m {
					t.Fatalf("%s: stored body is not the message sent:\n%q\n%q", name, restF, m)
				}
			}
			if len(m) > limit && !strings.Contains(outF, "552 5.3.4") {
				t.Errorf("%s: %d-byte message over %d not refused: %q", name, len(m), limit, outF)
			}
		}
	}
}

var tooLargeRe = regexp.MustCompile(`552 5\.3\.4 (<[^>]*> )?Maximum message size exceeded`)

// norm hides the parts of a session's replies that differ between two
// servers: the delivery IDs.
func norm(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\r\n") {
		if i := strings.Index(l, " id "); i >= 0 {
			l = l[:i]
		}
		b.WriteString(l)
	}
	return b.String()
}

// TestBlockDataDotCR: the one malformed input the two readers treat
// differently, and which shows the block reader is the one in use: a line
// "." CR X (a bare CR after a stuffed dot). go-smtp drops the dot and the
// CR; the block reader only the dot (RFC 5321 section 4.5.2).
func TestBlockDataDotCR(t *testing.T) {
	e := newEnv(t, false, nil, nil)
	c := e.hello(t, false)
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	c.cmd("DATA", "354")
	io.WriteString(c.nc, "a\r\n.\rX\r\n.\r\n")
	c.expect("250 ")
	_, rest := split(t, e.be.Messages("alice@example.org")[0].Body)
	if rest != "a\r\n\rX\r\n" {
		t.Errorf("stored %q, want %q", rest, "a\r\n\rX\r\n")
	}
}

// BenchmarkDATA measures the server's cost of reading a 4 MiB message body
// in DATA (the backend discards it), against a plain io.Copy of the same
// bytes from a TCP connection in the same run: the ratios, in CPU time of
// the whole process (client included, the same in every case) and in wall
// time, are the figures of BENCHMARKS.md.
func BenchmarkDATA(b *testing.B) {
	const size = 4 << 20
	var msg bytes.Buffer
	for i := 0; msg.Len() < size; i++ {
		fmt.Fprintf(&msg, "%06d Строка письма с текстом, .dots. and ASCII %s\r\n", i, strings.Repeat("x", i%40))
		if i%50 == 0 {
			msg.WriteString("..stuffed line\r\n")
		}
	}
	body := append(msg.Bytes(), ".\r\n"...)

	copyAddr := startCopyServer(b, int64(len(body)))
	quiet := func(o *smtp.Options) {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		o.MaxMessageBytes = 64 << 20
	}
	block := newDiscardEnv(b, quiet)
	byByte := newDiscardEnv(b, func(o *smtp.Options) { quiet(o); smtp.ByteData(o) })

	type variant struct {
		name      string
		run       func()
		cpu, wall time.Duration
	}
	vs := []*variant{
		{name: "copy", run: rawTransfer(b, copyAddr, body)},
		{name: "block", run: smtpTransfer(b, block, body)},
		{name: "gosmtp", run: smtpTransfer(b, byByte, body)},
	}
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range vs {
			v := vs[(i+j)%len(vs)] // take turns, each first in its turn
			c0, w0 := cpuTime(), time.Now()
			v.run()
			v.cpu += cpuTime() - c0
			v.wall += time.Since(w0)
		}
	}
	ref := vs[0]
	for _, v := range vs[1:] {
		b.ReportMetric(float64(v.cpu)/float64(ref.cpu), v.name+"-cpu/copy")
		b.ReportMetric(float64(v.wall)/float64(ref.wall), v.name+"-wall/copy")
	}
	b.ReportMetric(float64(size)/ref.wall.Seconds()*float64(b.N)/(1<<20), "copy-MiB/s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardBackend is the test backend whose Deliver reads the message and
// keeps nothing: the benchmark measures reading DATA, not storing.
type discardBackend struct{ smtp.Backend }

func (discardBackend) Deliver(ctx context.Context, to []store.Delivery, date time.Time, r io.Reader) ([]store.DeliveryResult, error) {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, err
	}
	res := make([]store.DeliveryResult, len(to))
	for i, d := range to {
		res[i] = store.DeliveryResult{Account: d.Recipient, Mailbox: "INBOX", UID: 1}
	}
	return res, nil
}

// newDiscardEnv is newEnv with a backend that discards messages.
func newDiscardEnv(b *testing.B, adjust func(*smtp.Options)) *env {
	return newEnv(b, false, adjust, func(be *smtptest.Backend) smtp.Backend { return discardBackend{be} })
}

// startCopyServer accepts connections and io.Copies n bytes from each
// into io.Discard per request, answering one line after each.
func startCopyServer(b *testing.B, n int64) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				for {
					if k, err := io.Copy(io.Discard, io.LimitReader(nc, n)); err != nil || k < n {
						return
					}
					io.WriteString(nc, "250 ok\r\n")
				}
			}()
		}
	}()
	return l.Addr().String()
}

// rawTransfer sends body on one kept-open connection per call and waits
// for the answer line.
func rawTransfer(b *testing.B, addr string, body []byte) func() {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	br := bufio.NewReader(nc)
	return func() {
		if _, err := nc.Write(body); err != nil {
			b.Fatal(err)
		}
		if _, err := br.ReadString('\n'); err != nil {
			b.Fatal(err)
		}
	}
}

// smtpTransfer sends one message per call over a kept-open SMTP session.
func smtpTransfer(b *testing.B, e *env, body []byte) func() {
	c := e.hello(b, false)
	return func() {
		c.cmd("MAIL FROM:<s@example.com>", "250 ")
		c.cmd("RCPT TO:<alice@example.org>", "250 ")
		c.cmd("DATA", "354")
		if _, err := c.nc.Write(body); err != nil {
			b.Fatal(err)
		}
		c.expect("250 ")
	}
}
