package diskmgr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/haltest"
)

const memberSize = 16 << 20

// rig is a RAID-5 of four file members disk0..disk3.img in a temp dir
// (bays 1-4 of the simulated board), with a running manager.
type rig struct {
	t       *testing.T
	dir     string
	board   *hal.Board
	arr     *raid.Array
	members []raid.Member
	mgr     *Manager
}

func newFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(memberSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// devBay is the development rule: diskN.img is bay N+1.
func devBay(device string) int {
	var n int
	if _, err := fmt.Sscanf(filepath.Base(device), "disk%d.img", &n); err != nil {
		return 0
	}
	return n + 1
}

func newRig(t *testing.T, wrap func(*raid.Array) Array, opts *Options) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir()}
	for i := 0; i < 4; i++ {
		p := filepath.Join(r.dir, fmt.Sprintf("disk%d.img", i))
		newFile(t, p)
		m, err := raid.OpenFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		r.members = append(r.members, m)
	}
	a, err := raid.Create(r.members, &raid.CreateOptions{Level: 5, Chunk: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	r.arr = a
	buf := bytes.Repeat([]byte("postvault disk manager test data "), 1<<15) // ~1 MiB
	if _, err := a.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	board, _, clock := haltest.SimBoard(t)
	r.board = board
	var o Options
	if opts != nil {
		o = *opts
	}
	o.BayOf, o.Members, o.Clock = devBay, r.members, clock
	o.Interval, o.SMARTInterval = time.Hour, -1
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var arr Array = a
	if wrap != nil {
		arr = wrap(a)
	}
	mgr, err := New(board, arr, &o)
	if err != nil {
		t.Fatal(err)
	}
	r.mgr = mgr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { mgr.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		a.StopRebuild()
		a.Close()
	})
	if err := mgr.Refresh(); err != nil {
		t.Fatal(err)
	}
	return r
}

// bay returns bay n as the manager shows it.
func (r *rig) bay(n int) Bay {
	r.t.Helper()
	for _, b := range r.mgr.Bays() {
		if b.Number == n {
			return b
		}
	}
	r.t.Fatalf("no bay %d", n)
	return Bay{}
}

func (r *rig) wantPatterns(want ...hal.Pattern) {
	r.t.Helper()
	st := r.board.State()
	for i, w := range want {
		if got := r.bay(i + 1).Pattern; got != w {
			r.t.Errorf("bay %d: pattern = %s, want %s", i+1, got, w)
		}
		if got := st.Bays[i].Pattern; got != w {
			r.t.Errorf("bay %d: board shows %s, want %s", i+1, got, w)
		}
	}
}

func (r *rig) wantEvent(bay int, substr string) {
	r.t.Helper()
	for _, e := range r.mgr.Events() {
		if (bay < 0 || e.Bay == bay) && strings.Contains(e.What, substr) {
			return
		}
	}
	r.t.Errorf("no event for bay %d containing %q in %v", bay, substr, r.mgr.Events())
}

func (r *rig) waitRebuild() {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, ok := r.arr.RebuildProgress()
		if ok && !p.Running {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("rebuild still running: %+v", p)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHealthyArray(t *testing.T) {
	r := newRig(t, nil, nil)
	r.wantPatterns(hal.Normal, hal.Normal, hal.Normal, hal.Normal, hal.Normal, hal.Normal)
	if got := r.mgr.Status(); got != hal.StatusOK {
		t.Errorf("Status() = %s, want ok", got)
	}
	b := r.bay(3)
	if b.Device != filepath.Join(r.dir, "disk2.img") || b.State != raid.MemberInSync || b.Role != 2 {
		t.Errorf("bay 3 = %+v, want disk2.img in sync in role 2", b)
	}
	if b.Fault == nil || b.Fault.Level {
		t.Errorf("bay 3 fault LED = %+v, want known and off", b.Fault)
	}
	r.wantEvent(0, "array RAID-5, 4 disks, clean")
	r.wantEvent(1, "member in_sync (role 0)")
}

func TestFailedMemberThenBlankDiskRebuilds(t *testing.T) {
	r := newRig(t, nil, &Options{Rebuild: &raid.RebuildOptions{MinRate: 4 << 20, MaxRate: 4 << 20}})
	if err := r.arr.Fail(r.members[1]); err != nil {
		t.Fatal(err)
	}
	r.mgr.Refresh()
	r.wantPatterns(hal.Degraded, hal.Fail, hal.Degraded, hal.Degraded, hal.Normal, hal.Normal)
	if got := r.mgr.Status(); got != hal.StatusAttention {
		t.Errorf("Status() = %s, want attention", got)
	}
	if b := r.bay(2); b.Fault == nil || !b.Fault.Level {
		t.Errorf("bay 2 fault LED = %+v, want on", b.Fault)
	}
	r.wantEvent(2, "member in_sync -> faulty")
	r.wantEvent(0, "array degraded")

	// A blank disk arrives in bay 5: it becomes a member and is rebuilt.
	p := filepath.Join(r.dir, "new.img")
	newFile(t, p)
	r.mgr.Hotplug(sata.Event{Kind: sata.Added, Bay: "0000:00:1f.2/ata5", Cause: "debounced",
		Disk: sata.Disk{Bay: "0000:00:1f.2/ata5", Path: p, Model: "TEST DISK", Serial: "S5", Size: memberSize}})
	r.wantEvent(5, "blank disk added")
	r.wantEvent(0, "rebuild started")
	if got := r.bay(5); got.Pattern != hal.Rebuild && got.Pattern != hal.HotSpare {
		t.Errorf("bay 5 right after the hotplug = %s (%s), want rebuild or hotspare", got.Pattern, got.State)
	}
	if got := r.mgr.Status(); got != hal.StatusAttention {
		t.Errorf("Status() = %s, want attention (bay 2 still failed)", got)
	}
	r.waitRebuild()
	r.mgr.Refresh()
	r.wantPatterns(hal.Normal, hal.Fail, hal.Normal, hal.Normal, hal.Normal, hal.Normal)
	r.wantEvent(0, "rebuild finished")
	r.wantEvent(0, "array clean")
	if st := r.arr.Status(); st.State != raid.StateClean {
		t.Errorf("array state = %s, want clean", st.State)
	}
}

// slowArray reports one device as slow, as raid's latency monitor does
// after sustained slowness (which takes 10 s of I/O with raid's fixed
// defaults; see the report).
type slowArray struct {
	*raid.Array
	slow string
}

func (s *slowArray) Latency() []raid.MemberLatency {
	l := s.Array.Latency()
	for i := range l {
		l[i].Slow = l[i].Device == s.slow
	}
	return l
}

func TestSlowAndFailingMembersArePFA(t *testing.T) {
	var sa *slowArray
	health := func(dev string, _ raid.Member) (sata.Health, error) {
		if filepath.Base(dev) == "disk3.img" {
			return sata.HealthWarning, nil
		}
		return sata.HealthPassed, nil
	}
	r := newRig(t, func(a *raid.Array) Array {
		sa = &slowArray{Array: a}
		return sa
	}, &Options{Health: health})
	sa.slow = filepath.Join(r.dir, "disk1.img")
	r.mgr.Refresh()
	r.wantPatterns(hal.Normal, hal.PFA, hal.Normal, hal.Normal)
	r.wantEvent(2, "member slow")
	if got := r.mgr.Status(); got != hal.StatusAttention {
		t.Errorf("Status() = %s, want attention", got)
	}
	if err := r.mgr.CheckSMART(); err != nil {
		t.Fatal(err)
	}
	r.wantPatterns(hal.Normal, hal.PFA, hal.Normal, hal.PFA)
	r.wantEvent(4, "SMART health warning")
	sa.slow = ""
	r.mgr.Refresh()
	r.wantPatterns(hal.Normal, hal.Normal, hal.Normal, hal.PFA)
	r.wantEvent(2, "no longer slow")
}

func TestPulledMemberIsFailed(t *testing.T) {
	r := newRig(t, nil, nil)
	dev := filepath.Join(r.dir, "disk3.img")
	r.mgr.Hotplug(sata.Event{Kind: sata.Removed, Bay: "0000:00:1f.2/ata4", Cause: "uevent",
		Disk: sata.Disk{Bay: "0000:00:1f.2/ata4", Path: dev, Serial: "S4"}})
	r.wantPatterns(hal.Degraded, hal.Degraded, hal.Degraded, hal.Fail)
	r.wantEvent(4, "member pulled")
	r.wantEvent(4, "pulled member failed in the array")
	if b := r.bay(4); !b.Pulled {
		t.Errorf("bay 4 = %+v, want pulled", b)
	}
	if st := r.arr.Status(); st.State != raid.StateDegraded {
		t.Errorf("array = %s, want degraded", st.State)
	}
}

func TestForeignDiskLeftAlone(t *testing.T) {
	r := newRig(t, nil, nil)
	var other []raid.Member
	for i := 0; i < 3; i++ {
		p := filepath.Join(r.dir, fmt.Sprintf("other%d.img", i))
		newFile(t, p)
		m, err := raid.OpenFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		other = append(other, m)
	}
	oa, err := raid.Create(other, &raid.CreateOptions{Level: 5, Chunk: 64 << 10, Name: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	oa.Close()
	p := filepath.Join(r.dir, "other0.img")
	before := fileSum(t, p)
	r.mgr.Hotplug(sata.Event{Kind: sata.Added, Bay: "0000:00:1f.2/ata6", Cause: "debounced",
		Disk: sata.Disk{Bay: "0000:00:1f.2/ata6", Path: p, Size: memberSize}})
	r.wantEvent(6, "disk of another array")
	if got := fileSum(t, p); got != before {
		t.Error("the foreign disk was written")
	}
	for _, ms := range r.arr.Status().Members {
		if ms.Device == p {
			t.Errorf("foreign disk joined the array: %+v", ms)
		}
	}
	r.wantPatterns(hal.Normal, hal.Normal, hal.Normal, hal.Normal, hal.Normal, hal.Normal)
}

func fileSum(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestLocate(t *testing.T) {
	r := newRig(t, nil, nil)
	if err := r.mgr.SetLocate(3, true); err != nil {
		t.Fatal(err)
	}
	b := r.bay(3)
	if !b.Locate || r.board.State().Bays[2].Pattern != hal.Locate {
		t.Errorf("bay 3 after locate on = %+v, board %s", b, r.board.State().Bays[2].Pattern)
	}
	if b.Pattern != hal.Normal {
		t.Errorf("bay 3 underlying pattern = %s, want normal", b.Pattern)
	}
	if err := r.mgr.SetLocate(3, false); err != nil {
		t.Fatal(err)
	}
	r.wantPatterns(hal.Normal, hal.Normal, hal.Normal)
	r.wantEvent(3, "locate on")
	r.wantEvent(3, "locate off")
	if err := r.mgr.SetLocate(9, true); err == nil {
		t.Error("SetLocate(9) on a six-bay board succeeded")
	}
}

func TestEventRing(t *testing.T) {
	r := newRing(3)
	for i := 1; i <= 5; i++ {
		r.add(Event{Bay: i})
	}
	got := r.events()
	if len(got) != 3 || got[0].Bay != 3 || got[2].Bay != 5 {
		t.Errorf("events() = %+v, want bays 3, 4, 5", got)
	}
}

func TestPatternFor(t *testing.T) {
	tests := []struct {
		name string
		arr  raid.ArrayState
		bay  Bay
		want hal.Pattern
	}{
		{"empty bay", raid.StateDegraded, Bay{}, hal.Normal},
		{"in sync, clean", raid.StateClean, Bay{State: raid.MemberInSync}, hal.Normal},
		{"in sync, degraded", raid.StateDegraded, Bay{State: raid.MemberInSync}, hal.Degraded},
		{"in sync, failed array", raid.StateFailed, Bay{State: raid.MemberInSync}, hal.FailedArray},
		{"faulty", raid.StateDegraded, Bay{State: raid.MemberFaulty}, hal.Fail},
		{"missing", raid.StateDegraded, Bay{State: raid.MemberMissing}, hal.Fail},
		{"pulled", raid.StateClean, Bay{State: raid.MemberInSync, Pulled: true}, hal.Fail},
		{"rebuilding", raid.StateRebuilding, Bay{State: raid.MemberRebuilding}, hal.Rebuild},
		{"spare", raid.StateClean, Bay{State: raid.MemberSpare}, hal.HotSpare},
		{"slow", raid.StateDegraded, Bay{State: raid.MemberInSync, Slow: true}, hal.PFA},
		{"smart failing", raid.StateClean, Bay{State: raid.MemberInSync, Health: sata.HealthFailing}, hal.PFA},
		{"smart passed", raid.StateClean, Bay{State: raid.MemberInSync, Health: sata.HealthPassed}, hal.Normal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PatternFor(tt.arr, &tt.bay); got != tt.want {
				t.Errorf("PatternFor(%s, %+v) = %s, want %s", tt.arr, tt.bay, got, tt.want)
			}
		})
	}
}

func TestFrontStatus(t *testing.T) {
	ok := []Bay{{Pattern: hal.Normal}, {Pattern: hal.Rebuild}, {Pattern: hal.HotSpare}}
	tests := []struct {
		name string
		arr  raid.ArrayState
		job  bool
		bays []Bay
		want hal.Status
	}{
		{"healthy", raid.StateClean, false, ok, hal.StatusOK},
		{"rebuilding", raid.StateRebuilding, true, ok, hal.StatusBusy},
		{"scrubbing", raid.StateClean, true, ok, hal.StatusBusy},
		{"degraded", raid.StateDegraded, false, ok, hal.StatusAttention},
		{"failed", raid.StateFailed, false, ok, hal.StatusAttention},
		{"a bay failed, rebuilding", raid.StateRebuilding, true, append(ok, Bay{Pattern: hal.Fail}), hal.StatusAttention},
		{"a bay pfa", raid.StateClean, false, append(ok, Bay{Pattern: hal.PFA}), hal.StatusAttention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FrontStatus(tt.arr, tt.job, tt.bays); got != tt.want {
				t.Errorf("FrontStatus(%s, %v, ...) = %s, want %s", tt.arr, tt.job, got, tt.want)
			}
		})
	}
}

// Something beside the disks that needs the admin (the appliance passes
// "the mail store found damage") turns the front LED to attention while
// it lasts, with every bay still normal.
func TestAttentionFromOutside(t *testing.T) {
	var mu sync.Mutex
	damage := false
	r := newRig(t, nil, &Options{Attention: func() bool { mu.Lock(); defer mu.Unlock(); return damage }})
	if got := r.mgr.Status(); got != hal.StatusOK {
		t.Fatalf("Status() = %s before any damage, want ok", got)
	}
	mu.Lock()
	damage = true
	mu.Unlock()
	if err := r.mgr.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := r.mgr.Status(); got != hal.StatusAttention {
		t.Errorf("Status() = %s with store damage, want attention", got)
	}
	r.wantPatterns(hal.Normal, hal.Normal, hal.Normal, hal.Normal, hal.Normal, hal.Normal)
}
