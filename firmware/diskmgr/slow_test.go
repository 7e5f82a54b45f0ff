package diskmgr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/raid/raidtest"
	"github.com/postvault/postvault/hal"
	"github.com/postvault/postvault/hal/haltest"
)

// namedFaulty is a fault-injecting member that keeps its file's name.
type namedFaulty struct {
	*raidtest.Faulty
	name string
}

func (n namedFaulty) Name() string { return n.name }

// TestSlowMemberRealLatency: a member whose every I/O takes 30 ms is found
// slow by raid's own latency monitor and its bay goes pfa. raid's slow rule
// is fixed at 10 intervals of 1 s, so this takes over 10 s: it runs only
// with POSTVAULT_EXHAUSTIVE=1 (TestSlowAndFailingMembersArePFA covers the
// mapping every time).
func TestSlowMemberRealLatency(t *testing.T) {
	if os.Getenv("POSTVAULT_EXHAUSTIVE") != "1" {
		t.Skip("takes over 10 s (raid's slow rule); set POSTVAULT_EXHAUSTIVE=1")
	}
	dir := t.TempDir()
	var ms []raid.Member
	var slow *raidtest.Faulty
	for i := 0; i < 4; i++ {
		p := filepath.Join(dir, fmt.Sprintf("disk%d.img", i))
		newFile(t, p)
		f, err := raid.OpenFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fm := raidtest.NewFaulty(f)
		if i == 1 {
			slow = fm
		}
		ms = append(ms, namedFaulty{fm, p})
	}
	a, err := raid.Create(ms, &raid.CreateOptions{Level: 5, Chunk: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	buf := make([]byte, 1<<20)
	if _, err := a.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	board, _, clock := haltest.SimBoard(t)
	mgr, err := New(board, a, &Options{BayOf: devBay, Members: ms, Clock: clock, Interval: time.Hour,
		SMARTInterval: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { mgr.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	mgr.Refresh() // starts latency monitoring
	slow.SetDelay(30 * time.Millisecond)
	deadline := time.Now().Add(40 * time.Second)
	for mgr.Bays()[1].Pattern != hal.PFA {
		if time.Now().After(deadline) {
			t.Fatalf("bay 2 = %s after 40 s of slow I/O, want pfa; latency %v", mgr.Bays()[1].Pattern, a.Latency())
		}
		for off := int64(0); off < 1<<20; off += 64 << 10 {
			a.ReadAt(buf[:64<<10], off)
		}
		mgr.Refresh()
	}
	for _, n := range []int{1, 3, 4} {
		if p := mgr.Bays()[n-1].Pattern; p != hal.Normal {
			t.Errorf("bay %d = %s, want normal", n, p)
		}
	}
	found := false
	for _, e := range mgr.Events() {
		found = found || (e.Bay == 2 && e.What == "member slow: latency far above its peers (predicted failure)")
	}
	if !found {
		t.Errorf("no slow event for bay 2: %v", mgr.Events())
	}
}
