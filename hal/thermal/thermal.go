// Package thermal reads temperatures that Linux exposes in sysfs as
// millidegrees Celsius in a text file: thermal zones
// (/sys/class/thermal/thermal_zoneN/temp) and hwmon inputs
// (/sys/class/hwmon/hwmonN/tempM_input), as periph.io physic.SenseEnv sensors.
package thermal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"periph.io/x/conn/v3/physic"
)

// Sensor is one sysfs temperature file.
type Sensor struct {
	name, path string
}

var _ physic.SenseEnv = (*Sensor)(nil)

// Open returns the sensor whose file is rel under the sysfs root, for
// example "class/thermal/thermal_zone0/temp". It fails if the file cannot
// be read now.
func Open(root, name, rel string) (*Sensor, error) {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("thermal: %s: file %q must be relative to the sysfs root", name, rel)
	}
	s := &Sensor{name: name, path: filepath.Join(root, clean)}
	var env physic.Env
	if err := s.Sense(&env); err != nil {
		return nil, err
	}
	return s, nil
}

// String implements conn.Resource.
func (s *Sensor) String() string { return s.name }

// Halt implements conn.Resource; there is nothing to stop.
func (s *Sensor) Halt() error { return nil }

// Sense implements physic.SenseEnv; only the temperature is set.
func (s *Sensor) Sense(env *physic.Env) error {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("thermal: %s: %w", s.name, err)
	}
	mc, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("thermal: %s: %s: not millidegrees: %w", s.name, s.path, err)
	}
	env.Temperature = physic.ZeroCelsius + physic.Temperature(mc)*physic.MilliCelsius
	return nil
}

// SenseContinuous implements physic.SenseEnv; it is not supported: poll Sense.
func (s *Sensor) SenseContinuous(time.Duration) (<-chan physic.Env, error) {
	return nil, errors.New("thermal: continuous sensing not supported")
}

// Precision implements physic.SenseEnv: millidegrees.
func (s *Sensor) Precision(env *physic.Env) { env.Temperature = physic.MilliCelsius }
