package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runRaid runs `postvault raid args...` in-process.
func runRaid(t *testing.T, stdin []byte, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(stdio{bytes.NewReader(stdin), &o, &e}, append([]string{"raid"}, args...))
	return code, o.String(), e.String()
}

// blankFiles makes n zeroed files of size bytes.
func blankFiles(t *testing.T, n int, size int64) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for i := range n {
		p := filepath.Join(dir, "d"+string(rune('0'+i))+".img")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestRaidCLIRoundTrip(t *testing.T) {
	d := blankFiles(t, 5, 16<<20)
	code, out, errOut := runRaid(t, nil, "create", "--level", "5", "--chunk", "64K", "--spare", d[4], d[0], d[1], d[2], d[3])
	if code != 0 || !strings.Contains(out, "RAID-5") {
		t.Fatalf("create: exit %d, %q %q", code, out, errOut)
	}
	data := make([]byte, 1<<20+12345)
	rand.Read(data)
	// Members in another order: assembly goes by identity.
	if code, _, e := runRaid(t, data, "write", "--offset", "777", d[3], d[0], d[4], d[2], d[1]); code != 0 {
		t.Fatalf("write: exit %d: %s", code, e)
	}
	code, out, errOut = runRaid(t, nil, "read", "--offset", "777", "--length", "1060921", d[0], d[1], d[2], d[3], d[4])
	if code != 0 || out != string(data) {
		t.Fatalf("read: exit %d (%s), %d bytes, equal %v", code, errOut, len(out), out == string(data))
	}
	if code, out, e := runRaid(t, nil, "fail", "--member", d[1], d[0], d[1], d[2], d[3], d[4]); code != 0 || !strings.Contains(out, "faulty") {
		t.Fatalf("fail: exit %d: %q %s", code, out, e)
	}
	code, out, _ = runRaid(t, nil, "detail", d[0], d[1], d[2], d[3], d[4])
	for _, want := range []string{"raid5", "degraded", "Chunk Size : 64K", "faulty", "spare"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("detail: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
	// Degraded read without the failed member.
	code, out, _ = runRaid(t, nil, "read", "--offset", "777", "--length", "1060921", d[0], d[2], d[3])
	if code != 0 || out != string(data) {
		t.Fatalf("degraded read: exit %d, equal %v", code, out == string(data))
	}
	code, out, _ = runRaid(t, nil, "examine", d[0])
	for _, want := range []string{"Magic : a92b4efc", "Raid Level : raid5", "Raid Devices : 4", "Chunk Size : 64K", "Device Role : Active device 0", "Array State : A.AA"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("examine: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
}

func TestRaidCLIRefusals(t *testing.T) {
	d := blankFiles(t, 4, 6<<20)
	if code, _, e := runRaid(t, nil, "create", "--level", "5", "--chunk", "64K", d[0], d[1], d[2]); code != 0 {
		t.Fatalf("create: %s", e)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"create over an array", []string{"create", "--level", "5", "--chunk", "64K", d[0], d[1], d[3]}, "--force"},
		{"bad level", []string{"create", "--level", "4", d[3], d[1], d[2]}, "level 4"},
		{"bad chunk", []string{"create", "--level", "5", "--chunk", "12Q", d[3], d[1], d[2]}, "not a size"},
		{"examine a blank file", []string{"examine", d[3]}, "not a member"},
		{"foreign member", []string{"detail", d[0], d[1], d[2], d[3]}, "no md superblock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadFile(d[3])
			code, _, e := runRaid(t, nil, tt.args...)
			if code != 1 || !strings.Contains(e, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, e, tt.want)
			}
			if after, _ := os.ReadFile(d[3]); !bytes.Equal(before, after) {
				t.Error("a refused command changed a member")
			}
		})
	}
	if code, _, _ := runRaid(t, nil, "fail", "--member", d[0], d[0], d[1], d[2]); code != 0 {
		t.Fatal("failing one member of a healthy RAID-5 was refused")
	}
	if code, _, e := runRaid(t, nil, "fail", "--member", d[1], d[0], d[1], d[2]); code != 1 || !strings.Contains(e, "refused") {
		t.Errorf("failing a second RAID-5 member: exit %d, %q; want a refusal", code, e)
	}
}

func TestRaidCLIUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"nonsense"}, {"create"}, {"read"}, {"examine", "a", "b"}, {"fail", "x"}} {
		if code, _, _ := runRaid(t, nil, args...); code != 2 {
			t.Errorf("raid %v: exit %d, want 2 (usage)", args, code)
		}
	}
	for _, name := range raidMaintNames {
		if _, ok := raidMaintCommands()[name]; ok {
			continue
		}
		code, _, e := runRaid(t, nil, name, "x")
		if code != 1 || !strings.Contains(e, "not part of this build") {
			t.Errorf("raid %s without raidmaint: exit %d, %q", name, code, e)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"64K", 64 << 10}, {"64k", 64 << 10}, {"512K", 512 << 10}, {"1M", 1 << 20}, {"1MiB", 1 << 20},
		{"65536", 65536}, {"2G", 2 << 30}, {"64KB", 64 << 10},
	}
	for _, tt := range tests {
		if got, err := parseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v, want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "K", "-1", "12Q", "1.5M"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) succeeded", bad)
		}
	}
}
