package hal_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/postvault/postvault/hal"
)

func TestParseBoardFile(t *testing.T) {
	const bay1 = `{"bay":1,"port":"0000:00:1f.2/ata1"}`
	tests := []struct {
		name, json, err string // err "" means valid
	}{
		{"minimal", `{"version":1,"name":"x","bays":[` + bay1 + `]}`, ""},
		{"every backend", `{"version":1,"name":"x","status":{"sim":"s"},
			"sensors":[{"name":"cpu","file":"class/thermal/thermal_zone0/temp"}],
			"bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"ledclass":"input*::capslock"},
			"locate":{"gpio":{"chip":"gpiochip0","line":"GPIO5","active_low":true}},
			"activity":{"sim":"a"},"presence":{"gpio":{"line":"GPIO17","pull":"up"}},"temperature":{"sim":30}},
			{"bay":2,"port":"0000:00:1f.2/ata2","fault":{"em":{"led":"fault","host":"host1"}},"locate":{"em":{"led":"locate","slot":2}}}]}`, ""},
		{"wrong version", `{"version":2,"name":"x","bays":[` + bay1 + `]}`, "version 2"},
		{"unknown field", `{"version":1,"name":"x","colour":"red","bays":[` + bay1 + `]}`, "unknown field"},
		{"trailing data", `{"version":1,"name":"x","bays":[` + bay1 + `]} {}`, "data after"},
		{"bad name", `{"version":1,"name":"X Y","bays":[` + bay1 + `]}`, "name"},
		{"no bays", `{"version":1,"name":"x","bays":[]}`, "0 bays"},
		{"bay 0", `{"version":1,"name":"x","bays":[{"bay":0,"port":"0000:00:1f.2/ata1"}]}`, "bay number 0"},
		{"gap", `{"version":1,"name":"x","bays":[` + bay1 + `,{"bay":3,"port":"0000:00:1f.2/ata3"}]}`, "bay number 3"},
		{"repeated bay", `{"version":1,"name":"x","bays":[` + bay1 + `,` + bay1 + `]}`, "bay number 1"},
		{"repeated port", `{"version":1,"name":"x","bays":[` + bay1 + `,{"bay":2,"port":"0000:00:1f.2/ata1"}]}`, "used twice"},
		{"upper-case pci", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1F.2/ata1"}]}`, "lower-case"},
		{"no ata", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2"}]}`, "PCI-ADDRESS/ataN"},
		{"ata0", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata0"}]}`, "ataN"},
		{"two backends", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"sim":"a","ledclass":"b"}}]}`, "exactly one"},
		{"no backend", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{}}]}`, "exactly one"},
		{"same LED twice", `{"version":1,"name":"x","status":{"sim":"a"},"bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"sim":"a"}}]}`, "used twice"},
		{"em bit mismatch", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"em":{"led":"locate"}}}]}`, "enclosure bit"},
		{"em activity", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","activity":{"em":{"led":"fault"}}}]}`, "activity"},
		{"em slot", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"em":{"led":"fault","slot":16}}}]}`, "slot 16"},
		{"em host", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"em":{"led":"fault","host":"../x"}}}]}`, "hostN"},
		{"pull on output", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"gpio":{"line":"GPIO5","pull":"up"}}}]}`, "pull"},
		{"sysfs escape", `{"version":1,"name":"x","sensors":[{"name":"t","file":"../../etc/passwd"}],"bays":[` + bay1 + `]}`, "relative"},
		{"led path", `{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"ledclass":"../x"}}]}`, "not a name"},
		{"not json", `bays: 1`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := hal.ParseBoardFile([]byte(tt.json))
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ParseBoardFile = %v, want success", err)
				}
				roundTrip(t, f)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ParseBoardFile = %v, want error containing %q", err, tt.err)
			}
		})
	}
}

// roundTrip checks that a valid file marshals to a file that parses to the
// same board.
func roundTrip(t *testing.T, f *hal.BoardFile) {
	t.Helper()
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := hal.ParseBoardFile(b)
	if err != nil {
		t.Fatalf("re-parsing the marshalled file: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(f, g) {
		t.Fatalf("round trip changed the file:\n%+v\n%+v", f, g)
	}
}

// TestBuiltinProfiles parses every built-in profile.
func TestBuiltinProfiles(t *testing.T) {
	for _, p := range hal.Profiles() {
		if p == hal.ProfileGenericAHCI {
			continue // made from sysfs, see TestEnclosureMessages
		}
		f, err := hal.Describe(p, nil)
		if err != nil {
			t.Fatalf("Describe(%s): %v", p, err)
		}
		if f.Name != p {
			t.Errorf("profile %s calls itself %s", p, f.Name)
		}
		roundTrip(t, f)
	}
}

func FuzzParseBoardFile(f *testing.F) {
	for _, p := range []string{"qemu", "rpi-sata-hat", "simulated"} {
		b, err := os.ReadFile(filepath.Join("profiles", p+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","fault":{"em":{"led":"fault"}},"locate":{"em":{"led":"locate","slot":1}}}]}`))
	f.Add([]byte(`{"version":1,"name":"x","bays":[{"bay":1,"port":"0000:00:1f.2/ata1","temperature":{"sim":-300}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bf, err := hal.ParseBoardFile(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "hal: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		roundTrip(t, bf)
	})
}
