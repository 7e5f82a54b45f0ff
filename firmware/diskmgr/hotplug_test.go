package diskmgr

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/haltest"
)

// The simulated board's bays 1-6 are the ports of this controller.
var ich9 = satatest.Controller{Path: "pci0000:00/0000:00:1f.2", FirstPort: 1, Ports: 6, FirstHost: 0}

// eventually waits, in short steps, until ok holds.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBoxHotplug runs the manager as on the box: disks found in a sysfs
// tree by sata's Watcher (fed uevents), opened with sata.OpenDisk (device
// nodes are files here), placed in bays by their port keys.
func TestBoxHotplug(t *testing.T) {
	dir := t.TempDir()
	tree, err := satatest.NewTree(filepath.Join(dir, "tree"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.AddController(ich9); err != nil {
		t.Fatal(err)
	}
	devDir := filepath.Join(dir, "dev")
	os.Mkdir(devDir, 0o755)
	addDisk := func(i int, name string) string {
		newFile(t, filepath.Join(devDir, name))
		dp, err := tree.AddDisk(satatest.TreeDisk{Controller: ich9, Index: i, Name: name,
			Minor: 16 * int(name[2]-'a'), Identify: satatest.QEMUIdentify("pv-"+name, memberSize/512)})
		if err != nil {
			t.Fatal(err)
		}
		return dp
	}
	var ms []raid.Member
	var devpaths []string
	for i, name := range []string{"sda", "sdb", "sdc", "sdd"} {
		devpaths = append(devpaths, addDisk(i, name))
		d, err := sata.OpenDisk(filepath.Join(devDir, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, d)
	}
	a, err := raid.Create(ms, &raid.CreateOptions{Level: 5, Chunk: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteAt([]byte(strings.Repeat("mail ", 100<<10)), 0); err != nil {
		t.Fatal(err)
	}
	board, _, clock := haltest.SimBoard(t)
	mgr, err := New(board, a, &Options{Members: ms, Clock: clock, Interval: time.Hour, SMARTInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	so := tree.ScanOptions()
	so.Dev = devDir
	sc, err := sata.NewScanner(so)
	if err != nil {
		t.Fatal(err)
	}
	events := satatest.NewEvents()
	w, err := sata.NewWatcher(sc, events, &sata.WatchOptions{Debounce: 20 * time.Millisecond, Rescan: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { mgr.Run(ctx); done <- struct{}{} }()
	go func() { w.Run(ctx, mgr.Hotplug); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		a.StopRebuild()
		a.Close()
	})
	bay := func(n int) Bay { return mgr.Bays()[n-1] }
	send := func(action, dp string) {
		for _, u := range satatest.DiskUevents(action, dp) {
			events.Send(u)
		}
	}

	eventually(t, "the four members in bays 1-4", func() bool {
		for n := 1; n <= 4; n++ {
			if bay(n).State != raid.MemberInSync {
				return false
			}
		}
		return true
	})
	if got, want := bay(2).Device, filepath.Join(devDir, "sdb"); got != want {
		t.Errorf("bay 2 device = %s, want %s", got, want)
	}

	// Pull the disk in bay 2.
	if err := tree.RemoveDisk("sdb"); err != nil {
		t.Fatal(err)
	}
	send("remove", devpaths[1])
	eventually(t, "bay 2 to fail", func() bool { return bay(2).Pattern == hal.Fail })
	if st := a.Status(); st.State != raid.StateDegraded {
		t.Errorf("array after the pull = %s, want degraded", st.State)
	}
	if p := bay(1).Pattern; p != hal.Degraded {
		t.Errorf("bay 1 = %s, want degraded", p)
	}

	// Put back in bay 2 (under a new name, as the kernel does), the pulled
	// disk is a stale member: it is left alone, not written.
	old, err := os.ReadFile(filepath.Join(devDir, "sdb"))
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(devDir, "sdf")
	if err := os.WriteFile(stale, old, 0o644); err != nil {
		t.Fatal(err)
	}
	dp, err := tree.AddDisk(satatest.TreeDisk{Controller: ich9, Index: 1, Name: "sdf", Minor: 80,
		Identify: satatest.QEMUIdentify("pv-sdb", memberSize/512)})
	if err != nil {
		t.Fatal(err)
	}
	send("add", dp)
	eventually(t, "the stale member to be noticed", func() bool {
		for _, e := range mgr.Events() {
			if e.Bay == 2 && strings.Contains(e.What, "former member of this array") {
				return true
			}
		}
		return false
	})
	if now, _ := os.ReadFile(stale); !bytes.Equal(now, old) {
		t.Error("the stale member was written")
	}
	if p := bay(2).Pattern; p != hal.Fail {
		t.Errorf("bay 2 with the stale disk = %s, want fail", p)
	}

	// A blank disk in bay 5 becomes the new member and is rebuilt.
	send("add", addDisk(4, "sde"))
	eventually(t, "the blank disk to join", func() bool {
		return bay(5).State == raid.MemberRebuilding || bay(5).State == raid.MemberInSync
	})
	eventually(t, "the rebuild to end", func() bool {
		p, ok := a.RebuildProgress()
		return ok && !p.Running
	})
	mgr.Refresh()
	for n, want := range []hal.Pattern{hal.Normal, hal.Fail, hal.Normal, hal.Normal, hal.Normal, hal.Normal} {
		if got := bay(n + 1).Pattern; got != want {
			t.Errorf("bay %d = %s, want %s", n+1, got, want)
		}
	}
	if st := a.Status(); st.State != raid.StateClean {
		t.Errorf("array after the rebuild = %s, want clean", st.State)
	}
	var log []string
	for _, e := range mgr.Events() {
		log = append(log, e.What)
	}
	all := strings.Join(log, "\n")
	for _, want := range []string{"member pulled", "pulled member failed in the array", "disk added", "blank disk added", "rebuild finished"} {
		if !strings.Contains(all, want) {
			t.Errorf("event log lacks %q:\n%s", want, all)
		}
	}
}
