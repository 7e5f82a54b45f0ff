package sata_test

import (
	"context"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/drivers/sata/satatest"
)

type watchRig struct {
	t      *testing.T
	tree   *satatest.Tree
	events *satatest.Events
	got    chan sata.Event
	stop   func()
}

func newWatchRig(t *testing.T, o *sata.WatchOptions) *watchRig {
	tr, err := satatest.NewTree(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.AddController(ich9); err != nil {
		t.Fatal(err)
	}
	r := &watchRig{t: t, tree: tr, events: satatest.NewEvents(), got: make(chan sata.Event, 100)}
	r.add(0, "sda", "pv-boot")
	r.add(1, "sdb", "pv-disk-1")
	s, err := sata.NewScanner(tr.ScanOptions())
	if err != nil {
		t.Fatal(err)
	}
	w, err := sata.NewWatcher(s, r.events, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx, func(e sata.Event) { r.got <- e }) }()
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(r.stop)
	r.expect(sata.Added, "0000:00:1f.2/ata1", "pv-boot", "start")
	r.expect(sata.Added, "0000:00:1f.2/ata2", "pv-disk-1", "start")
	return r
}

func (r *watchRig) add(port int, name, serial string) string {
	dp, err := r.tree.AddDisk(satatest.TreeDisk{Controller: ich9, Index: port, Name: name,
		Minor: 16 * int(name[2]-'a'), Identify: satatest.QEMUIdentify(serial, 1<<21), Rotational: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return dp
}

func (r *watchRig) send(action, devpath string) {
	for _, u := range satatest.DiskUevents(action, devpath) {
		r.events.Send(u)
	}
}

func (r *watchRig) expect(kind sata.EventKind, bay, serial, cause string) sata.Event {
	r.t.Helper()
	select {
	case e := <-r.got:
		if e.Kind != kind || e.Bay != bay || e.Disk.Serial != serial || e.Cause != cause {
			r.t.Fatalf("event = %v %s %s (%s), want %v %s %s (%s)", e.Kind, e.Bay, e.Disk.Serial, e.Cause, kind, bay, serial, cause)
		}
		return e
	case <-time.After(10 * time.Second):
		r.t.Fatalf("no event, want %v %s %s", kind, bay, serial)
	}
	return sata.Event{}
}

func (r *watchRig) quiet(d time.Duration) {
	r.t.Helper()
	select {
	case e := <-r.got:
		r.t.Fatalf("unexpected event %v %s %s (%s)", e.Kind, e.Bay, e.Disk.Serial, e.Cause)
	case <-time.After(d):
	}
}

func TestWatchHotplug(t *testing.T) {
	r := newWatchRig(t, &sata.WatchOptions{Debounce: 30 * time.Millisecond, Rescan: time.Hour})

	// A burst of add uevents gives one Added, after the burst.
	dp := r.add(2, "sdc", "pv-disk-2")
	r.send("add", dp)
	r.send("change", dp)
	r.expect(sata.Added, "0000:00:1f.2/ata3", "pv-disk-2", "debounced")
	r.quiet(100 * time.Millisecond)

	// Pulled: sysfs and the device node are gone before the uevent comes;
	// the event still names bay 3 and the disk that was there.
	if err := r.tree.RemoveDisk("sdc"); err != nil {
		t.Fatal(err)
	}
	r.send("remove", dp)
	e := r.expect(sata.Removed, "0000:00:1f.2/ata3", "pv-disk-2", "uevent")
	if e.Disk.Name != "sdc" || e.Disk.Size != 1<<30 {
		t.Errorf("removed disk = %s %d, want its last identity sdc, 1 GiB", e.Disk.Name, e.Disk.Size)
	}
	r.quiet(100 * time.Millisecond)

	// Put back under another letter: same bay.
	dp = r.add(2, "sdf", "pv-disk-2")
	r.send("add", dp)
	e = r.expect(sata.Added, "0000:00:1f.2/ata3", "pv-disk-2", "debounced")
	if e.Disk.Name != "sdf" {
		t.Errorf("re-added as %s, want sdf", e.Disk.Name)
	}

	// Uninteresting and malformed uevents change nothing.
	r.events.Send(&sata.Uevent{Action: "change", DevPath: "/devices/virtual/net/lo", Subsystem: "net"})
	r.events.SendRaw([]byte("garbage\x00"))
	r.quiet(100 * time.Millisecond)
}

// Without uevents (lost, or none sent) the periodic rescan finds changes,
// including a disk swapped for another in the same bay.
func TestWatchRescan(t *testing.T) {
	r := newWatchRig(t, &sata.WatchOptions{Debounce: 20 * time.Millisecond, Rescan: 50 * time.Millisecond})
	if err := r.tree.RemoveDisk("sdb"); err != nil {
		t.Fatal(err)
	}
	r.add(1, "sdb", "pv-disk-9")
	r.expect(sata.Removed, "0000:00:1f.2/ata2", "pv-disk-1", "rescan")
	r.expect(sata.Added, "0000:00:1f.2/ata2", "pv-disk-9", "rescan")
	// Mounted behind our back: same disk, now in use.
	if err := r.tree.Mount("8:16", "/mnt", "ext4", "/dev/sdb"); err != nil {
		t.Fatal(err)
	}
	if e := r.expect(sata.Changed, "0000:00:1f.2/ata2", "pv-disk-9", "rescan"); !e.Disk.InUse || e.Disk.Available() {
		t.Errorf("changed disk in use %v, available %v; want in use", e.Disk.InUse, e.Disk.Available())
	}
	r.tree.RemoveDisk("sdb")
	r.events.Lose()
	e := <-r.got
	if e.Kind != sata.Removed || e.Bay != "0000:00:1f.2/ata2" {
		t.Errorf("after lost uevents: %v %s, want removed ata2", e.Kind, e.Bay)
	}
}

func TestUeventSocket(t *testing.T) {
	s, err := sata.OpenUevents()
	if err != nil {
		t.Skipf("no uevent socket here: %v", err)
	}
	done := make(chan error)
	go func() {
		_, err := s.Read()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after Close")
	}
}

func TestParseUevent(t *testing.T) {
	raw := "remove@/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdc\x00ACTION=remove\x00" +
		"DEVPATH=/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sdc\x00SUBSYSTEM=block\x00" +
		"MAJOR=8\x00MINOR=32\x00DEVNAME=sdc\x00DEVTYPE=disk\x00DISKSEQ=4\x00SEQNUM=2291\x00"
	u, err := sata.ParseUevent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if u.Action != "remove" || u.Subsystem != "block" || u.DevName != "sdc" || u.DevType != "disk" || u.Seq != 2291 || u.Env["MINOR"] != "32" {
		t.Errorf("ParseUevent = %+v", u)
	}
	for _, bad := range []string{
		"", "add\x00", "libudev\x00\xfe\xed", "add@/x\x00ACTION=remove\x00", "add@/x\x00NOEQUALS\x00",
		"add@/x\x00SEQNUM=zz\x00", "add@/devices/../../etc\x00",
	} {
		if _, err := sata.ParseUevent([]byte(bad)); err == nil {
			t.Errorf("ParseUevent(%q) = nil error", bad)
		}
	}
}

func FuzzParseUevent(f *testing.F) {
	f.Add([]byte("add@/devices/pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0/block/sdb\x00ACTION=add\x00SUBSYSTEM=block\x00DEVNAME=sdb\x00DEVTYPE=disk\x00SEQNUM=1\x00"))
	f.Add([]byte("change@/devices/virtual/block/loop0\x00ACTION=change\x00DEVPATH=/devices/virtual/block/loop0\x00SUBSYSTEM=block\x00DISK_MEDIA_CHANGE=1\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := sata.ParseUevent(b)
		if err != nil {
			return
		}
		v, err := sata.ParseUevent(u.Marshal())
		if err != nil || v.Action != u.Action || v.DevPath != u.DevPath || v.Subsystem != u.Subsystem || v.Seq != u.Seq {
			t.Fatalf("round trip of %q: %+v, %v", b, v, err)
		}
	})
}
