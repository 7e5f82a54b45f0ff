package appliance

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLocateValue: any body, form or text, gives on, off or an error, and
// on/off only for those words.
func FuzzLocateValue(f *testing.F) {
	for _, s := range []string{"on", "off", "OFF\n", "state=on&back=1", "state=off", "blink", "", "a=b&c=d", "%zz"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, body string, form bool) {
		r := httptest.NewRequest("POST", "/api/bay/1/locate", strings.NewReader(body))
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		on, err := locateValue(r)
		if err != nil {
			return
		}
		if !strings.Contains(strings.ToLower(body), "on") && !strings.Contains(strings.ToLower(body), "off") {
			t.Errorf("locateValue(%q, form %v) = %v without on or off in the body", body, form, on)
		}
		if r.Form == nil {
			t.Error("Form left nil")
		}
	})
}
