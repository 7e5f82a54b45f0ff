package raid

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postvault/postvault/drivers/raid/raidtest"
)

// examineField returns the value of "Key : value" in mdadm --examine output.
func examineField(out, key string) string {
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + ` : (.*)$`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// TestMdadmExaminesOurMembers runs Debian's mdadm --examine on members
// postvault wrote and checks that md reads what we meant.
func TestMdadmExaminesOurMembers(t *testing.T) {
	mdadm, err := exec.LookPath("mdadm")
	if err != nil {
		t.Skip("mdadm is not installed (make deps installs it): skipping the check against Debian's mdadm --examine")
	}
	dir := t.TempDir()
	var paths []string
	var ms []Member
	for i := range 6 {
		p := filepath.Join(dir, fmt.Sprintf("m%d.img", i))
		f, err := raidtest.CreateFile(p, 12<<20)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		m, err := OpenFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		ms = append(ms, m)
	}
	a, err := Create(ms[:5], &CreateOptions{Level: 6, Chunk: 128 << 10, Spares: ms[5:], Name: "pvtest:7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteAt(make([]byte, 300000), 5000); err != nil {
		t.Fatal(err)
	}
	if err := a.Fail(ms[3]); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		out := mdadmExamine(t, mdadm, p)
		o := string(out)
		role := fmt.Sprintf("Active device %d", i)
		events := fmt.Sprint(st.Events + 1) // Close marks the array clean
		arrayState := "AAA.A"
		if i == 3 {
			events = fmt.Sprint(st.Events - 1) // not written since it failed
			arrayState = "AAAAA"
		}
		if i == 5 {
			role = "spare"
		}
		want := map[string]string{
			"Raid Level":   "raid6",
			"Raid Devices": "5",
			"Chunk Size":   "128K",
			"Array UUID":   st.UUID,
			"Events":       events,
			"Device Role":  role,
			"Name":         "pvtest:7",
			"Layout":       "left-symmetric",
			"Version":      "1.2",
		}
		for k, v := range want {
			if got := examineField(o, k); got != v {
				t.Errorf("%s: mdadm says %s = %q, want %q", filepath.Base(p), k, got, v)
			}
		}
		if got := examineField(o, "State"); i != 3 && got != "clean" {
			t.Errorf("%s: mdadm says State = %q, want clean", filepath.Base(p), got)
		}
		if got := examineField(o, "Checksum"); !strings.HasSuffix(got, "correct") || strings.Contains(got, "expected") {
			t.Errorf("%s: mdadm says Checksum = %q", filepath.Base(p), got)
		}
		if got := examineField(o, "Array State"); !strings.HasPrefix(got, arrayState+" ") {
			t.Errorf("%s: mdadm says Array State = %q, want %s", filepath.Base(p), got, arrayState)
		}
	}
}

// mdadmExamine returns what `mdadm --examine path` prints, failing the test
// when mdadm fails.
func mdadmExamine(t *testing.T, mdadm, path string) []byte {
	t.Helper()
	out, err := exec.Command(mdadm, "--examine", path).CombinedOutput()
	if err != nil {
		t.Fatalf("mdadm --examine %s: %v\n%s", path, err, out)
	}
	return out
}
