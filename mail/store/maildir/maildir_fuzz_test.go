package maildir_test

import (
	"strings"
	"testing"

	"github.com/postvault/postvault/mail/store/maildir"
)

// FolderName gives every mailbox name a directory name of printable ASCII
// with one Maildir++ "." per hierarchy level and never a "/".
func FuzzFolderName(f *testing.F) {
	for _, s := range []string{"Sent", "Work/2026", "v1.2", "Отчёты/2026", "台北/日本語", "R&D", "😀 ok", "a%2Eb", "&-", "\x00/\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, mailbox string) {
		if mailbox == "INBOX" {
			return
		}
		got := maildir.FolderName(mailbox)
		if !strings.HasPrefix(got, ".") || strings.Count(got, ".") != strings.Count(mailbox, "/")+1 {
			t.Fatalf("FolderName(%q) = %q: want one dot per level", mailbox, got)
		}
		for _, r := range got {
			if r < 0x20 || r > 0x7e || r == '/' {
				t.Fatalf("FolderName(%q) = %q: holds %q", mailbox, got, r)
			}
		}
	})
}
