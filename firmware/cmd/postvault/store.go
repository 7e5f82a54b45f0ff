package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/firmware/appliance"
	"github.com/postvault/postvault/mail/store"
	"github.com/postvault/postvault/mail/store/maildir"
)

// The account, alias, delivery, store and recovery commands. Each opens the
// array from its member paths (any order), opens the store on it, does one
// thing and closes both. Passwords are read from standard input, never from
// arguments.

// storeFlags returns a flag set whose usage line is "postvault cmd usage".
func storeFlags(io stdio, cmd, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() {
		fmt.Fprintf(io.err, "usage: postvault %s %s\n", cmd, usage)
		fs.PrintDefaults()
	}
	return fs
}

// storeArgs parses flags mixed with positional arguments; with a wrong
// count of positionals (fewer than min) it prints the usage.
func storeArgs(fs *flag.FlagSet, args []string, min int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errUsage
			}
			return nil, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < min {
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

// openedStore is a store on an assembled array.
type openedStore struct {
	*store.Store
	arr *raid.Array
}

// openStore assembles the members and opens the store on the array. With
// create, a blank array (no store yet) is formatted first. The logger
// writes to standard error. A read-only open refuses members that a writer
// (a running serve) holds: their log changes under a reader.
func openStore(io stdio, paths []string, readOnly, create bool) (*openedStore, error) {
	return openStoreSalvage(io, paths, readOnly, create, false)
}

// openStoreSalvage is openStore that, read-only and with salvage, opens a
// store whose superblocks or checkpoints are unreadable from what its log
// holds (store.Options.Salvage).
func openStoreSalvage(io stdio, paths []string, readOnly, create, salvage bool) (*openedStore, error) {
	if readOnly {
		if err := checkNoWriter(paths); err != nil {
			return nil, err
		}
	}
	var ms []raid.Member
	for _, p := range paths {
		f, err := raid.OpenFile(p, readOnly)
		if err != nil {
			for _, m := range ms {
				m.Close()
			}
			return nil, err
		}
		ms = append(ms, f)
	}
	arr, err := raid.Assemble(ms, &raid.AssembleOptions{ReadOnly: readOnly})
	if err != nil {
		for _, m := range ms {
			m.Close()
		}
		return nil, err
	}
	opts := &store.Options{ReadOnly: readOnly, Salvage: salvage, CheckpointInterval: -1, CompactWhenFree: -1,
		Logger: slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	s, err := store.Open(arr, opts)
	if errors.Is(err, store.ErrNotFormatted) && create {
		if err = store.CreateSafe(arr, nil); err == nil {
			fmt.Fprintln(io.err, "postvault: the array held no mail store; formatted a new one")
			s, err = store.Open(arr, opts)
		}
	}
	if err != nil {
		arr.Close()
		if errors.Is(err, store.ErrNotFormatted) && !salvage && !create {
			err = fmt.Errorf("%w (if it held one whose superblocks were overwritten: `postvault store repair` rewrites them from the log, `postvault recover --out DIR` exports its mail)", err)
		}
		return nil, err
	}
	return &openedStore{s, arr}, nil
}

// readPassword reads the first line of standard input.
func readPassword(in io.Reader) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

func userMain(io stdio, args []string) error {
	const usage = "add|passwd|del|disable|enable NAME PATH...  |  quota NAME SIZE PATH...  |  list PATH...  (passwords on standard input)"
	fs := storeFlags(io, "user", usage)
	pos, err := storeArgs(fs, args, 2)
	if err != nil {
		return err
	}
	ctx := context.Background()
	verb := pos[0]
	if verb == "list" {
		s, err := openStore(io, pos[1:], true, false)
		if err != nil {
			return err
		}
		defer s.Close()
		for _, u := range s.Users() {
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(io.out, "%s\t%d messages\t%d bytes\tquota %d\t%s\n", u.Name, u.Messages, u.Usage, u.Quota, state)
		}
		return nil
	}
	members := 2
	if verb == "quota" {
		members = 3 // NAME SIZE
	}
	if len(pos) <= members || !slices.Contains([]string{"add", "passwd", "del", "disable", "enable", "quota"}, verb) {
		fs.Usage()
		return errUsage
	}
	name := pos[1]
	var pw string
	var quota int64
	switch verb {
	case "add", "passwd":
		if pw, err = readPassword(io.in); err != nil {
			return err
		}
	case "quota":
		if quota, err = parseQuota(pos[2]); err != nil {
			return err
		}
	}
	s, err := openStore(io, pos[members:], false, verb == "add")
	if err != nil {
		return err
	}
	switch verb {
	case "add":
		err = s.AddUser(ctx, name, pw)
	case "passwd":
		err = s.SetPassword(ctx, name, pw)
	case "del":
		err = s.DelUser(ctx, name)
	case "disable", "enable":
		err = s.SetDisabled(ctx, name, verb == "disable")
	case "quota":
		err = s.SetQuota(ctx, name, quota)
	}
	if err != nil {
		err = fmt.Errorf("%s %s: %w", verb, name, err) // "add alice@example.org: store: user exists"
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// parseQuota reads a quota: a size, or 0 or "none" for no limit.
var parseQuota = appliance.ParseQuota

func aliasMain(io stdio, args []string) error {
	fs := storeFlags(io, "alias", "add|del ADDRESS NAME PATH...")
	pos, err := storeArgs(fs, args, 4)
	if err != nil {
		return err
	}
	verb, addr, name := pos[0], pos[1], pos[2]
	if verb != "add" && verb != "del" {
		fs.Usage()
		return errUsage
	}
	s, err := openStore(io, pos[3:], false, false)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if verb == "add" {
		err = s.AddAlias(ctx, addr, name)
	} else {
		err = delAlias(ctx, s.Store, addr, name)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// delAlias removes addr only if it points to name.
func delAlias(ctx context.Context, s *store.Store, addr, name string) error {
	for _, a := range s.Aliases() {
		if strings.EqualFold(a.Address, addr) {
			if !strings.EqualFold(a.Account, name) {
				return fmt.Errorf("alias %s belongs to %s, not %s", a.Address, a.Account, name)
			}
			return s.DelAlias(ctx, addr)
		}
	}
	return store.ErrNoSuchAlias
}

func deliverMain(io stdio, args []string) error {
	fs := storeFlags(io, "deliver", "--to ADDRESS [--mailbox NAME] PATH... < message")
	to := fs.String("to", "", "recipient address (aliases are resolved)")
	mbox := fs.String("mailbox", "", "mailbox to deliver into (default INBOX; INBOX if it does not exist)")
	pos, err := storeArgs(fs, args, 1)
	if err == nil && *to == "" {
		fs.Usage()
		err = errUsage
	}
	if err != nil {
		// An MTA bounces the message on any code but 75: a mistyped
		// command line in its configuration must defer mail, not lose it.
		return &exitError{exTempFail, errors.New("bad usage (see above); exit 75 so that the mail system keeps the message and tries again")}
	}
	s, err := openStore(io, pos, false, false)
	if err != nil {
		return deliveryExit(err)
	}
	res, err := s.Deliver(context.Background(), []store.Delivery{{Recipient: *to, Mailbox: *mbox}}, time.Now(), io.in)
	if err == nil && res[0].Err != nil {
		err = res[0].Err
	}
	if err == nil {
		fmt.Fprintf(io.out, "delivered to %s %s UID %d\n", res[0].Account, res[0].Mailbox, res[0].UID)
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return deliveryExit(err)
}

// deliveryExit gives a delivery error the exit code a mail transfer agent
// acts on: an address that is not ours bounces (67), anything else (a full
// or locked store, an I/O error, a quota) is tried again later (75). Nothing
// was stored in either case.
func deliveryExit(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNoSuchUser), errors.Is(err, store.ErrNotHosted), errors.Is(err, store.ErrDisabled):
		return &exitError{exNoUser, err}
	}
	return &exitError{exTempFail, err}
}

func storeMain(io stdio, args []string) error {
	fs := storeFlags(io, "store", "check|stats|compact|repair PATH...  |  "+settingsUsage)
	pos, err := storeArgs(fs, args, 2)
	if err != nil {
		return err
	}
	if ok, err := settingsVerb(io, pos); ok {
		if err == errUsage {
			fs.Usage()
		}
		return err
	}
	ctx := context.Background()
	switch pos[0] {
	case "check":
		s, err := openStore(io, pos[1:], true, false)
		if err != nil {
			return err
		}
		defer s.Close()
		found, err := s.Check(ctx)
		if err != nil {
			return err
		}
		probs := append(s.Problems(), found...)
		for _, p := range probs {
			fmt.Fprintf(io.out, "damage at %d (seq %d): %s %s UID %d: %s\n", p.Offset, p.Seq, p.Account, p.Mailbox, p.UID, p.Detail)
		}
		st := s.Stats()
		if len(probs) > 0 {
			return fmt.Errorf("%d problems in %d messages", len(probs), st.Messages)
		}
		fmt.Fprintf(io.out, "ok: %d accounts, %d mailboxes, %d messages verified\n", st.Accounts, st.Mailboxes, st.Messages)
		return nil
	case "stats":
		s, err := openStore(io, pos[1:], true, false)
		if err != nil {
			return err
		}
		defer s.Close()
		printStats(io.out, s.Stats())
		return nil
	case "compact":
		s, err := openStore(io, pos[1:], false, false)
		if err != nil {
			return err
		}
		cs, err := s.Compact(ctx)
		if err == nil {
			fmt.Fprintf(io.out, "moved %d bytes, freed %d segments (%d bytes)\n", cs.BytesMoved, cs.SegmentsFreed, cs.BytesFreed)
		}
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		return err
	case "repair":
		// A store that opens needs nothing; one whose superblocks or
		// checkpoints are unreadable is salvaged from its log and its
		// superblock written again (store.Options.Salvage).
		s, err := openStoreSalvage(io, pos[1:], false, false, true)
		if err != nil {
			return err
		}
		if !s.Salvaged() {
			fmt.Fprintln(io.out, "the store opens from its superblock: nothing to repair")
			return s.Close()
		}
		for _, p := range s.Problems() {
			fmt.Fprintf(io.out, "found: %s\n", p.Detail)
		}
		st := s.Stats()
		if err := s.Close(); err != nil {
			return err
		}
		fmt.Fprintf(io.out, "repaired: %d accounts, %d messages; the store opens normally again\n", st.Accounts, st.Messages)
		return nil
	}
	fs.Usage()
	return errUsage
}

func printStats(w io.Writer, st store.Stats) {
	fmt.Fprintf(w, "volume\t%d bytes, %d segments of %d bytes, %d free\n", st.VolumeBytes, st.Segments, st.SegmentSize, st.FreeSegments)
	fmt.Fprintf(w, "log\t%d bytes in use, %d live\n", st.LogBytes, st.LiveBytes)
	fmt.Fprintf(w, "mail\t%d accounts, %d mailboxes, %d messages, %d bodies\n", st.Accounts, st.Mailboxes, st.Messages, st.Blobs)
	fmt.Fprintf(w, "open\t%v, %d records replayed after the checkpoint (seq %d), next seq %d\n", st.OpenDuration, st.OpenReplayed, st.CheckpointSeq, st.NextSeq)
	fmt.Fprintf(w, "damage\t%d problems\n", st.Problems)
}

func recoverMain(io stdio, args []string) error {
	fs := storeFlags(io, "recover", "--out DIR PATH...")
	out := fs.String("out", "", "directory to write the Maildir export into (created; must not hold an export)")
	pos, err := storeArgs(fs, args, 1)
	if err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return errUsage
	}
	if ents, err := os.ReadDir(*out); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty: give a new or empty directory (an export never overwrites)", *out)
	}
	s, err := openStoreSalvage(io, pos, true, false, true)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	for _, p := range s.Problems() {
		if p.Account == "" {
			fmt.Fprintf(io.err, "damage: %s\n", p.Detail)
			continue
		}
		fmt.Fprintf(io.err, "damage: %s %s UID %d: %s\n", p.Account, p.Mailbox, p.UID, p.Detail)
	}
	st, err := maildir.Export(context.Background(), s.Store, *out, func(w string) { fmt.Fprintln(io.err, "skipped:", w) })
	fmt.Fprintf(io.out, "exported %d accounts, %d folders, %d messages (%d bytes) to %s\n", st.Accounts, st.Folders, st.Messages, st.Bytes, *out)
	if err == nil && st.Failed > 0 {
		err = fmt.Errorf("%d messages could not be read (see above)", st.Failed)
	}
	return err
}
