package raidtest_test

import (
	"bytes"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// Every member here is a raid.Member.
var (
	_ raid.Member = (*raidtest.Mem)(nil)
	_ raid.Member = (*raidtest.File)(nil)
	_ raid.Member = (*raidtest.Faulty)(nil)
	_ raid.Member = raidtest.NewPowerCut(1, 1, nil).Member(0)
)

func readAll(t *testing.T, m raidtest.Member) []byte {
	t.Helper()
	b := make([]byte, m.Size())
	if _, err := m.ReadAt(b, 0); err != nil {
		t.Fatalf("ReadAt: %v", err)
	}
	return b
}

func TestMembersReadWrite(t *testing.T) {
	path := raidtest.TempFiles(t, 1, 4096)[0]
	f, err := raidtest.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, m := range map[string]raidtest.Member{
		"mem":      raidtest.NewMem(4096),
		"file":     f,
		"faulty":   raidtest.NewFaulty(raidtest.NewMem(4096)),
		"powercut": raidtest.NewPowerCut(2, 4096, nil).Member(1),
	} {
		t.Run(name, func(t *testing.T) {
			if n, err := m.WriteAt([]byte("hello"), 100); n != 5 || err != nil {
				t.Fatalf("WriteAt = %d, %v", n, err)
			}
			got := make([]byte, 5)
			if n, err := m.ReadAt(got, 100); n != 5 || err != nil || string(got) != "hello" {
				t.Fatalf("ReadAt = %d, %v, %q", n, err, got)
			}
			if n, err := m.ReadAt(make([]byte, 10), 4090); n != 6 || err != io.EOF {
				t.Errorf("ReadAt across the end = %d, %v, want 6, EOF", n, err)
			}
			if _, err := m.WriteAt(make([]byte, 10), 4090); err == nil {
				t.Errorf("WriteAt across the end succeeded")
			}
			if _, err := m.WriteAt([]byte{1}, -1); err == nil {
				t.Errorf("WriteAt at -1 succeeded")
			}
			if err := m.Flush(); err != nil {
				t.Errorf("Flush = %v", err)
			}
			if m.Size() != 4096 {
				t.Errorf("Size = %d, want 4096", m.Size())
			}
		})
	}
}

func TestFaultyRanges(t *testing.T) {
	f := raidtest.NewFaulty(raidtest.NewMem(8192))
	f.FailRange(raidtest.Read, 1000, 24)
	f.FailRange(raidtest.Write, 5000, 1)
	tests := []struct {
		name    string
		op      raidtest.Op
		off     int64
		n       int
		wantErr bool
	}{
		{"read before", raidtest.Read, 0, 1000, false},
		{"read overlapping", raidtest.Read, 990, 20, true},
		{"read after", raidtest.Read, 1024, 100, false},
		{"write into read range", raidtest.Write, 1000, 24, false},
		{"write overlapping", raidtest.Write, 4096, 4096, true},
		{"read write range", raidtest.Read, 4096, 4096, false},
	}
	for _, tc := range tests {
		var err error
		buf := make([]byte, tc.n)
		if tc.op == raidtest.Read {
			_, err = f.ReadAt(buf, tc.off)
		} else {
			_, err = f.WriteAt(bytes.Repeat([]byte{7}, tc.n), tc.off)
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v, want error %v", tc.name, err, tc.wantErr)
		}
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Errorf("%s: err = %v, want one wrapping EIO", tc.name, err)
		}
	}
	if got := readAll(t, f.Inner())[4096]; got != 0 {
		t.Errorf("a failed write stored byte %d", got)
	}
	f.ClearFaults()
	if _, err := f.ReadAt(make([]byte, 24), 1000); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
	if r, w, _ := f.Counts(); r != 5 || w != 2 {
		t.Errorf("Counts = %d reads, %d writes, want 5, 2", r, w)
	}
}

func TestFaultyVanish(t *testing.T) {
	f := raidtest.NewFaulty(raidtest.NewMem(4096))
	f.VanishAfterWrites(2)
	for i := range 3 {
		_, err := f.WriteAt([]byte{byte(i + 1)}, int64(i))
		if (err != nil) != (i == 2) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	for name, err := range map[string]error{
		"read":  func() error { _, err := f.ReadAt(make([]byte, 1), 0); return err }(),
		"flush": f.Flush(),
	} {
		if !errors.Is(err, raidtest.ErrGone) || !errors.Is(err, syscall.ENODEV) {
			t.Errorf("%s on a gone member = %v, want ErrGone/ENODEV", name, err)
		}
	}
	if got := readAll(t, f.Inner())[:3]; !bytes.Equal(got, []byte{1, 2, 0}) {
		t.Errorf("stored %v, want [1 2 0]", got)
	}
}

func TestFaultyFlipsAndTears(t *testing.T) {
	f := raidtest.NewFaulty(raidtest.NewMem(4096))
	f.FlipOnRead(10, 0x81)
	got := make([]byte, 16)
	f.ReadAt(got, 5)
	if got[5] != 0x81 {
		t.Errorf("flipped byte reads %#x, want 0x81", got[5])
	}
	if readAll(t, f.Inner())[10] != 0 {
		t.Error("FlipOnRead changed the stored byte")
	}
	f.TearNextWrite(3)
	if n, err := f.WriteAt([]byte("abcdef"), 0); n != 3 || !errors.Is(err, raidtest.ErrTorn) {
		t.Errorf("torn WriteAt = %d, %v", n, err)
	}
	if got := readAll(t, f.Inner())[:6]; string(got) != "abc\x00\x00\x00" {
		t.Errorf("after a torn write: %q", got)
	}
	if n, err := f.WriteAt([]byte("abcdef"), 0); n != 6 || err != nil {
		t.Errorf("write after the torn one = %d, %v", n, err)
	}
	if err := raidtest.Corrupt(f.Inner(), 1, 0xff); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f.Inner())[1]; got != 'b'^0xff {
		t.Errorf("Corrupt stored %#x", got)
	}
}

func TestFaultyDelay(t *testing.T) {
	f := raidtest.NewFaulty(raidtest.NewMem(4096))
	f.SetDelay(20 * time.Millisecond)
	start := time.Now()
	f.ReadAt(make([]byte, 1), 0)
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("delayed read took %v, want >= 20ms", d)
	}
}

func TestPowerCut(t *testing.T) {
	pc := raidtest.NewPowerCut(2, 4096, nil)
	a, b := pc.Member(0), pc.Member(1)
	a.WriteAt(bytes.Repeat([]byte{1}, 100), 0) // write 1, flushed
	a.Flush()
	a.WriteAt(bytes.Repeat([]byte{2}, 100), 200) // write 2, lost
	b.WriteAt(bytes.Repeat([]byte{3}, 100), 0)   // write 3, flushed
	b.Flush()
	got := make([]byte, 100)
	a.ReadAt(got, 200)
	if got[0] != 2 {
		t.Fatal("an unflushed write is not visible before the cut")
	}
	pc.CutAt(4)
	if _, err := b.WriteAt(bytes.Repeat([]byte{4}, 2048), 1024); !errors.Is(err, raidtest.ErrPowerCut) {
		t.Fatalf("write 4 = %v, want ErrPowerCut", err)
	}
	if _, err := a.ReadAt(got, 0); !errors.Is(err, raidtest.ErrPowerCut) {
		t.Errorf("read after the cut = %v", err)
	}
	m := pc.Reopen()
	img0, img1 := readAll(t, m[0]), readAll(t, m[1])
	for _, c := range []struct {
		name string
		got  byte
		want byte
	}{
		{"flushed write on member 0", img0[50], 1},
		{"unflushed write on member 0", img0[250], 0},
		{"flushed write on member 1", img1[50], 3},
		{"torn write's first half", img1[1024+1023], 4},
		{"torn write's second half", img1[1024+1024], 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: byte %d, want %d", c.name, c.got, c.want)
		}
	}
	if pc.Writes() != 4 {
		t.Errorf("Writes = %d, want 4", pc.Writes())
	}
}

func TestPowerCutKeepUnflushed(t *testing.T) {
	pc := raidtest.NewPowerCut(1, 4096, &raidtest.PowerCutOptions{
		KeepUnflushed: func(member int, write int64) bool { return write%2 == 0 },
		Tear:          func(n int) int { return 1 },
	})
	m := pc.Member(0)
	for i := range 4 {
		m.WriteAt([]byte{byte(i + 1), byte(i + 1)}, 0)
	}
	m.WriteAt([]byte{9, 9}, 2)
	m.WriteAt([]byte{7, 7}, 2)
	pc.Cut()
	if !pc.IsCut() {
		t.Fatal("IsCut = false")
	}
	// writes 2 and 4 kept, in order: bytes 0..1 = 4; write 6 ({7,7}) kept
	if got := pc.Images()[0][:4]; !bytes.Equal(got, []byte{4, 4, 7, 7}) {
		t.Errorf("image = %v, want [4 4 7 7]", got)
	}
}
