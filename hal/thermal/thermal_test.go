package thermal_test

import (
	"os"
	"path/filepath"
	"testing"

	"periph.io/x/conn/v3/physic"

	"github.com/postvault/postvault/hal/haltest"
	"github.com/postvault/postvault/hal/thermal"
)

func TestSensor(t *testing.T) {
	root := haltest.Sysfs(t, "../testdata/ahci-em.tree")
	s, err := thermal.Open(root, "cpu", "class/thermal/thermal_zone0/temp")
	if err != nil {
		t.Fatal(err)
	}
	var env physic.Env
	if err := s.Sense(&env); err != nil || env.Temperature != physic.ZeroCelsius+42500*physic.MilliCelsius {
		t.Errorf("Sense = %v, %v, want 42.5°C", env.Temperature, err)
	}
	os.WriteFile(filepath.Join(root, "devices/virtual/thermal/thermal_zone0/temp"), []byte("hot\n"), 0o644)
	if err := s.Sense(&env); err == nil {
		t.Error("Sense of a non-number succeeded")
	}
	for _, rel := range []string{"../etc/passwd", "/etc/passwd", "class/thermal/nosuch/temp"} {
		if _, err := thermal.Open(root, "x", rel); err == nil {
			t.Errorf("Open(%q) succeeded", rel)
		}
	}
}
