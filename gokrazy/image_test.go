package gokrazy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// inputs writes a fake init, program and kernel (random bytes, so that
// squashfs cannot compress them away) and returns options using them.
func inputs(t *testing.T) *Options {
	t.Helper()
	if err := MissingTools(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	write := func(name string, n int) string {
		b := make([]byte, n)
		rand.Read(b)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &Options{
		Init:     write("init", 300<<10),
		Programs: map[string]string{"postvault": write("postvault", 200<<10)},
		Kernel:   write("vmlinuz", 1<<20),
		Files:    map[string][]byte{"/etc/postvault/hello": []byte("hello\n")},
		BootSize: 32 << 20,
		RootSize: 8 << 20,
		TempDir:  dir,
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestBuildIsReproducible(t *testing.T) {
	o := inputs(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	if _, err := Build(context.Background(), a, o); err != nil {
		t.Fatal(err)
	}
	// Later, with the inputs touched: timestamps must not leak in.
	time.Sleep(2100 * time.Millisecond)
	now := time.Now()
	os.Chtimes(o.Init, now, now)
	os.Chtimes(o.Kernel, now, now)
	if _, err := Build(context.Background(), b, o); err != nil {
		t.Fatal(err)
	}
	if sum(t, a) != sum(t, b) {
		t.Errorf("two builds of the same inputs differ")
	}
	o2 := *o
	o2.Seed = "another box"
	c := filepath.Join(dir, "c.img")
	if _, err := Build(context.Background(), c, &o2); err != nil {
		t.Fatal(err)
	}
	if sum(t, a) == sum(t, c) {
		t.Errorf("builds with different seeds are the same")
	}
}

func TestBuildLayout(t *testing.T) {
	o := inputs(t)
	o.Cmdline = "postvault.test=1"
	out := filepath.Join(t.TempDir(), "p.img")
	img, err := Build(context.Background(), out, o)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := ReadPartitions(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name  string
		start int64
		size  int64
	}{
		{"boot", FirstLBA * SectorSize, 32 << 20},
		{"root-a", FirstLBA*SectorSize + 32<<20, 8 << 20},
		{"root-b", FirstLBA*SectorSize + 40<<20, 8 << 20},
	}
	if len(parts) != len(want) {
		t.Fatalf("ReadPartitions = %d partitions, want %d", len(parts), len(want))
	}
	for i, w := range want {
		p := parts[i]
		if p.Name != w.name || p.Start != w.start || p.Size != w.size {
			t.Errorf("partition %d = %s at %d size %d, want %s at %d size %d", i+1, p.Name, p.Start, p.Size, w.name, w.start, w.size)
		}
		if g := GUID("postvault", "partition/"+strconv.Itoa(i+1)); !strings.EqualFold(p.GUID, g) {
			t.Errorf("partition %d GUID = %s, want %s", i+1, p.GUID, g)
		}
	}
	wantCmd := "root=PARTUUID=" + strings.ToLower(parts[0].GUID) + "/PARTNROFF=1 rootwait"
	if !strings.HasPrefix(img.Cmdline, wantCmd) || !strings.HasSuffix(img.Cmdline, " postvault.test=1") ||
		!strings.Contains(img.Cmdline, "console=ttyS0,115200") {
		t.Errorf("Cmdline = %q, want prefix %q, the serial console and the extra argument", img.Cmdline, wantCmd)
	}
	if c, err := ImageCmdline(out); err != nil || c != img.Cmdline {
		t.Errorf("ImageCmdline = %q, %v; want %q", c, err, img.Cmdline)
	}
	files := []struct{ name, host string }{
		{"vmlinuz", o.Kernel}, {"EFI/BOOT/BOOTX64.EFI", systemdBootDebian},
	}
	for _, f := range files {
		got, err := ReadBootFile(out, f.name)
		if err != nil {
			t.Fatal(err)
		}
		if wantB, _ := os.ReadFile(f.host); !bytes.Equal(got, wantB) {
			t.Errorf("boot file %s (%d bytes) differs from %s", f.name, len(got), f.host)
		}
	}
	entry, err := ReadBootFile(out, "loader/entries/postvault.conf")
	if err != nil || !strings.Contains(string(entry), "options "+img.Cmdline+"\n") || !strings.Contains(string(entry), "linux /vmlinuz\n") {
		t.Errorf("loader entry = %q, %v; want linux /vmlinuz and the command line", entry, err)
	}
	checkRoots(t, out, parts, o)
}

// checkRoots extracts root A with unsquashfs and compares it with the
// inputs; root B must hold the same bytes.
func checkRoots(t *testing.T, image string, parts []Partition, o *Options) {
	raw, err := os.ReadFile(image)
	if err != nil {
		t.Fatal(err)
	}
	a := raw[parts[1].Start : parts[1].Start+parts[1].Size]
	b := raw[parts[2].Start : parts[2].Start+parts[2].Size]
	if string(a[:4]) != "hsqs" {
		t.Fatalf("root A starts with %q, want the squashfs magic hsqs", a[:4])
	}
	if !bytes.Equal(a, b) {
		t.Errorf("root B differs from root A")
	}
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		t.Skip("unsquashfs missing")
	}
	sq := filepath.Join(t.TempDir(), "root.sqfs")
	os.WriteFile(sq, a, 0o644)
	dst := filepath.Join(t.TempDir(), "root")
	if b, err := exec.Command("unsquashfs", "-d", dst, "-no-xattrs", sq).CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, b)
	}
	same := []struct{ path, host string }{{"gokrazy/init", o.Init}, {"user/postvault", o.Programs["postvault"]}}
	for _, s := range same {
		got, _ := os.ReadFile(filepath.Join(dst, s.path))
		if want, _ := os.ReadFile(s.host); !bytes.Equal(got, want) {
			t.Errorf("/%s in root A differs from %s", s.path, s.host)
		}
		if fi, err := os.Stat(filepath.Join(dst, s.path)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("/%s: %v, want mode 0755", s.path, fi)
		}
	}
	texts := map[string]string{"etc/hostname": "postvault", "etc/postvault/hello": "hello\n"}
	for p, want := range texts {
		if got, _ := os.ReadFile(filepath.Join(dst, p)); string(got) != want {
			t.Errorf("/%s = %q, want %q", p, got, want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dst, "etc/resolv.conf")); err != nil || l != "/tmp/resolv.conf" {
		t.Errorf("/etc/resolv.conf -> %q, %v; want /tmp/resolv.conf", l, err)
	}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run", "perm"} {
		if fi, err := os.Stat(filepath.Join(dst, d)); err != nil || !fi.IsDir() {
			t.Errorf("mount point /%s missing: %v", d, err)
		}
	}
}

func TestBuildRejectsBadInput(t *testing.T) {
	o := inputs(t)
	out := filepath.Join(t.TempDir(), "bad.img")
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no init", func(o *Options) { o.Init = "" }, "Init is required"},
		{"missing init", func(o *Options) { o.Init = "/nonexistent/init" }, "no such file"},
		{"program name with slash", func(o *Options) { o.Programs = map[string]string{"a/b": o.Init} }, "bad program name"},
		{"boot not whole MiB", func(o *Options) { o.BootSize = 20<<20 + 1 }, "whole MiB"},
		{"root too small", func(o *Options) { o.RootSize = 1 << 20; o.Init = o.Kernel }, "partition only"},
		{"file outside root", func(o *Options) { o.Files = map[string][]byte{"../../x": nil} }, "leaves the root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oo := *o
			tt.change(&oo)
			_, err := Build(context.Background(), out, &oo)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "gokrazy: ") {
				t.Errorf("Build = %v, want an error containing %q", err, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed build left %s behind", out)
			}
		})
	}
}

func TestGUIDIsStableVersion4(t *testing.T) {
	g := GUID("postvault", "partition/1")
	if g != GUID("postvault", "partition/1") || g == GUID("postvault", "partition/2") {
		t.Errorf("GUID is not a function of seed and name")
	}
	if len(g) != 36 || g[14] != '4' || !strings.ContainsAny(g[19:20], "89AB") {
		t.Errorf("GUID = %s, want an RFC 4122 version 4 GUID", g)
	}
}

func TestKernelPath(t *testing.T) {
	k, err := KernelPath(context.Background())
	if err != nil {
		t.Skipf("kernel module not in the cache: %v", err)
	}
	fi, err := os.Stat(k)
	if err != nil || fi.Size() < 1<<20 {
		t.Errorf("KernelPath = %s: %v, want a kernel of some MiB", k, err)
	}
}
