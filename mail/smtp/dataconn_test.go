package smtp

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// chunkConn is a connection whose reads return the input in pieces of
// random size (to put every boundary everywhere), then io.EOF.
type chunkConn struct {
	net.Conn
	in  []byte
	rnd *rand.Rand
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.in), 1+c.rnd.IntN(7))
	if c.rnd.IntN(4) == 0 {
		n = min(len(p), len(c.in))
	}
	copy(p, c.in[:n])
	c.in = c.in[n:]
	return n, nil
}

func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

// refResult is what the byte-at-a-time reference decoder found.
type refResult struct {
	out  []byte
	err  error // io.EOF (the end line), ErrDataTooLarge or io.ErrUnexpectedEOF
	next int   // with io.EOF: the offset after the end line
}

// refDecode is RFC 5321 section 4.5.2, one byte at a time: a line is "."
// CRLF ends the message, a leading dot of any other line is dropped, a line
// starts after CRLF (and at the start), and at most max bytes come out.
func refDecode(in []byte, max int64) refResult {
	var out []byte
	lineStart, lastCR := true, false
	for i := 0; ; {
		if lineStart && i < len(in) && in[i] == '.' {
			rest := in[i:]
			switch {
			case bytes.HasPrefix(rest, dataLine):
				return refResult{out: out, err: io.EOF, next: i + len(dataLine)}
			case len(rest) < len(dataLine) && bytes.HasPrefix(dataLine, rest):
				return refResult{out: out, err: io.ErrUnexpectedEOF}
			}
			i++
			lastCR = false
		}
		lineStart = false
		if i >= len(in) {
			return refResult{out: out, err: io.ErrUnexpectedEOF}
		}
		if int64(len(out)) >= max {
			return refResult{out: out, err: gosmtp.ErrDataTooLarge}
		}
		c := in[i]
		out = append(out, c)
		i++
		lineStart = c == '\n' && lastCR
		lastCR = c == '\r'
	}
}

// checkDotReader reads in through a lineConn and dotReader as a session
// does, then finishes and reads on as go-smtp does, and compares with
// refDecode.
func checkDotReader(t *testing.T, in []byte, max int64, seed uint64) {
	t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 1))
	lc := newLineConn(&chunkConn{in: in, rnd: rnd}, func() {}, time.Minute)
	d := &dotReader{c: lc, max: max, lineStart: true}
	var got []byte
	var err error
	for err == nil {
		buf := make([]byte, 1+rnd.IntN(100))
		var n int
		n, err = d.Read(buf)
		got = append(got, buf[:n]...)
	}
	want := refDecode(in, max)
	if !bytes.Equal(got, want.out) || !errors.Is(err, want.err) {
		t.Fatalf("read %q (max %d) = %q, %v; want %q, %v", in, max, got, err, want.out, want.err)
	}
	d.finish()
	// What go-smtp reads next: the end line if the message was read to it
	// (skipping what was too large), then the bytes after it.
	rest, _ := io.ReadAll(lc)
	var wantRest []byte
	if end := refDecode(in, 1<<62); end.err == io.EOF && want.err != io.ErrUnexpectedEOF {
		wantRest = append(append([]byte{}, dataLine...), in[end.next:]...)
	}
	if !bytes.Equal(rest, wantRest) {
		t.Fatalf("after %q (max %d) go-smtp reads %q, want %q", in, max, rest, wantRest)
	}
}

var dotSeeds = []string{
	"Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n",
	"..stuffed\r\n.\r\n",
	".\r\n",
	"a\r\n..\r\n...\r\n.x\r\n.\r\nNOOP\r\n",
	"bare\nlf\n.\nstill\r\n.\r\n",
	"cr\r.\r\n.\r\n",
	"dot-cr\r\n.\rX\r\n.\r\n",
	"Тема: привет\r\n\r\nТекст письма.\r\n.Строка с точкой\r\n.\r\n",
	"no end\r\n",
	"ends inside the end line\r\n.\r",
	"ends inside\r\n.",
	"",
}

func TestDotReader(t *testing.T) {
	for _, s := range dotSeeds {
		for _, max := range []int64{0, 1, 5, 6, 7, 20, 1 << 20} {
			for seed := range uint64(8) {
				checkDotReader(t, []byte(s), max, seed)
			}
		}
	}
}

// TestDotReaderExactLimit: a message of exactly the limit is accepted, one
// byte more is 552.
func TestDotReaderExactLimit(t *testing.T) {
	msg := []byte("0123456789\r\n") // 12 bytes
	in := append(append([]byte{}, msg...), ".\r\n"...)
	for _, tt := range []struct {
		max  int64
		want error
	}{{12, io.EOF}, {11, gosmtp.ErrDataTooLarge}, {13, io.EOF}} {
		lc := newLineConn(&chunkConn{in: in, rnd: rand.New(rand.NewPCG(1, 1))}, func() {}, time.Minute)
		d := &dotReader{c: lc, max: tt.max, lineStart: true}
		_, err := io.ReadAll(d)
		if tt.want == io.EOF && err != nil || tt.want != io.EOF && !errors.Is(err, tt.want) {
			t.Errorf("12-byte message with limit %d: err = %v, want %v", tt.max, err, tt.want)
		}
	}
}

// FuzzDotReader compares the block reader with the byte-at-a-time
// reference on any input, limit and read pattern.
func FuzzDotReader(f *testing.F) {
	for _, s := range dotSeeds {
		f.Add([]byte(s), uint16(1000), uint64(1))
		f.Add([]byte(s), uint16(6), uint64(2))
	}
	f.Fuzz(func(t *testing.T, in []byte, max uint16, seed uint64) {
		checkDotReader(t, in, int64(max), seed)
	})
}

// TestLineConnLines: go-smtp gets at most one line per read, and after
// STARTTLS the bytes as they come.
func TestLineConnLines(t *testing.T) {
	in := "EHLO a\r\nNOOP\r\nSTARTTLS\r\n\x16\x03\x01\nbinary\x00\n"
	lc := newLineConn(&chunkConn{in: []byte(in), rnd: rand.New(rand.NewPCG(3, 3))}, func() {}, time.Minute)
	var reads []string
	buf := make([]byte, 4096)
	for {
		n, err := lc.Read(buf)
		if n > 0 {
			reads = append(reads, string(buf[:n]))
		}
		if err != nil {
			break
		}
	}
	var got bytes.Buffer
	for i, r := range reads {
		got.WriteString(r)
		if got.Len() <= len("EHLO a\r\nNOOP\r\nSTARTTLS\r\n") && bytes.Count([]byte(r), []byte("\n")) > 1 {
			t.Errorf("read %d = %q: more than one line before STARTTLS", i, r)
		}
	}
	if got.String() != in {
		t.Errorf("reads joined = %q, want %q", got.String(), in)
	}
	if !lc.passthrough {
		t.Errorf("STARTTLS not noticed")
	}
}
