// Package maildir exports a mail store as Maildir folders, the format every
// Unix mail server reads (Dovecot, Courier, Postfix local delivery), for
// `postvault recover`.
//
// The layout under the output directory is one Maildir per account, named
// by the account's address:
//
//	DIR/alice@example.org/{cur,new,tmp}          INBOX
//	DIR/alice@example.org/.Sent/{cur,new,tmp}    Sent (Maildir++ folder)
//	DIR/alice@example.org/.Work.2026/...         Work/2026
//	DIR/alice@example.org/.&BB4EQgRHBFEEQgRL-/... Отчёты
//
// Hierarchy "/" becomes Maildir++'s ".", and a "." inside a name component is
// written as "%2E" ("%" as "%25"), so names map back without loss. Folder
// names are in IMAP's modified UTF-7 (RFC 3501 section 5.1.3), as Dovecot's
// and Courier's Maildir++ folders are by default; Dovecot does not open a
// folder whose directory name is raw UTF-8 unless configured with ":UTF-8".
//
// Every message goes to cur/ as "<internal date>.P<uid>.postvault:2,<info>",
// where info is the sorted Maildir flag letters: D \Draft, F \Flagged,
// P $Forwarded, R \Answered, S \Seen, T \Deleted, then Dovecot's keyword
// letters. Keywords ($Forwarded too) take the letters a to z in the order a
// folder first uses them, written down in that folder's "dovecot-keywords"
// file as lines "<index> <keyword>" (index 0 is a); keywords past the 26th
// of a folder cannot be kept and are reported. The file's modification time
// is the internal date. Each folder gets a dovecot-uidlist (version 3) with
// its UIDVALIDITY, UIDNEXT and every message's UID, so Dovecot keeps the UIDs
// and clients do not download everything again; each account gets a
// Maildir++ "subscriptions" file naming the folders as their directories
// do, without the leading dot.
package maildir

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/postvault/postvault/mail/store"
)

// Stats counts what Export wrote.
type Stats struct {
	Accounts, Folders, Messages int
	Bytes                       int64
	Failed                      int // messages that could not be read (damaged)
}

// FolderName maps a store mailbox name to its Maildir++ folder directory
// ("" for INBOX).
func FolderName(mailbox string) string {
	if mailbox == "INBOX" {
		return ""
	}
	parts := strings.Split(mailbox, "/")
	for i, p := range parts {
		p = strings.ReplaceAll(p, "%", "%25")
		parts[i] = modifiedUTF7(strings.ReplaceAll(p, ".", "%2E"))
	}
	return "." + strings.Join(parts, ".")
}

// utf7Base64 is modified BASE64 (RFC 3501 section 5.1.3): "," for "/", no
// padding.
var utf7Base64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// modifiedUTF7 encodes s as IMAP's modified UTF-7: printable ASCII stays,
// "&" becomes "&-", every run of other characters becomes "&" + modified
// BASE64 of its UTF-16BE + "-".
func modifiedUTF7(s string) string {
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		raw := make([]byte, 0, 2*len(u))
		for _, c := range u {
			raw = append(raw, byte(c>>8), byte(c))
		}
		b.WriteByte('&')
		b.WriteString(utf7Base64.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			run = append(run, r)
			continue
		}
		flush()
		if r == '&' {
			b.WriteString("&-")
		} else {
			b.WriteRune(r)
		}
	}
	flush()
	return b.String()
}

// Info returns the Maildir info letters for a message's flags.
func Info(flags []string) string {
	var b []byte
	for _, f := range flags {
		switch {
		case strings.EqualFold(f, store.FlagDraft):
			b = append(b, 'D')
		case strings.EqualFold(f, store.FlagFlagged):
			b = append(b, 'F')
		case strings.EqualFold(f, "$Forwarded"):
			b = append(b, 'P')
		case strings.EqualFold(f, store.FlagAnswered):
			b = append(b, 'R')
		case strings.EqualFold(f, store.FlagSeen):
			b = append(b, 'S')
		case strings.EqualFold(f, store.FlagDeleted):
			b = append(b, 'T')
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// keywordLetters gives keywords Dovecot's Maildir letters a to z, in the
// order of first use in one folder.
type keywordLetters struct {
	names   []string       // index i is letter 'a'+i
	index   map[string]int // lower-cased keyword to index
	dropped map[string]bool
}

// letters returns the sorted keyword letters for flags, taking new letters
// as needed; keywords past the 26th are remembered as dropped.
func (k *keywordLetters) letters(flags []string) string {
	var b []byte
	for _, f := range flags {
		if strings.HasPrefix(f, `\`) {
			continue // system flags (and \Recent) are not keywords
		}
		key := strings.ToLower(f)
		i, ok := k.index[key]
		if !ok {
			if len(k.names) == 26 {
				if k.dropped == nil {
					k.dropped = map[string]bool{}
				}
				k.dropped[f] = true
				continue
			}
			if k.index == nil {
				k.index = map[string]int{}
			}
			i = len(k.names)
			k.index[key] = i
			k.names = append(k.names, f)
		}
		b = append(b, byte('a'+i))
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// file is the folder's dovecot-keywords file ("" when no keyword is used).
func (k *keywordLetters) file() string {
	var b strings.Builder
	for i, n := range k.names {
		fmt.Fprintf(&b, "%d %s\n", i, n)
	}
	return b.String()
}

func safe(name string) string {
	return strings.NewReplacer("/", "_", "\x00", "_").Replace(name)
}

// Export writes every account of s under dir, which must not hold a
// previous export (existing message files are never overwritten). Messages
// that cannot be read are counted, reported through warn, and skipped.
func Export(ctx context.Context, s *store.Store, dir string, warn func(string)) (Stats, error) {
	var st Stats
	for _, u := range s.Users() {
		a, err := s.Account(u.Name)
		if err != nil {
			return st, err
		}
		root := filepath.Join(dir, safe(u.Name))
		mbs, err := a.Mailboxes()
		if err != nil {
			return st, err
		}
		for _, mb := range mbs {
			if err := exportFolder(ctx, a, mb.Name, filepath.Join(root, FolderName(mb.Name)), &st, warn); err != nil {
				return st, err
			}
			st.Folders++
		}
		subs, _ := a.Subscriptions()
		var b strings.Builder
		for _, n := range subs {
			if n != "INBOX" {
				b.WriteString(strings.TrimPrefix(FolderName(n), ".") + "\n")
			}
		}
		if err := os.WriteFile(filepath.Join(root, "subscriptions"), []byte(b.String()), 0o600); err != nil {
			return st, err
		}
		st.Accounts++
	}
	return st, nil
}

func exportFolder(ctx context.Context, a *store.Account, mailbox, dir string, st *Stats, warn func(string)) error {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	msgs, status, err := a.Messages(mailbox, nil)
	if err != nil {
		return err
	}
	var list strings.Builder
	var kw keywordLetters
	fmt.Fprintf(&list, "3 V%d N%d\n", status.UIDValidity, status.UIDNext)
	for _, m := range msgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := fmt.Sprintf("%d.P%d.postvault", m.InternalDate.Unix(), m.UID)
		name := base + ":2," + Info(m.Flags) + kw.letters(m.Flags)
		n, err := writeMessage(a, mailbox, m, filepath.Join(dir, "cur", name))
		if err != nil {
			if os.IsExist(err) {
				return err
			}
			st.Failed++
			warn(fmt.Sprintf("%s %s UID %d: %v", a.Name(), mailbox, m.UID, err))
			continue
		}
		fmt.Fprintf(&list, "%d :%s\n", m.UID, base)
		st.Messages++
		st.Bytes += n
	}
	if len(kw.dropped) > 0 {
		var names []string
		for n := range kw.dropped {
			names = append(names, n)
		}
		sort.Strings(names)
		warn(fmt.Sprintf("%s %s: Maildir keeps 26 keywords per folder; not kept: %s", a.Name(), mailbox, strings.Join(names, " ")))
	}
	if f := kw.file(); f != "" {
		if err := os.WriteFile(filepath.Join(dir, "dovecot-keywords"), []byte(f), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "dovecot-uidlist"), []byte(list.String()), 0o600)
}

func writeMessage(a *store.Account, mailbox string, m store.Message, path string) (int64, error) {
	b, err := a.Open(mailbox, m.UID)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	n, err := io.Copy(w, b)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return 0, err
	}
	return n, os.Chtimes(path, m.InternalDate, m.InternalDate)
}
