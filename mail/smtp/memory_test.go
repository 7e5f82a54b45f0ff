package smtp_test

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// DATA streams into the store: the intake holds no copy of a big message
// of its own. What it may add is compared with store.Deliver reading the
// same size from a generator in the same run: as of 2026-11-28 the store
// itself keeps every 256 KiB chunk of a message until the delivery commits
// (reported to its owner), so an absolute bound would test the store.
func TestDataBoundedMemory(t *testing.T) {
	size := 32 << 20
	if raceEnabled {
		size = 8 << 20
	}
	path := filepath.Join(t.TempDir(), "vol.img")
	seg := 2*int64(size) + 8<<20 // the whole test in one segment: see bigSegments
	v, err := openFileVolume(path, 5*seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Create(v, &store.CreateOptions{SegmentSize: seg}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	st := openStore(t, path, false, cheap)
	defer st.Close()
	st.AddUser(context.Background(), "alice@example.org", "pw")
	e := serveStore(t, smtp.NewStoreBackend(st), true)
	c := e.hello(t, true)
	c.cmd("MAIL FROM:<s@example.com>", "250 ")
	c.cmd("RCPT TO:<alice@example.org>", "250 ")
	stop := storetest.HeapPeak()
	if _, err := st.Deliver(context.Background(), []store.Delivery{{Recipient: "alice@example.org"}}, time.Now(), &genReader{n: size}); err != nil {
		t.Fatal(err)
	}
	storeGrown := stop()
	c.cmd("DATA", "354")
	stop = storetest.HeapPeak()
	w := bufio.NewWriter(c.nc)
	w.WriteString("Subject: big\r\n\r\n")
	line := "Большое письмо: строка текста, 0123456789.\r\n"
	for n := 0; n < size; n += len(line) {
		w.WriteString(line)
	}
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	c.expect("250 2.0.0 <alice@example.org>")
	grown := stop()
	a, _ := st.Account("alice@example.org")
	msgs, _, err := a.Messages("INBOX", nil)
	if err != nil || len(msgs) != 2 || msgs[1].Size < int64(size) {
		t.Fatalf("INBOX = %v, %v; want a second message of over %d bytes", msgs, err, size)
	}
	if grown > storeGrown+8<<20 {
		t.Errorf("heap grew by %d MiB taking a %d MiB message over LMTP, %d MiB in store.Deliver alone", grown>>20, size>>20, storeGrown>>20)
	}
	t.Logf("heap peak growth for a %d MiB message: %d KiB over LMTP, %d KiB in store.Deliver alone", size>>20, grown>>10, storeGrown>>10)
}

// genReader yields n bytes of text lines.
type genReader struct{ n int }

func (g *genReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), g.n)
	for i := range p[:k] {
		p[i] = 'x'
		if i%70 == 69 {
			p[i] = '\n'
		}
	}
	g.n -= k
	return k, nil
}
