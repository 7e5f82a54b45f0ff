package appliance

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/postvault/postvault/hal"
)

// Damage the store finds (a body that fails its checksum with parity that
// agrees, so the RAID has nothing to rebuild it from) shows on the open
// status page as a count, and by account, mailbox and UID to the admin.
func TestStoreDamageShown(t *testing.T) {
	ap, pw, _ := startWith(t, append([]string{"--dev", t.TempDir()}, onLoopback("http", "imap", "smtp")...)...)
	if err := ap.store.AddUser(context.Background(), "alice@example.org", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(ap.Addrs().SMTP, "alice@example.org", "Subject: x\r\n\r\nROTTEN BODY MARKER\r\n"); err != nil {
		t.Fatal(err)
	}
	// Find the body on the volume and change one byte through the array
	// (data and parity agree: only the store's checksum can tell).
	vol := make([]byte, ap.array.Size())
	if _, err := ap.array.ReadAt(vol, 0); err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(vol, []byte("ROTTEN BODY MARKER"))
	if at < 0 {
		t.Fatal("body not on the volume")
	}
	if _, err := ap.array.WriteAt([]byte("r"), int64(at)); err != nil {
		t.Fatal(err)
	}
	if err := ap.array.Flush(); err != nil {
		t.Fatal(err)
	}

	c, err := imapclient.DialInsecure(ap.Addrs().IMAP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.org", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err == nil && len(msgs) == 1 {
		for _, b := range msgs[0].BodySection {
			if bytes.Contains(b.Bytes, []byte("rOTTEN")) {
				t.Fatal("the damaged body was served as if whole")
			}
		}
	}

	if ap.disks == nil {
		t.Fatal("no disk manager in development mode")
	}
	if err := ap.disks.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := ap.disks.Status(); got != hal.StatusAttention {
		t.Errorf("front status LED %s with store damage, want attention", got)
	}

	base := "http://" + ap.Addrs().HTTP
	if code, body := call(t, "GET", base+"/", "", "", ""); code != http.StatusOK || !strings.Contains(body, `id="damage"`) || strings.Contains(body, "alice@") {
		t.Errorf("status page: %d, damage shown %v, account named %v", code, strings.Contains(body, `id="damage"`), strings.Contains(body, "alice@"))
	}
	if code, _ := call(t, "GET", base+"/api/store/problems", "", "", ""); code != http.StatusUnauthorized {
		t.Errorf("problems without credentials: %d", code)
	}
	code, body := call(t, "GET", base+"/api/store/problems", "admin@example.org", pw, "")
	if code != http.StatusOK || !strings.Contains(body, `"account":"alice@example.org","mailbox":"INBOX","uid":1`) {
		t.Errorf("problems for the admin: %d %s", code, body)
	}
}
