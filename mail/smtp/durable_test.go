package smtp_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/smtp"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/storetest"
)

// freshImage returns a store image with alice@example.org.
func freshImage(t *testing.T) []byte {
	t.Helper()
	v := storetest.NewMem(8<<20, 0)
	if err := store.Create(v, &store.CreateOptions{SegmentSize: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	o := cheap
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(v, &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddUser(context.Background(), "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return v.Image()
}

func openImage(t *testing.T, v store.Volume) *store.Store {
	t.Helper()
	o := cheap
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(v, &o)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// 250 means durable: whenever the power goes, every message answered 250
// is in the store afterwards, and no delivery was answered 5xx.
func TestPowerCutAfter250(t *testing.T) {
	img := freshImage(t)
	cuts := []int{0, 9, 25} // 0: no cut
	if os.Getenv("POSTVAULT_EXHAUSTIVE") == "1" {
		for i := 1; i <= 80; i++ {
			cuts = append(cuts, i)
		}
	}
	for _, cutAt := range cuts {
		t.Run(fmt.Sprint("cut at write ", cutAt), func(t *testing.T) {
			pc := storetest.NewPowerCut(img, 0, cutAt, uint64(cutAt))
			st := openImage(t, pc)
			e := serveStore(t, smtp.NewStoreBackend(st), false)
			c := e.hello(t, false)
			var acked []string
			for i := 0; i < 12; i++ {
				subject := fmt.Sprintf("Subject: письмо %d", i)
				c.cmd("MAIL FROM:<s@example.com>", "250 ")
				c.cmd("RCPT TO:<alice@example.org>", "")
				c.data(subject + "\r\n\r\n" + strings.Repeat("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 25*i))
				switch r := c.reply(); r[0] {
				case '2':
					acked = append(acked, subject)
				case '4':
				default:
					t.Fatalf("delivery %d answered %q, want 2xx or 4xx", i, r)
				}
				if pc.Cut() {
					break
				}
			}
			if cutAt == 0 && len(acked) != 12 {
				t.Fatalf("without a power cut %d of 12 were acknowledged", len(acked))
			}
			after := openImage(t, storetest.NewMemFrom(pc.Durable(), 0))
			defer after.Close()
			got := strings.Join(inbox(t, after, "alice@example.org"), "\n")
			for _, s := range acked {
				if !strings.Contains(got, s+"\r\n") {
					t.Errorf("%q was answered 250 but is not in the store after the power cut", s)
				}
			}
		})
	}
}
