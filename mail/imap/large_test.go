package imap_test

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/store/storetest"
)

// patternReader yields size bytes of a message without holding them.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
	n := 0
	for n < len(b) && p.left > 0 {
		k := copy(b[n:], line[:min(int64(len(line)), p.left)])
		n += k
		p.left -= int64(k)
	}
	return n, nil
}

// A 50 MiB message goes in by APPEND and out by FETCH in streams: FETCH
// never holds a copy of it in the heap.
func TestLargeMessageStreams(t *testing.T) {
	const size = 50 << 20
	e := newEnv(t, nil)
	r := e.rawLogin(alice)
	header := "Subject: big\r\n\r\n"
	stop := storetest.HeapPeak()
	tag := r.send("APPEND INBOX {%d}", size)
	if l := r.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND = %q", l)
	}
	w := bufio.NewWriter(r.c)
	io.WriteString(w, header)
	io.Copy(w, &patternReader{left: size - int64(len(header))})
	io.WriteString(w, "\r\n")
	w.Flush()
	if _, st := r.wait(tag); !strings.HasPrefix(st, "OK") {
		t.Fatalf("APPEND of 50 MiB = %q", st)
	}
	// The APPEND side is the store's: its readBody keeps every chunk
	// until the whole message is durable (reported to the store's owner),
	// so only the FETCH side is held to the bound here.
	t.Logf("heap peak during APPEND: %d KiB", stop()>>10)
	stop = storetest.HeapPeak()
	r.ok("SELECT INBOX")
	tag = r.send("FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT]<1000.10> BODYSTRUCTURE)")
	l, err := r.br.ReadString('\n')
	if err != nil || !strings.HasSuffix(l, fmt.Sprintf("BODY[] {%d}\r\n", size)) {
		t.Fatalf("FETCH = %q, %v", l, err)
	}
	if n, err := io.CopyN(io.Discard, r.br, size); n != size || err != nil {
		t.Fatalf("read %d bytes of the literal, %v", n, err)
	}
	u, st := r.wait(tag)
	peak := stop()
	if !strings.HasPrefix(st, "OK") || !strings.Contains(strings.Join(u, ""), "BODY[TEXT]<1000> {10}\r\n") {
		t.Errorf("FETCH tail = %q %q", u, st)
	}
	t.Logf("heap peak during FETCH: %d KiB", peak>>10)
	if peak > size/2 {
		t.Errorf("heap grew by %d MiB while a %d MiB message went in and out", peak>>20, size>>20)
	}
}
