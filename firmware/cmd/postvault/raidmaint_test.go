package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// maintArray makes a RAID-level array on n files of 3 MiB with a 16 KiB
// chunk, fills it with random bytes and closes it. It returns the member
// paths, a directory for more, and the volume's contents.
func maintArray(t *testing.T, level, n int) (paths []string, dir string, want []byte) {
	t.Helper()
	paths = raidtest.TempFiles(t, n, 3<<20)
	dir = filepath.Dir(paths[0])
	var ms []raid.Member
	for _, p := range paths {
		m, err := raid.OpenFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	a, err := raid.Create(ms, &raid.CreateOptions{Level: level, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	want = make([]byte, a.Size())
	rand.NewChaCha8([32]byte{9}).Read(want)
	if _, err := a.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return paths, dir, want
}

// runMaint runs `postvault raid ARGS...` in-process through the
// maintenance command table.
func runMaint(t *testing.T, args ...string) (out, errOut string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd, ok := raidMaintCommands()[args[0]]
	if !ok {
		t.Fatalf("no raid command %q", args[0])
	}
	err = cmd(stdio{strings.NewReader(""), &o, &e}, args[1:])
	return o.String(), e.String(), err
}

// volume assembles paths read-only and returns the volume's bytes and
// member states.
func volume(t *testing.T, paths ...string) ([]byte, []raid.MemberState) {
	t.Helper()
	a, err := assemble(paths, &raid.AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := make([]byte, a.Size())
	if _, err := a.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	var st []raid.MemberState
	for _, m := range a.Status().Members {
		st = append(st, m.State)
	}
	return b, st
}

func newBlank(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 3<<20); err != nil {
		t.Fatal(err)
	}
	return p
}

func failMember(t *testing.T, paths []string, victim int) {
	t.Helper()
	ms, err := openMembers(paths, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := raid.Assemble(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Fail(ms[victim]); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRaidAddAndRebuild(t *testing.T) {
	paths, dir, want := maintArray(t, 6, 5)
	failMember(t, paths, 1)
	spare := newBlank(t, dir, "new.img")
	out, _, err := runMaint(t, append([]string{"add", "--member", spare}, paths...)...)
	if err != nil || !strings.Contains(out, "in role 1") {
		t.Fatalf("raid add = %q, %v", out, err)
	}
	members := []string{paths[0], spare, paths[2], paths[3], paths[4]}
	out, errOut, err := runMaint(t, append([]string{"rebuild"}, members...)...)
	if err != nil || !strings.Contains(out, "rebuilt") {
		t.Fatalf("raid rebuild = %q, %v", out, err)
	}
	if !strings.Contains(errOut, "rebuild [") || !strings.Contains(errOut, "100.0%") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
	got, states := volume(t, members...)
	if !bytes.Equal(got, want) {
		t.Error("volume differs after the rebuild")
	}
	for i, s := range states {
		if s != raid.MemberInSync {
			t.Errorf("member %d is %s after the rebuild", i, s)
		}
	}
	out, _, err = runMaint(t, append([]string{"rebuild"}, members...)...)
	if err != nil || !strings.Contains(out, "nothing to rebuild") {
		t.Errorf("second raid rebuild = %q, %v", out, err)
	}
	// a second new member becomes a spare
	spare2 := newBlank(t, dir, "spare.img")
	if out, _, err := runMaint(t, append([]string{"add", "--member", spare2}, members...)...); err != nil || !strings.Contains(out, "hot spare") {
		t.Errorf("raid add to a healthy array = %q, %v", out, err)
	}
}

func TestRaidAddRefusesNonBlank(t *testing.T) {
	paths, dir, _ := maintArray(t, 5, 4)
	other := newBlank(t, dir, "other.img")
	if err := os.WriteFile(other, []byte("a file system, say"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(other, 3<<20)
	_, _, err := runMaint(t, append([]string{"add", "--member", other}, paths...)...)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("raid add of a disk holding data = %v, want a refusal naming --force", err)
	}
	if b, _ := os.ReadFile(other); !bytes.HasPrefix(b, []byte("a file system")) {
		t.Error("the refused disk was written")
	}
	if _, _, err := runMaint(t, append([]string{"add", "--force", "--member", other}, paths...)...); err != nil {
		t.Errorf("raid add --force = %v", err)
	}
	for _, args := range [][]string{{"add"}, {"add", "--member", other}, {"rebuild"}, {"scrub"}, {"replace", "--member", paths[0]}} {
		if _, _, err := runMaint(t, args...); err != errUsage {
			t.Errorf("raid %v = %v, want errUsage", args, err)
		}
	}
}

func TestRaidScrubCLI(t *testing.T) {
	paths, _, want := maintArray(t, 5, 4)
	// flip a byte in the data area of member 2 (data offset is past 1 MiB)
	f, err := os.OpenFile(paths[2], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := assemble(paths, &raid.AssembleOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	off := a.Status().DataOffset + 5*16<<10 + 100
	a.Close()
	b := []byte{0}
	f.ReadAt(b, off)
	f.WriteAt([]byte{b[0] ^ 0x40}, off)
	f.Close()
	out, _, err := runMaint(t, append([]string{"scrub", "--quiet"}, paths...)...)
	if err == nil || !strings.Contains(out, "checksum") || !strings.Contains(out, "1 mismatches, 0 repaired") {
		t.Fatalf("raid scrub = %q, %v; want one mismatch found by checksum and an error", out, err)
	}
	out, _, err = runMaint(t, append([]string{"scrub", "--repair"}, paths...)...)
	if err != nil || !strings.Contains(out, "1 mismatches, 1 repaired") {
		t.Fatalf("raid scrub --repair = %q, %v", out, err)
	}
	out, _, err = runMaint(t, append([]string{"scrub"}, paths...)...)
	if err != nil || !strings.Contains(out, "0 mismatches") {
		t.Fatalf("raid scrub after repair = %q, %v", out, err)
	}
	if got, _ := volume(t, paths...); !bytes.Equal(got, want) {
		t.Error("volume differs after the repair")
	}
}

func TestRaidReplaceCLI(t *testing.T) {
	paths, dir, want := maintArray(t, 5, 4)
	nw := newBlank(t, dir, "new.img")
	out, _, err := runMaint(t, append([]string{"replace", "--quiet", "--member", paths[2], "--with", nw}, paths...)...)
	if err != nil || !strings.Contains(out, "replaced") {
		t.Fatalf("raid replace = %q, %v", out, err)
	}
	members := []string{paths[0], paths[1], nw, paths[3]}
	got, states := volume(t, members...)
	if !bytes.Equal(got, want) {
		t.Error("volume differs after the replace")
	}
	for i, s := range states {
		if s != raid.MemberInSync {
			t.Errorf("member %d is %s", i, s)
		}
	}
	// the old member is out: with it, the array sees it as stale or faulty
	_, states = volume(t, append(members, paths[2])...)
	if len(states) != 5 || states[4] == raid.MemberInSync {
		t.Errorf("states with the old member = %v", states)
	}
}
