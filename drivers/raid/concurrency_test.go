package raid

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// TestConcurrentWriters has goroutines write disjoint ranges that share
// stripes, with readers and flushes alongside, then checks every byte.
func TestConcurrentWriters(t *testing.T) {
	ms := memMembers(5, 3<<20)
	a, err := Create(ms, &CreateOptions{Level: 6, Chunk: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := writeDisjoint(t, a, 4, 20, 3, func(r *rand.Rand, i int) {
		if i%7 == 0 {
			if err := a.Flush(); err != nil {
				t.Error(err)
			}
		}
		if _, err := a.ReadAt(make([]byte, 10000), r.Int64N(a.Size()-10000)); err != nil {
			t.Error(err)
		}
	})
	if got := mustRead(t, a, 0, int(a.Size())); !bytes.Equal(got, want) {
		t.Fatal("volume differs after concurrent writes")
	}
}

// writeDisjoint runs workers goroutines, each writing writes random 4 KiB
// pieces at offsets of its own (interleaved, so that neighbours share
// stripes) and calling after (if set) after each write; it returns what the
// volume must hold.
func writeDisjoint(t *testing.T, a *Array, workers, writes int, seed uint64, after func(r *rand.Rand, i int)) []byte {
	t.Helper()
	slice := a.Size() / int64(workers) / 4096 * 4096
	want := make([]byte, a.Size())
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), seed))
			for i := range writes {
				off := (int64(r.IntN(int(slice/4096/int64(workers))))*int64(workers) + int64(w)) * 4096
				b := randBytes(r, 4096)
				if _, err := a.WriteAt(b, off); err != nil {
					t.Error(err)
					return
				}
				copy(want[off:], b) // disjoint per worker
				if after != nil {
					after(r, i)
				}
			}
		}()
	}
	wg.Wait()
	return want
}

// TestOpenFileLockOtherProcess: a second process is refused, and told the
// holder's pid.
func TestOpenFileLockOtherProcess(t *testing.T) {
	if p := os.Getenv("RAID_LOCK_HELPER"); p != "" {
		f, err := OpenFile(p, false)
		if err != nil {
			os.Stdout.WriteString("ERR " + err.Error())
			os.Exit(0)
		}
		f.Close()
		os.Stdout.WriteString("OPENED")
		os.Exit(0)
	}
	p := filepath.Join(t.TempDir(), "m")
	f, err := raidtest.CreateFile(p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	held, err := OpenFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenFileLockOtherProcess$")
	cmd.Env = append(os.Environ(), "RAID_LOCK_HELPER="+p)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	if !strings.HasPrefix(string(out), "ERR") || !strings.Contains(string(out), "process "+itoa(os.Getpid())) {
		t.Errorf("second process got %q, want an error naming process %d", out, os.Getpid())
	}
	held.Close()
	cmd = exec.Command(os.Args[0], "-test.run=^TestOpenFileLockOtherProcess$")
	cmd.Env = append(os.Environ(), "RAID_LOCK_HELPER="+p)
	if out, _ = cmd.Output(); !strings.HasPrefix(string(out), "OPENED") {
		t.Errorf("after the holder closed, the second process got %q", out)
	}
}

func itoa(i int) string {
	var b []byte
	for i > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}
