package appliance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postvault/postvault/firmware/diskmgr"
	"github.com/postvault/postvault/hal"
)

func getReport(t *testing.T, addr string) StatusReport {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r StatusReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Disks == nil {
		t.Fatal("status has no disks part in development mode")
	}
	return r
}

func getPage(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestDevBays: in development mode the simulated board's bays show the
// five member files; locate works from the API and the page; failing a
// member lights its bay and the page says degraded.
func TestDevBays(t *testing.T) {
	dir := t.TempDir()
	ap, out := startDev(t, dir)
	defer ap.Close()
	addr := ap.Addrs().HTTP
	ap.disks.Refresh()
	m := passwordRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no admin password in %q", out)
	}

	r := getReport(t, addr)
	if r.Disks.Board != hal.ProfileSimulated || len(r.Disks.Bays) != 6 {
		t.Fatalf("board %q with %d bays, want simulated with 6", r.Disks.Board, len(r.Disks.Bays))
	}
	for i, b := range r.Disks.Bays[:5] {
		want := filepath.Join(dir, "disk"+string(rune('0'+i))+".img")
		if b.Device != want || b.State != "in_sync" || b.Pattern != hal.Normal {
			t.Errorf("bay %d = %s %s %s, want %s in_sync normal", b.Number, b.Device, b.State, b.Pattern, want)
		}
	}
	if b := r.Disks.Bays[5]; b.State != "" || b.Pattern != hal.Normal {
		t.Errorf("bay 6 = %+v, want empty and normal", b)
	}
	if r.Disks.StatusLED != "ok" {
		t.Errorf("status LED = %s, want ok", r.Disks.StatusLED)
	}

	t.Run("locate", func(t *testing.T) { testLocateAPI(t, ap, m[1]) })

	failed := filepath.Join(dir, "disk1.img")
	if err := ap.disks.Fail(failed); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, addr, "degraded")
	page := getPage(t, addr)
	for _, want := range []string{`<td class="p-fail">fail</td>`, `id="status-led">attention<`, "member failed by request", "array degraded"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	r = getReport(t, addr)
	b := r.Disks.Bays[1]
	if b.Pattern != hal.Fail || b.Fault == nil || !bool(b.Fault.Level) {
		t.Errorf("bay 2 after failing its member = %+v, want fail with the fault LED on", b)
	}
	if p := r.Disks.Bays[0].Pattern; p != hal.Degraded {
		t.Errorf("bay 1 = %s, want degraded", p)
	}
	if !hasEvent(r.Disks.Events, 2, "in_sync -> faulty") {
		t.Errorf("no event for bay 2's failure in %+v", r.Disks.Events)
	}
}

func hasEvent(es []diskmgr.Event, bay int, what string) bool {
	for _, e := range es {
		if e.Bay == bay && strings.Contains(e.What, what) {
			return true
		}
	}
	return false
}

// testLocateAPI drives POST /api/bay/{n}/locate as curl and the page do,
// as the admin (password pw).
func testLocateAPI(t *testing.T, ap *Appliance, pw string) {
	addr := ap.Addrs().HTTP
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path, ctype, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		req.SetBasicAuth("admin@example.org", pw)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name, path, ctype, body string
		code                    int
		locate3                 bool
	}{
		{"curl -d on", "/api/bay/3/locate", form, "on", 200, true},
		{"text off", "/api/bay/3/locate", "text/plain", "off\n", 200, false},
		{"page button", "/api/bay/3/locate", form, url.Values{"state": {"on"}, "back": {"1"}}.Encode(), 303, true},
		{"no such bay", "/api/bay/9/locate", form, "on", 404, true},
		{"bad bay", "/api/bay/x/locate", form, "on", 400, true},
		{"bad value", "/api/bay/3/locate", "text/plain", "blink", 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp := post(tt.path, tt.ctype, tt.body); resp.StatusCode != tt.code {
				t.Errorf("POST %s %q = %d, want %d", tt.path, tt.body, resp.StatusCode, tt.code)
			}
			r := getReport(t, addr)
			if got := r.Disks.Bays[2].Locate; got != tt.locate3 {
				t.Errorf("bay 3 locate = %v, want %v", got, tt.locate3)
			}
			if got := ap.disks.Board().State().Bays[2].Pattern; (got == hal.Locate) != tt.locate3 {
				t.Errorf("board bay 3 shows %s, locate want %v", got, tt.locate3)
			}
		})
	}
	page := getPage(t, addr)
	if !strings.Contains(page, `action="/api/bay/3/locate"`) || !strings.Contains(page, "stop locating") {
		t.Errorf("page has no locate buttons:\n%s", page)
	}
}
