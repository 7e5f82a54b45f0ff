package pop3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// A big message goes from the store to the client without being held whole.
func TestRetrBoundedMemory(t *testing.T) {
	size := 32 << 20
	if raceEnabled {
		size = 8 << 20
	}
	seg := &store.CreateOptions{SegmentSize: int64(size) + 8<<20} // one segment: see bigSegments
	st := openStoreSized(t, filepath.Join(t.TempDir(), "vol.img"), true, 6*seg.SegmentSize, seg)
	defer st.Close()
	st.AddUser(context.Background(), "alice@example.org", "pw")
	line := []byte("Большое письмо: строка текста, 0123456789.\r\n")
	r := io.LimitReader(&repeatReader{line: line}, int64(size))
	res, err := st.Deliver(context.Background(), []store.Delivery{{Recipient: "alice@example.org"}}, time.Now(),
		io.MultiReader(bytes.NewReader([]byte("Subject: big\r\n\r\n")), r))
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	e := newStoreEnv(t, st)
	c := e.dial(t)
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.org\x00pw"), "+OK")
	stop := storetest.HeapPeak()
	c.cmd("RETR 1", fmt.Sprintf("+OK %d octets", size+16))
	n := 0
	for {
		l := c.line()
		if l == "." {
			break
		}
		n += len(l) + 2
	}
	grown := stop()
	if n < size {
		t.Fatalf("RETR sent %d bytes, want about %d", n, size)
	}
	// Store chunks (256 KiB) and buffers, not the message.
	if grown > 6<<20 {
		t.Errorf("heap grew by %d MiB while sending a %d MiB message", grown>>20, size>>20)
	}
	t.Logf("heap peak growth %d KiB for a %d MiB message", grown>>10, size>>20)
}

type repeatReader struct {
	line []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.line[r.off:])
		n += k
		r.off = (r.off + k) % len(r.line)
	}
	return n, nil
}
